// Copyright the gem authors. Manifest trees: real models on a resident base (internal.h).
#include <algorithm>

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
  auto downloads = [](int64_t d) { return static_cast<double>(std::max<int64_t>(d, 0)); };
  tree->models_.push_back({tree->candidates_[0].name, tree->candidates_[0].digest,
                           downloads(reg.base_meta.downloads), "base"});
  for (const auto& c : reg.candidates) {
    if (!c.registered) continue;
    tree->models_.push_back(
        {c.name, Digest(), downloads(c.meta.downloads), CandidateKindName(c.kind)});
  }
  if (tree->models_.size() != tree->candidates_.size()) {
    return Status::Corruption("tree '" + record.name + "'", "its candidates and models disagree");
  }
  for (size_t i = 0; i < tree->models_.size(); ++i) {
    tree->models_[i].digest = tree->candidates_[i].digest;
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
