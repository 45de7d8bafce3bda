// Copyright the gem authors. The tree registry (trees.h).
#include "trees.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gem/file.h"
#include "manifest_trees.h"

namespace gemd {

using gem::Digest;
using gem::Hasher;
using gem::Result;
using gem::Status;
namespace proto = gem::protocol;

std::string TaskNameOfColumn(std::string_view column) {
  std::string s(column);
  auto strip = [&](std::string_view suffix) {
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
      s.resize(s.size() - suffix.size());
  };
  strip("_pct");
  strip("_total");
  return s;
}

Digest ReplayModelDigest(const Digest& content, uint32_t row) {
  Hasher h;
  return h.Field("gem.replay.model.v1").Field(content.Bytes()).Field(uint64_t{row}).Finish();
}

Digest ReplayTaskDigest(const Digest& content, std::string_view task, std::string_view sim) {
  Hasher h;
  return h.Field("gem.replay.task.v1").Field(content.Bytes()).Field(task).Field(sim).Finish();
}

Digest ReplayQueryDigest(const Digest& content, std::string_view task, std::string_view sim,
                         uint32_t query) {
  Hasher h;
  return h.Field("gem.replay.query.v1")
      .Field(content.Bytes())
      .Field(task)
      .Field(sim)
      .Field(uint64_t{query})
      .Finish();
}

Digest ReplayConfigDigest() {
  gem::EvalConfig c;
  c.engine_version = "gem.replay.v1";
  return gem::ConfigDigest(c);
}

const ServedTask* ServedTree::FindTask(std::string_view name) const {
  for (const auto& t : tasks)
    if (t.name == name) return &t;
  return nullptr;
}

std::string ServedTree::TaskList() const {
  std::string s;
  for (const auto& t : tasks) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

namespace {

// The header fields of the first line that is neither blank nor a '#' comment.
std::vector<std::string> HeaderFields(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      std::string f(
          line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
      f.erase(0, f.find_first_not_of(" \t\""));
      while (!f.empty() && (f.back() == ' ' || f.back() == '"' || f.back() == '\t')) f.pop_back();
      out.push_back(f);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    break;
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument("tree name '" + name + "'", "must be 1 to 64 characters");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Status::InvalidArgument("tree name '" + name + "'",
                                     "may only use letters, digits, '.', '_' and '-'");
    }
  }
  return Status::OK();
}

std::string Simulation(const proto::StoredTree& r) {
  if (r.info.format == "matrix") return "matrix";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "sim:%llu:%u:%.17g",
                static_cast<unsigned long long>(r.info.sim_seed), r.info.num_queries, r.agreement);
  return buf;
}

}  // namespace

Result<std::shared_ptr<const ServedTree>> BuildReplayTree(const proto::StoredTree& record) {
  auto tree = std::make_shared<ServedTree>();
  tree->record = record;
  const std::string& text = record.source.content;
  const std::string label =
      record.source.file_name.empty() ? record.info.name : record.source.file_name;
  tree->content_digest = gem::Sha256(text);
  tree->config_digest = ReplayConfigDigest();
  const std::string sim = Simulation(record);
  if (record.info.format == "accuracy") {
    for (const std::string& col : HeaderFields(text)) {
      if (!EndsWith(col, "_pct")) continue;
      gem::TreeCsvOptions opt;
      opt.metric = col;
      opt.popularity_column = "diameter_pt";
      auto table = gem::ParseTreeCsv(text, opt, label);
      if (!table.ok()) return table.status();
      gem::SimulationOptions so;
      so.num_queries = record.info.num_queries;
      so.seed = record.info.sim_seed;
      so.agreement = record.agreement;
      auto pop = gem::SimulatePopulation(*table, so);
      if (!pop.ok()) return pop.status().WithContext(label + ", column " + col);
      if (tree->model_ids.empty()) {
        tree->model_ids = table->model_ids;
        tree->popularity = table->popularity;
      } else if (tree->model_ids.size() != table->model_ids.size()) {
        return Status::InvalidArgument(label, "columns disagree on the number of models");
      }
      ServedTask task;
      task.column = col;
      task.name = TaskNameOfColumn(col);
      task.population = std::move(*pop);
      tree->tasks.push_back(std::move(task));
    }
    if (tree->tasks.empty()) {
      return Status::InvalidArgument(label, "no accuracy column (a header field ending in _pct)");
    }
  } else if (record.info.format == "matrix") {
    auto pop = gem::ParseMatrixCsv(text, label);
    if (!pop.ok()) return pop.status();
    ServedTask task;
    task.name = record.source.task.empty() ? "matrix" : record.source.task;
    tree->model_ids = pop->model_ids;
    tree->popularity = pop->popularity;
    task.population = std::move(*pop);
    tree->tasks.push_back(std::move(task));
  } else {
    return Status::InvalidArgument("format '" + record.info.format + "'",
                                   "must be accuracy, matrix or auto");
  }
  std::sort(tree->tasks.begin(), tree->tasks.end(),
            [](const ServedTask& a, const ServedTask& b) { return a.name < b.name; });
  const uint32_t models = tree->tasks[0].population.size();
  if (models == 0) return Status::InvalidArgument(label, "no models");
  if (tree->model_ids.size() != models) tree->model_ids.resize(models);
  for (uint32_t i = 0; i < models; ++i) {
    if (tree->model_ids[i].empty()) tree->model_ids[i] = std::to_string(i);
    tree->model_digests.push_back(ReplayModelDigest(tree->content_digest, i));
  }
  for (auto& task : tree->tasks) {
    task.digest = ReplayTaskDigest(tree->content_digest, task.name, sim);
    const uint32_t q = task.population.matrix->num_queries();
    task.query_digests.reserve(q);
    for (uint32_t j = 0; j < q; ++j) {
      task.query_digests.push_back(ReplayQueryDigest(tree->content_digest, task.name, sim, j));
    }
  }
  return std::shared_ptr<const ServedTree>(std::move(tree));
}

