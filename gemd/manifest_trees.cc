// Copyright the gem authors. Manifest trees in gemd (manifest_trees.h).
#include "manifest_trees.h"

#include <algorithm>

namespace gemd {

using gem::Result;
using gem::Status;
namespace proto = gem::protocol;

namespace {

Result<std::shared_ptr<const gem::Task>> LoadTaskSource(const proto::TaskSource& source,
                                                        const Config& config) {
  gem::TaskOptions options;
  options.data_dir = config.tasks_dir;
  if (source.content.empty()) {
    auto task = gem::LoadTask(source.name, options);
    if (!task.ok()) {
      return task.status().WithContext("task '" + source.name +
                                       "' (no content was sent, so it must be a built-in task)");
    }
    return task;
  }
  return gem::ParseCustomTask(source.name, source.content,
                              source.file_name.empty() ? source.name : source.file_name, options);
}

}  // namespace

Result<std::shared_ptr<const ServedTree>> BuildManifestTree(const proto::StoredTree& record,
                                                            const Config& config,
                                                            ResidentBases* bases) {
  auto registered = gem::LoadTreeRecord(config.data_dir, record.record_name);
  if (!registered.ok()) return registered.status();
  auto engine = std::make_shared<EngineTree>();
  engine->registered = std::move(*registered);
  const gem::RegisteredTree& reg = engine->registered;

  auto candidates = gem::CandidatesFromTree(reg, config.data_dir, gem::DeltaForm::kXor);
  if (!candidates.ok()) return candidates.status();
  engine->candidates = std::move(*candidates);

  auto tree = std::make_shared<ServedTree>();
  tree->record = record;
  if (auto d = gem::Digest::FromHex(record.info.digest); d.ok()) tree->content_digest = *d;
  tree->model_ids.push_back(engine->candidates[0].name);
  tree->popularity.push_back(static_cast<double>(std::max<int64_t>(reg.base_meta.downloads, 0)));
  engine->kinds.push_back("base");
  for (const auto& c : reg.candidates) {
    if (!c.registered) continue;
    tree->model_ids.push_back(c.name);
    tree->popularity.push_back(static_cast<double>(std::max<int64_t>(c.meta.downloads, 0)));
    engine->kinds.push_back(gem::CandidateKindName(c.kind));
  }
  if (tree->model_ids.size() != engine->candidates.size()) {
    return Status::Corruption(reg.record_path, "its candidates and models disagree");
  }
  for (const auto& c : engine->candidates) tree->model_digests.push_back(c.digest);

  for (const auto& source : record.source.tasks) {
    auto task = LoadTaskSource(source, config);
    if (!task.ok()) return task.status();
    ServedTask t;
    t.name = source.name;
    t.task = *task;
    t.digest = (*task)->digest();
    for (const auto& q : (*task)->queries()) t.query_digests.push_back(q.digest);
    tree->tasks.push_back(std::move(t));
  }
  if (tree->tasks.empty()) {
    return Status::InvalidArgument("tree '" + record.info.name + "'",
                                   "a manifest tree needs at least one task");
  }
  std::sort(tree->tasks.begin(), tree->tasks.end(),
            [](const ServedTask& a, const ServedTask& b) { return a.name < b.name; });

  auto base = bases->Get(reg.base_path, reg.base_digest);
  if (!base.ok()) return base.status();
  engine->base = *base;
  // The configs depend on the base's chat template only; an evaluator is the one place that
  // states them (creating one reads the tokenizer and runs nothing).
  auto ev = gem::EngineEvaluator::Create(engine->base->model.get(), engine->candidates,
                                         tree->tasks[0].task);
  if (!ev.ok()) return ev.status();
  for (uint8_t v = 0; v < gem::kNumPromptVariants; ++v) {
    engine->config_digests[v] = gem::ConfigDigest((*ev)->config(v));
  }
  tree->config_digest = engine->config_digests[0];
  tree->engine = std::move(engine);
  return std::shared_ptr<const ServedTree>(std::move(tree));
}

}  // namespace gemd
