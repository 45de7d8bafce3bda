// Copyright the gem authors. Registering a tree (SearchableTree::Register): validate the source,
// decide the name, do the expensive part (a manifest's deltas), build the tree and complete its
// record. The manifest is read once: its bytes give both the digest and the parsed manifest.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "searchable/internal.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using searchable_internal::TreeBuilder;
using searchable_internal::ValidName;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (const auto& x : items) s += (s.empty() ? "" : sep) + x;
  return s;
}

Status Named(const std::string& name, const SearchableOptions& options) {
  GEM_RETURN_IF_ERROR(ValidName("tree name", name));
  return options.check_name ? options.check_name(name) : Status::OK();
}

Result<std::shared_ptr<const SearchableTree>> RegisterReplay(const TreeSource& source,
                                                             std::string format,
                                                             const SearchableOptions& options) {
  TreeRecord record;
  record.name = source.name;
  if (record.name.empty()) {
    if (source.file_name.empty()) {
      return Status::InvalidArgument("tree name", "none given and no file name to take it from");
    }
    record.name = fs::path(source.file_name).stem().string();
  }
  GEM_RETURN_IF_ERROR(Named(record.name, options));
  const std::string context = "tree '" + record.name + "'";
  if (source.content.empty()) return Status::InvalidArgument(context, "the replay file is empty");
  record.source = source;
  record.file_name = source.file_name;
  record.digest = Sha256(source.content).Hex();
  record.registered_by = options.registered_by;
  record.registered_at = UnixNow();
  if (format == "auto") {
    auto header = searchable_internal::HeaderFields(
        source.content, source.file_name.empty() ? record.name : source.file_name);
    if (!header.ok()) return header.status().WithContext(context);
    format = "matrix";
    for (const auto& f : *header) {
      if (f.size() > 4 && f.compare(f.size() - 4, 4, "_pct") == 0) format = "accuracy";
    }
  }
  record.format = format;
  if (format == "accuracy") {
    record.num_queries = source.queries ? source.queries : options.replay.num_queries;
    record.sim_seed = options.replay.seed;
    record.agreement = options.replay.agreement;
  }
  auto built = TreeBuilder::Replay(record);
  if (!built.ok()) return built.status().WithContext(context);
  SearchableTree& tree = **built;
  TreeRecord& r = TreeBuilder::MutableRecord(&tree);
  r.num_models = tree.num_models();
  r.num_queries = tree.tasks()[0].num_queries();
  for (const auto& t : tree.tasks()) r.tasks.push_back(t.name);
  return std::shared_ptr<const SearchableTree>(std::move(*built));
}

Result<std::shared_ptr<const SearchableTree>> RegisterManifest(const TreeSource& source,
                                                               const SearchableOptions& options) {
  if (source.manifest.empty()) {
    return Status::InvalidArgument("format 'manifest'", "needs the manifest's path");
  }
  if (!fs::path(source.manifest).is_absolute()) {
    return Status::InvalidArgument("manifest '" + source.manifest + "'",
                                   "must be an absolute path");
  }
  if (options.data_dir.empty()) {
    return Status::InvalidArgument("data_dir", "a manifest tree needs a data dir for its deltas");
  }
  if (source.tasks.empty()) {
    return Status::InvalidArgument(
        "tasks", "a manifest tree needs at least one task (a custom .jsonl or a built-in name: " +
                     Join(BuiltinTaskNames(), ", ") + ")");
  }
  std::set<std::string> task_names;
  for (const auto& t : source.tasks) {
    GEM_RETURN_IF_ERROR(ValidName("task name", t.name));
    if (!task_names.insert(t.name).second) {
      return Status::InvalidArgument("task '" + t.name + "'", "is given twice");
    }
  }
  std::ifstream in(source.manifest, std::ios::binary);
  if (!in) {
    return Status::NotFound(source.manifest, "cannot open the manifest (as this process's user)");
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto manifest = ParseManifest(bytes, source.manifest);
  if (!manifest.ok()) return manifest.status();

  TreeRecord record;
  record.name = source.name.empty() ? manifest->name : source.name;
  GEM_RETURN_IF_ERROR(Named(record.name, options));
  const std::string context = "tree '" + record.name + "'";

  RegisterOptions ro;
  ro.forms = {DeltaForm::kXor};  // searches evaluate fine-tunes exactly
  ro.progress = options.progress;
  ro.record_file = false;  // the registration is kept in the tree record instead
  auto registered = RegisterTree(*manifest, options.data_dir, ro);
  if (!registered.ok()) return registered.status().WithContext(context);

  record.source = source;
  record.source.content.clear();
  record.source.format = "manifest";
  record.format = "manifest";
  record.file_name = source.manifest;
  record.digest = Sha256(bytes).Hex();
  record.registered_by = options.registered_by;
  record.registered_at = UnixNow();
  record.base = registered->base_meta.name;
  for (const auto& c : registered->candidates) {
    if (!c.registered) record.refused.push_back(c.name + ": " + c.status.ToString());
  }
  if (registered->num_registered() == 0) {
    return Status::InvalidArgument(source.manifest,
                                   "no candidate fits the base: " + Join(record.refused, "; "))
        .WithContext(context);
  }
  record.registration = std::move(*registered);
  auto built = TreeBuilder::Manifest(record, options);
  if (!built.ok()) return built.status().WithContext(context);
  SearchableTree& tree = **built;
  TreeRecord& r = TreeBuilder::MutableRecord(&tree);
  r.num_models = tree.num_models();
  for (const auto& t : tree.tasks()) {
    r.tasks.push_back(t.name);
    r.num_queries = std::max(r.num_queries, t.num_queries());
  }
  return std::shared_ptr<const SearchableTree>(std::move(*built));
}

}  // namespace

Result<std::shared_ptr<const SearchableTree>> SearchableTree::Register(
    const TreeSource& source, const SearchableOptions& options) {
  if (!source.name.empty()) GEM_RETURN_IF_ERROR(ValidName("tree name", source.name));
  const std::string format = source.format.empty() ? "auto" : source.format;
  if (format == "manifest" || (format == "auto" && !source.manifest.empty())) {
    return RegisterManifest(source, options);
  }
  return RegisterReplay(source, format, options);
}

}  // namespace gem
