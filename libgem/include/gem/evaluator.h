// Copyright the gem authors. Evaluator: the one seam between a search and whatever answers it.
//
// A search asks in batches: "evaluate these (model, query) pairs, tell me which were correct".
// Behind this interface sit, interchangeably: a replayed 0/1 matrix (the paper's experiments,
// gem-replay), the RocksDB result cache wrapping another evaluator (gemd's reuse across searches),
// and the inference engine with a task's grader (real evaluation). The search never knows which.
//
// Indices are dense: models 0..num_models()-1 are the candidates of one tree in registration
// order; queries 0..num_queries()-1 are a task's queries in the task's order. Mapping indices to
// content digests (for cache keys) is the evaluator's business, not the search's.
//
// Batching: one Evaluate call carries a whole round where the algorithm allows it, so an engine
// can activate each model once and run all its queries together, and a cache can do one MultiGet.
//
// Thread-safety: an Evaluator is used by one search at a time; implementations need not be
// thread-safe unless they say so.
#ifndef GEM_EVALUATOR_H_
#define GEM_EVALUATOR_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem {

struct EvalRequest {
  uint32_t model = 0;
  uint32_t query = 0;
};

// The part of an answer every search needs.
struct EvalOutcome {
  uint8_t correct = 0;     // 1 when the grader accepted the model's output
  uint8_t from_cache = 0;  // 1 when answered without running the model (cache or replay record)
};

// What an evaluation produced beyond correct/incorrect, for evaluators that run a model. The
// result cache stores these; replay evaluators leave them empty.
struct EvalDetail {
  std::string output;        // generated text (may be empty when only a digest is kept)
  std::string reason;        // the grader's reason, e.g. "expected 42, got 41"
  uint32_t tokens_in = 0;
  uint32_t tokens_out = 0;
  float seconds = 0;         // wall time spent on this evaluation (its share of a batch)
  uint8_t variant = 0;       // prompt variant that produced the grade (0: no system prompt)
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;

  virtual uint32_t num_models() const = 0;
  virtual uint32_t num_queries() const = 0;

  // Evaluates requests[i] into outcomes[i] (outcomes.size() == requests.size()). When `details`
  // is non-null it is resized to requests.size() and filled where the evaluator has details.
  // A request may repeat a pair; each occurrence is answered (and, for budgets, counted).
  // On error, the outcomes are unspecified and the search stops with that status; a cancelled
  // evaluation returns Status::Aborted.
  // REQUIRES: every model < num_models() and query < num_queries().
  virtual Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                          std::vector<EvalDetail>* details) = 0;

  // For each request, sets known[i] = 1 when its answer is already paid for (e.g. cached), so a
  // search may prefer free queries. Never runs a model. The default knows nothing.
  virtual Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) {
    for (auto& k : known) k = 0;
    return Status::OK();
  }
};

}  // namespace gem

#endif  // GEM_EVALUATOR_H_
