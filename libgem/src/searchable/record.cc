// Copyright the gem authors. The tree record's persisted form (docs/SEARCHABLE.md, "Tree
// records"): a msgpack map, read and written through nlohmann::json's msgpack codec.
//
// Version 1 is the record gemd wrote before this part existed (its StoredTree: the wire
// TreeInfo, the tree.register request, the simulation agreement and, for manifest trees, the
// name of the tree record file in <data_dir>/trees/). Version 2 keeps that layout, so either
// reads the other's common fields, adds "record_version" and, for manifest trees, the
// registration outcome ("registration", the tree record of docs/MANIFEST.md as a map) in place
// of the file.
#include <nlohmann/json.hpp>

#include "searchable/internal.h"

namespace gem {
namespace {

using json = nlohmann::json;

// A string field that msgpack may carry as str or bin.
std::string Bytes(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_binary()) return std::string(it->get_binary().begin(), it->get_binary().end());
  return it->get<std::string>();
}

template <class T>
T Get(const json& j, const char* key, T fallback = T()) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

}  // namespace

Result<std::string> EncodeTreeRecord(const TreeRecord& r) {
  json tasks = json::array();
  for (const TaskSource& t : r.source.tasks) {
    tasks.push_back({{"name", t.name}, {"content", t.content}, {"file_name", t.file_name}});
  }
  json j = {{"record_version", kTreeRecordVersion},
            {"info",
             {{"name", r.name},
              {"format", r.format},
              {"file_name", r.file_name},
              {"digest", r.digest},
              {"num_models", r.num_models},
              {"num_queries", r.num_queries},
              {"sim_seed", r.sim_seed},
              {"tasks", r.tasks},
              {"registered_by", r.registered_by},
              {"registered_at", r.registered_at},
              {"base", r.base},
              {"refused", r.refused}}},
            {"source",
             {{"name", r.source.name},
              {"content", r.source.content},
              {"file_name", r.source.file_name},
              {"format", r.source.format},
              {"queries", r.source.queries},
              {"task", r.source.task},
              {"manifest", r.source.manifest},
              {"tasks", tasks}}},
            {"agreement", r.agreement}};
  try {
    if (r.registration) {
      j["registration"] = json::parse(TreeRecordJson(*r.registration));
    } else if (!r.legacy_record_name.empty()) {
      j["record_name"] = r.legacy_record_name;
    }
    const std::vector<uint8_t> bytes = json::to_msgpack(j);
    return std::string(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {
    return Status::InvalidArgument("tree record '" + r.name + "'", e.what());
  }
}

Result<TreeRecord> DecodeTreeRecord(std::string_view bytes) {
  const json j = json::from_msgpack(bytes.begin(), bytes.end(), /*strict=*/true,
                                    /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("tree record", "not a msgpack map");
  }
  std::string what = "tree record";
  try {
    TreeRecord r;
    r.version = Get<uint32_t>(j, "record_version", 1);
    if (r.version == 0 || r.version > kTreeRecordVersion) {
      return Status::NotSupported(what, "version " + std::to_string(r.version) +
                                            " (this build reads 1 to " +
                                            std::to_string(kTreeRecordVersion) + ")");
    }
    const json& info = j.at("info");
    r.name = info.at("name").get<std::string>();
    what = "tree record '" + r.name + "'";
    r.format = Get<std::string>(info, "format");
    r.file_name = Get<std::string>(info, "file_name");
    r.digest = Get<std::string>(info, "digest");
    r.num_models = Get<uint32_t>(info, "num_models");
    r.num_queries = Get<uint32_t>(info, "num_queries");
    r.sim_seed = Get<uint64_t>(info, "sim_seed");
    r.tasks = Get<std::vector<std::string>>(info, "tasks");
    r.registered_by = Get<std::string>(info, "registered_by");
    r.registered_at = Get<int64_t>(info, "registered_at");
    r.base = Get<std::string>(info, "base");
    r.refused = Get<std::vector<std::string>>(info, "refused");
    const json& source = j.at("source");
    r.source.name = Get<std::string>(source, "name");
    r.source.content = Bytes(source, "content");
    r.source.file_name = Get<std::string>(source, "file_name");
    r.source.format = Get<std::string>(source, "format", "auto");
    r.source.queries = Get<uint32_t>(source, "queries");
    r.source.task = Get<std::string>(source, "task");
    r.source.manifest = Get<std::string>(source, "manifest");
    if (auto it = source.find("tasks"); it != source.end() && !it->is_null()) {
      for (const json& t : *it) {
        r.source.tasks.push_back({t.at("name").get<std::string>(), Bytes(t, "content"),
                                  Get<std::string>(t, "file_name")});
      }
    }
    r.agreement = Get<double>(j, "agreement");
    r.legacy_record_name = Get<std::string>(j, "record_name");
    if (auto it = j.find("registration"); it != j.end() && !it->is_null()) {
      auto reg = ParseTreeRecord(it->dump(), what + ", registration");
      if (!reg.ok()) return reg.status();
      r.registration = std::move(*reg);
    }
    if (r.format == "manifest" && !r.registration && r.legacy_record_name.empty()) {
      return Status::Corruption(what, "a manifest tree without its registration");
    }
    return r;
  } catch (const json::exception& e) {
    return Status::Corruption(what, e.what());
  }
}

}  // namespace gem