TreeRegistry::TreeRegistry(gem::Cache* cache, const Config& config, ResidentBases* bases)
    : cache_(cache), config_(config), bases_(bases) {}

Status TreeRegistry::LoadAll() {
  std::vector<proto::StoredTree> records;
  Status scan = cache_->store()->Scan(
      gem::Family::kTrees, "", [&](std::string_view key, std::string_view value) {
        proto::StoredTree r;
        Status st = proto::DecodeRecord(value, &r);
        if (!st.ok()) {
          spdlog::error("tree record '{}' skipped: {}", key, st.ToString());
        } else {
          records.push_back(std::move(r));
        }
        return true;
      });
  GEM_RETURN_IF_ERROR(scan);
  for (const auto& r : records) {
    auto tree =
        r.info.format == "manifest" ? BuildManifestTree(r, config_, bases_) : BuildReplayTree(r);
    if (!tree.ok()) {
      spdlog::error("tree '{}' not loaded: {}", r.info.name, tree.status().ToString());
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    trees_[r.info.name] = *tree;
  }
  return Status::OK();
}

Result<proto::TreeInfo> TreeRegistry::Register(const proto::TreeRegisterRequest& req,
                                               const std::string& registered_by) {
  GEM_RETURN_IF_ERROR(ValidName(req.name));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (trees_.count(req.name)) {
      return Status::FailedPrecondition("tree '" + req.name + "'", "is already registered");
    }
  }
  std::string format = req.format.empty() ? "auto" : req.format;
  if (format == "manifest" || (format == "auto" && !req.manifest.empty())) {
    std::lock_guard<std::mutex> one_at_a_time(register_mu_);
    auto info = RegisterManifest(req, registered_by);
    if (!info.ok()) return info.status().WithContext("tree '" + req.name + "'");
    return info;
  }
  if (req.content.empty()) {
    return Status::InvalidArgument("tree '" + req.name + "'", "the replay file is empty");
  }
  proto::StoredTree record;
  record.source = req;
  record.info.name = req.name;
  record.info.file_name = req.file_name;
  record.info.digest = gem::Sha256(req.content).Hex();
  record.info.registered_by = registered_by;
  record.info.registered_at = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  if (format == "auto") {
    format = "matrix";
    for (const auto& f : HeaderFields(req.content))
      if (EndsWith(f, "_pct")) format = "accuracy";
  }
  record.info.format = format;
  if (format == "accuracy") {
    record.info.num_queries = req.queries ? req.queries : config_.replay_queries;
    record.info.sim_seed = config_.replay_sim_seed;
    record.agreement = config_.replay_agreement;
  }
  auto built = BuildReplayTree(record);
  if (!built.ok()) return built.status().WithContext("tree '" + req.name + "'");
  const ServedTree& tree = **built;
  record.info.num_models = static_cast<uint32_t>(tree.model_digests.size());
  record.info.num_queries = tree.tasks[0].population.matrix->num_queries();
  for (const auto& t : tree.tasks) record.info.tasks.push_back(t.name);
  GEM_RETURN_IF_ERROR(Publish(record, *built));
  return record.info;
}

