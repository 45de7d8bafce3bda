// Copyright the gem authors. The cluster behind a search's evaluator seam: what the cache misses
// goes to the workers (the slurm executor, docs/CLUSTER.md).
//
// A RemoteEvaluation stands where a local search has the replayed matrix or the engine: below
// the result cache, one gem::Evaluator per prompt variant (variant(v)), each under its own
// CachedEvaluator. Those CachedEvaluators must not write back (CachedEvaluatorOptions::write_back
// = false): the dispatcher writes each result as its unit arrives, the same CachedResult the
// CachedEvaluator would have written, so the cache holds exactly what a local search leaves.
//
// Like the engine's both-variants mode, a call for variant 0 of a manifest tree also asks the
// workers for the other variants of the same pairs (those the cache does not hold yet), so each
// round activates each model once on one worker; the other variant's evaluator then finds them
// in the cache. results_received() counts every result the workers sent for this search: it is
// the search's evaluations_run (what a local search counts), whatever the cache counted.
//
// Thread-safety: as Evaluator: one search at a time. results_received() from any thread.
#ifndef GEM_CLUSTER_REMOTE_EVALUATOR_H_
#define GEM_CLUSTER_REMOTE_EVALUATOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "cluster/dispatcher.h"
#include "gem/cache.h"
#include "gem/evaluator.h"

namespace gem::cluster {

class RemoteEvaluation {
 public:
  // REQUIRES: dispatcher, cache and stop (when given) outlive this. `on_unit` is called on the
  // searching thread after each unit that answered part of this search.
  RemoteEvaluation(Dispatcher* dispatcher, Cache* cache, std::shared_ptr<const TreeSpec> tree,
                   uint64_t job, const std::atomic<bool>* stop,
                   std::function<void(const Placement&, uint32_t answered)> on_unit = {});
  ~RemoteEvaluation();

  // The evaluator of prompt variant v (v < tree.configs.size()). Owned by this object.
  Evaluator* variant(uint32_t v);
  uint64_t results_received() const { return received_.load(std::memory_order_relaxed); }

 private:
  class Variant;
  Status Evaluate(uint32_t v, std::span<const EvalRequest> requests,
                  std::span<EvalOutcome> outcomes, std::vector<EvalDetail>* details);

  Dispatcher* dispatcher_;
  Cache* cache_;
  std::shared_ptr<const TreeSpec> tree_;
  uint64_t job_;
  const std::atomic<bool>* stop_;
  std::function<void(const Placement&, uint32_t)> on_unit_;
  std::vector<std::unique_ptr<Variant>> variants_;
  std::atomic<uint64_t> received_{0};
};

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_REMOTE_EVALUATOR_H_
