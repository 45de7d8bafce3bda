// Copyright the gem authors. What the cache holds of a tree's task, per model and variant
// (gem/searchable_tree.h, CountCachedAnswers).
#include <optional>
#include <unordered_map>

#include "gem/searchable_tree.h"

namespace gem {

Result<std::vector<CachedAnswers>> CountCachedAnswers(const SearchableTree& tree,
                                                      std::string_view task_name,
                                                      const Cache& cache) {
  auto task = tree.GetTask(task_name);
  if (!task.ok()) return task.status();
  const SearchableTask& t = **task;
  const uint32_t variants = tree.num_variants();
  std::vector<CachedAnswers> out(tree.num_models());
  for (auto& a : out) {
    a.answered.assign(variants, 0);
    a.correct.assign(variants, 0);
  }

  // Walk the task's index (what the cache holds for this task, config by config) rather than
  // look up every (model, query): a tree of hundreds of models is mostly not evaluated.
  std::unordered_map<Digest, uint32_t> model_of, query_of;
  for (uint32_t i = 0; i < tree.num_models(); ++i) model_of.emplace(tree.models()[i].digest, i);
  for (uint32_t q = 0; q < t.num_queries(); ++q) query_of.emplace(t.query_digests[q], q);
  std::vector<ResultKey> keys;
  std::vector<uint32_t> owner;
  std::vector<std::optional<CachedResult>> found;
  for (uint32_t v = 0; v < variants; ++v) {
    auto config = tree.config_digest(v);
    if (!config.ok()) return config.status();
    keys.clear();
    owner.clear();
    GEM_RETURN_IF_ERROR(cache.ForEachTaskResult(t.digest, &*config, [&](const ResultKey& k) {
      auto m = model_of.find(k.model);
      if (m != model_of.end() && query_of.count(k.query)) {
        keys.push_back(k);
        owner.push_back(m->second);
      }
      return true;
    }));
    GEM_RETURN_IF_ERROR(cache.MultiGet(keys, &found));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!found[i]) continue;  // indexed but gone: not an answer
      ++out[owner[i]].answered[v];
      out[owner[i]].correct[v] += found[i]->correct != 0;
    }
  }
  for (auto& a : out) {
    a.complete = t.num_queries() > 0;
    for (uint32_t n : a.answered) a.complete = a.complete && n == t.num_queries();
  }
  return out;
}

}  // namespace gem