Result<proto::TreeInfo> TreeRegistry::RegisterManifest(const proto::TreeRegisterRequest& req,
                                                       const std::string& registered_by) {
  namespace fs = std::filesystem;
  if (req.manifest.empty()) {
    return Status::InvalidArgument("format 'manifest'", "needs the manifest's path");
  }
  if (!fs::path(req.manifest).is_absolute()) {
    return Status::InvalidArgument("manifest '" + req.manifest + "'",
                                   "must be an absolute path on gemd's host");
  }
  if (req.tasks.empty()) {
    return Status::InvalidArgument(
        "tasks", "a manifest tree needs at least one task (a custom .jsonl or a built-in name: " +
                     fmt::format("{}", fmt::join(gem::BuiltinTaskNames(), ", ")) + ")");
  }
  std::set<std::string> task_names;
  for (const auto& t : req.tasks) {
    if (Status st = ValidName(t.name); !st.ok()) {
      return Status::InvalidArgument("task name '" + t.name + "'",
                                     "may only use letters, digits, '.', '_' and '-'");
    }
    if (!task_names.insert(t.name).second) {
      return Status::InvalidArgument("task '" + t.name + "'", "is given twice");
    }
  }
  // Only a regular file, opened without blocking, of bounded size (gem/file.h): a directory,
  // a FIFO or /dev/zero is refused by name.
  std::string bytes;
  if (Status st = gem::ReadRegularFile(req.manifest, gem::kMaxJsonFileBytes, &bytes); !st.ok()) {
    return st.IsNotFound()
               ? Status::NotFound(req.manifest, "cannot open the manifest (as gemd's user)")
               : st;
  }

  gem::RegisterOptions options;
  options.forms = {gem::DeltaForm::kXor};  // the runner evaluates fine-tunes exactly
  options.progress = [&](const std::string& line) { spdlog::info("tree {}: {}", req.name, line); };
  auto registered = gem::RegisterTree(req.manifest, config_.data_dir, options);
  if (!registered.ok()) return registered.status();
  {
    // Two gemd trees may share a manifest (the same record), not a record name with another
    // manifest: the second registration would have rewritten the first one's record.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, t] : trees_) {
      if (t->engine && t->record.record_name == registered->name &&
          t->record.source.manifest != req.manifest) {
        return Status::FailedPrecondition("manifest tree name '" + registered->name + "'",
                                          "is already used by tree '" + name + "' from " +
                                              t->record.source.manifest +
                                              "; give the manifest another \"name\"");
      }
    }
  }
  proto::StoredTree record;
  record.source = req;
  record.source.content.clear();
  record.source.format = "manifest";
  record.record_name = registered->name;
  record.info.name = req.name;
  record.info.format = "manifest";
  record.info.file_name = req.manifest;
  record.info.digest = gem::Sha256(bytes).Hex();
  record.info.registered_by = registered_by;
  record.info.registered_at = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  record.info.base = registered->base_meta.name;
  for (const auto& c : registered->candidates) {
    if (!c.registered) record.info.refused.push_back(c.name + ": " + c.status.ToString());
  }
  if (registered->num_registered() == 0) {
    return Status::InvalidArgument(
        req.manifest,
        "no candidate fits the base: " + fmt::format("{}", fmt::join(record.info.refused, "; ")));
  }
  auto built = BuildManifestTree(record, config_, bases_);
  if (!built.ok()) return built.status();
  record.info.num_models = static_cast<uint32_t>((*built)->model_digests.size());
  for (const auto& t : (*built)->tasks) {
    record.info.tasks.push_back(t.name);
    record.info.num_queries = std::max(record.info.num_queries, t.num_queries());
  }
  GEM_RETURN_IF_ERROR(Publish(record, *built));
  return record.info;
}

Status TreeRegistry::Publish(const proto::StoredTree& record,
                             std::shared_ptr<const ServedTree> built) {
  const std::string& name = record.info.name;
  // The tree keeps its own copy of the record; give it the completed info.
  const_cast<ServedTree&>(*built).record = record;
  const ServedTree& tree = *built;

  // Labels make exports and `cache stats` readable; the digests stay the identity.
  std::vector<gem::Label> labels;
  for (size_t i = 0; i < tree.model_digests.size(); ++i) {
    labels.push_back(
        {gem::LabelKind::kModel, tree.model_digests[i], name + "/" + tree.model_ids[i]});
  }
  if (tree.engine) {
    for (uint8_t v = 0; v < gem::kNumPromptVariants; ++v) {
      labels.push_back({gem::LabelKind::kConfig, tree.engine->config_digests[v],
                        "engine prompt_variant=" + std::to_string(v)});
    }
  } else {
    labels.push_back({gem::LabelKind::kConfig, tree.config_digest, "replay"});
  }
  GEM_RETURN_IF_ERROR(cache_->SetLabels(labels));
  for (const auto& t : tree.tasks) {
    std::vector<std::string> ids;
    ids.reserve(t.query_digests.size());
    for (size_t j = 0; j < t.query_digests.size(); ++j) {
      ids.push_back(t.task ? t.task->query(j).id : "q" + std::to_string(j));
    }
    GEM_RETURN_IF_ERROR(cache_->RegisterTask(t.digest, name + "/" + t.name, t.query_digests, ids));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (trees_.count(name)) {
    return Status::FailedPrecondition("tree '" + name + "'", "is already registered");
  }
  GEM_RETURN_IF_ERROR(cache_->store()->Put(gem::Family::kTrees, name, proto::EncodeRecord(record)));
  trees_[name] = std::move(built);
  return Status::OK();
}

std::shared_ptr<const ServedTree> TreeRegistry::Get(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = trees_.find(name);
  return it == trees_.end() ? nullptr : it->second;
}

std::vector<proto::TreeInfo> TreeRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::TreeInfo> out;
  for (const auto& [name, t] : trees_) out.push_back(t->record.info);
  return out;
}

size_t TreeRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trees_.size();
}

}  // namespace gemd
