// Copyright the gem authors. Manifest trees: real models on a resident base (internal.h).
#include <algorithm>
#include <map>

#include "searchable/internal.h"

namespace gem::searchable_internal {
namespace {

Result<std::shared_ptr<const Task>> LoadTaskSource(const TaskSource& source,
                                                   const SearchableOptions& options) {
  TaskOptions task_options;
  task_options.data_dir = options.tasks_dir;
  if (source.content.empty()) {
    auto task = LoadTask(source.name, task_options);
    if (!task.ok()) {
      return task.status().WithContext("task '" + source.name +
                                       "' (no content was sent, so it must be a built-in task)");
    }
    return task;
  }
  return ParseCustomTask(source.name, source.content,
                         source.file_name.empty() ? source.name : source.file_name, task_options);
}

// The registration outcome: kept in the record (version 2), or in the file a version 1 record
// names.
Result<RegisteredTree> Registration(const TreeRecord& record, const SearchableOptions& options) {
  if (record.registration) return *record.registration;
  if (record.legacy_record_name.empty()) {
    return Status::Corruption("tree record '" + record.name + "'",
                              "a manifest tree without its registration");
  }
  return LoadTreeRecord(options.data_dir, record.legacy_record_name);
}

}  // namespace

Result<std::shared_ptr<SearchableTree>> TreeBuilder::Manifest(const TreeRecord& record,
                                                              const SearchableOptions& options) {
  auto registration = Registration(record, options);
  if (!registration.ok()) return registration.status();
  const RegisteredTree& reg = *registration;
  std::shared_ptr<SearchableTree> tree(new SearchableTree());
  tree->record_ = record;
  tree->kind_ = SearchableTree::Kind::kManifest;
  tree->has_popularity_ = true;

  auto candidates = CandidatesFromTree(reg, options.data_dir, DeltaForm::kXor);
  if (!candidates.ok()) return candidates.status();
  tree->candidates_ = std::move(*candidates);
  // The models: the base, then the registered candidates in manifest order.
  std::vector<const ModelMeta*> metas;
  auto add = [&](const std::string& name, std::string kind, const std::string& folder,
                 const ModelMeta& meta) {
    SearchableModel m;
    m.name = name;
    m.kind = std::move(kind);
    m.folder = folder;
    tree->models_.push_back(std::move(m));
    metas.push_back(&meta);
  };
  add(tree->candidates_[0].name, "base", reg.base_path, reg.base_meta);
  for (const auto& c : reg.candidates) {
    if (c.registered) add(c.name, CandidateKindName(c.kind), c.path, c.meta);
  }
  if (tree->models_.size() != tree->candidates_.size()) {
    return Status::Corruption("tree '" + record.name + "'", "its candidates and models disagree");
  }
  std::map<std::string, int> index_of;  // by name (a ModelMeta::parent names one)
  for (size_t i = 0; i < tree->models_.size(); ++i) {
    index_of.emplace(tree->models_[i].name, static_cast<int>(i));
  }
  for (size_t i = 0; i < tree->models_.size(); ++i) {
    SearchableModel& m = tree->models_[i];
    const ModelMeta& meta = *metas[i];
    m.digest = tree->candidates_[i].digest;
    m.popularity_known = meta.downloads >= 0;
    m.popularity = static_cast<double>(std::max<int64_t>(meta.downloads, 0));
    m.relation = meta.relation;
    const auto parent = index_of.find(meta.parent);  // the base has none, nor has a self-loop
    if (i > 0 && parent != index_of.end() && parent->second != static_cast<int>(i)) {
      m.parent = parent->second;
    }
  }

  for (const auto& source : record.source.tasks) {
    auto task = LoadTaskSource(source, options);
    if (!task.ok()) return task.status();
    SearchableTask t;
    t.name = source.name;
    t.task = *task;
    t.digest = (*task)->digest();
    for (const auto& q : (*task)->queries()) t.query_digests.push_back(q.digest);
    tree->tasks_.push_back(std::move(t));
  }
  if (tree->tasks_.empty()) {
    return Status::InvalidArgument("tree '" + record.name + "'",
                                   "a manifest tree needs at least one task");
  }
  std::sort(tree->tasks_.begin(), tree->tasks_.end(),
            [](const SearchableTask& a, const SearchableTask& b) { return a.name < b.name; });

  std::shared_ptr<ResidentBases> own;
  ResidentBases* bases = options.bases;
  if (bases == nullptr) {
    own = std::make_shared<ResidentBases>(options.threads);
    bases = own.get();
  }
  auto base = bases->Get(reg.base_path, reg.base_digest);
  if (!base.ok()) return base.status();
  tree->base_ = *base;
  // The configs depend on the base's chat template only; an evaluator is the one place that
  // states them (creating one reads the tokenizer and runs nothing).
  auto ev =
      EngineEvaluator::Create(tree->base_->model.get(), tree->candidates_, tree->tasks_[0].task);
  if (!ev.ok()) return ev.status();
  for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
    tree->configs_.push_back(ConfigDigest((*ev)->config(v)));
  }
  return tree;
}

}  // namespace gem::searchable_internal
