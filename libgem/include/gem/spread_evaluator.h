// Copyright the gem authors. SpreadEvaluator: one search's batches spread over several devices.
//
// gemd holds a base resident on each device of a node (each GPU, or each CPU worker standing in
// for one) and gives a search all of them: every Evaluate() batch is split by model, the k-th
// distinct model of the batch (in model order) going to device k mod N, and each device
// evaluates its share on a thread of its own; the answers come back in the order they were asked.
// Each device runs a whole candidate (a model never straddles devices), so with deterministic,
// batch-invariant evaluators (greedy decoding; docs/ENGINE.md) every answer is the one a single
// device would give: a search's path, its result and what it writes to the result cache do not
// depend on how many devices it ran on (tests/task/spread_evaluator_test.cc). The cache sits
// above the spread (CachedEvaluator over SpreadEvaluator), so results from every device are
// merged into the one cache as each batch returns.
//
// The same models go to the same devices whenever two batches ask for the same models (as the
// two prompt variants of an engine evaluator do: each device's EngineEvaluator then answers the
// second variant from what it generated for the first).
//
// Thread-safety: like Evaluator (one search at a time). Evaluate() calls the device evaluators
// concurrently, one thread per device with work, so each device evaluator must be independent
// of the others (its own model, its own state) and any callback it makes (progress) may come
// from those threads.
#ifndef GEM_SPREAD_EVALUATOR_H_
#define GEM_SPREAD_EVALUATOR_H_

#include <cstdint>
#include <span>
#include <vector>

#include "gem/evaluator.h"

namespace gem {

class SpreadEvaluator final : public Evaluator {
 public:
  // One evaluator per device, not owned, outliving this, all with the same models and queries
  // (e.g. EngineEvaluator::variant(v) of one EngineEvaluator per device).
  // REQUIRES: !devices.empty().
  explicit SpreadEvaluator(std::vector<Evaluator*> devices);

  uint32_t num_models() const override;
  uint32_t num_queries() const override;
  // On errors, the first device's error in device order is returned (after every device has
  // finished its share).
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override;
  // known[i] = 1 when any device already has the answer.
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) override;

  size_t num_devices() const { return devices_.size(); }
  // Requests each device was given, over this object's life.
  const std::vector<uint64_t>& requests_per_device() const { return per_device_; }

 private:
  std::vector<Evaluator*> devices_;
  std::vector<uint64_t> per_device_;
};

}  // namespace gem

#endif  // GEM_SPREAD_EVALUATOR_H_
