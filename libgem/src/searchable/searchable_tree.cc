// Copyright the gem authors. SearchableTree: opening, what it answers, and its place in a store
// (gem/searchable_tree.h).
#include "gem/searchable_tree.h"

#include "searchable/internal.h"

namespace gem {

using searchable_internal::TreeBuilder;

std::string SearchableTask::query_id(uint32_t j) const {
  return task ? task->query(j).id : "q" + std::to_string(j);
}

Result<std::shared_ptr<const SearchableTree>> SearchableTree::Open(
    const TreeRecord& record, const SearchableOptions& options) {
  auto tree = record.format == "manifest" ? TreeBuilder::Manifest(record, options)
                                          : TreeBuilder::Replay(record);
  if (!tree.ok()) return tree.status();
  return std::shared_ptr<const SearchableTree>(std::move(*tree));
}

std::vector<Digest> SearchableTree::model_digests() const {
  std::vector<Digest> out;
  out.reserve(models_.size());
  for (const auto& m : models_) out.push_back(m.digest);
  return out;
}

const SearchableTask* SearchableTree::FindTask(std::string_view name) const {
  for (const auto& t : tasks_)
    if (t.name == name) return &t;
  return nullptr;
}

Result<const SearchableTask*> SearchableTree::GetTask(std::string_view name) const {
  if (const SearchableTask* t = FindTask(name)) return t;
  return Status::NotFound("task '" + std::string(name) + "'",
                          "tree '" + record_.name + "' answers: " + TaskList());
}

std::string SearchableTree::TaskList() const {
  std::string s;
  for (const auto& t : tasks_) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

Result<Digest> SearchableTree::config_digest(uint32_t variant) const {
  if (variant < configs_.size()) return configs_[variant];
  if (kind_ == Kind::kReplay) {
    return Status::InvalidArgument("variant " + std::to_string(variant),
                                   "replay trees have a single config (variant 0)");
  }
  return Status::InvalidArgument("variant " + std::to_string(variant),
                                 "must be 0 (no system prompt) or 1 (with one)");
}

SearchOptions SearchableTree::search_options() const {
  SearchOptions options;
  options.shuffle_queries = false;
  if (has_popularity_) {
    for (const auto& m : models_) options.popularity.push_back(m.popularity);
  }
  return options;
}

Status StoreTree(Cache* cache, const SearchableTree& tree) {
  const std::string& name = tree.name();
  auto bytes = EncodeTreeRecord(tree.record());
  if (!bytes.ok()) return bytes.status();
  // Labels make exports and `cache stats` readable; the digests stay the identity.
  std::vector<Label> labels;
  for (const auto& m : tree.models()) {
    labels.push_back({LabelKind::kModel, m.digest, name + "/" + m.name});
  }
  for (uint32_t v = 0; v < tree.num_variants(); ++v) {
    labels.push_back({LabelKind::kConfig, *tree.config_digest(v),
                      tree.kind() == SearchableTree::Kind::kReplay
                          ? std::string("replay")
                          : "engine prompt_variant=" + std::to_string(v)});
  }
  GEM_RETURN_IF_ERROR(cache->SetLabels(labels));
  for (const auto& t : tree.tasks()) {
    std::vector<std::string> ids;
    ids.reserve(t.num_queries());
    for (uint32_t j = 0; j < t.num_queries(); ++j) ids.push_back(t.query_id(j));
    GEM_RETURN_IF_ERROR(cache->RegisterTask(t.digest, name + "/" + t.name, t.query_digests, ids));
  }
  return cache->store()->Put(Family::kTrees, name, *bytes);
}

Result<std::vector<TreeRecord>> ReadStoredTrees(const Store& store,
                                                std::vector<Status>* unreadable) {
  std::vector<TreeRecord> records;
  Status scan = store.Scan(Family::kTrees, "", [&](std::string_view key, std::string_view value) {
    auto r = DecodeTreeRecord(value);
    if (r.ok()) {
      records.push_back(std::move(*r));
    } else if (unreadable != nullptr) {
      unreadable->push_back(r.status().WithContext("stored tree '" + std::string(key) + "'"));
    }
    return true;
  });
  if (!scan.ok()) return scan;
  return records;
}

Result<std::shared_ptr<const SearchableTree>> OpenStoredTree(Cache* cache, std::string_view name,
                                                             const SearchableOptions& options) {
  std::string bytes;
  Status st = cache->store()->Get(Family::kTrees, name, &bytes);
  if (st.IsNotFound()) {
    return Status::NotFound("tree '" + std::string(name) + "'",
                            "not stored in " + cache->store()->path());
  }
  if (!st.ok()) return st;
  auto record = DecodeTreeRecord(bytes);
  if (!record.ok()) return record.status();
  return SearchableTree::Open(*record, options);
}

}  // namespace gem
