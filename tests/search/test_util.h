// Copyright the gem authors. Helpers for the search tests: small populations and an evaluator
// that records every request.
#ifndef GEM_TESTS_SEARCH_TEST_UTIL_H_
#define GEM_TESTS_SEARCH_TEST_UTIL_H_

#include <memory>
#include <vector>

#include "gem/evaluator.h"
#include "gem/population.h"

namespace gem::testing {

// A simulated population with the given accuracies (no clipping), Q queries.
inline std::shared_ptr<const ResponseMatrix> MakeMatrix(const std::vector<double>& acc,
                                                        uint32_t queries, uint64_t seed = 1,
                                                        double agreement = 0.9) {
  TreeTable t;
  t.name = "test";
  t.accuracy = acc;
  t.clipped.assign(acc.size(), 0);
  for (size_t i = 0; i < acc.size(); ++i) t.model_ids.push_back(std::to_string(i));
  SimulationOptions o;
  o.num_queries = queries;
  o.seed = seed;
  o.agreement = agreement;
  auto p = SimulatePopulation(t, o);
  return p.ok() ? p->matrix : nullptr;
}

// Wraps an evaluator and keeps every batch it was asked.
class RecordingEvaluator : public Evaluator {
 public:
  explicit RecordingEvaluator(Evaluator* inner) : inner_(inner) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    batches.emplace_back(requests.begin(), requests.end());
    total += requests.size();
    return inner_->Evaluate(requests, outcomes, details);
  }
  std::vector<std::vector<EvalRequest>> batches;
  uint64_t total = 0;

 private:
  Evaluator* inner_;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_SEARCH_TEST_UTIL_H_
