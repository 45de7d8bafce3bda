// Copyright the gem authors. MatrixEvaluator: a replayed 0/1 matrix behind the Evaluator seam.
#include <string>

#include "gem/population.h"

namespace gem {

MatrixEvaluator::MatrixEvaluator(std::shared_ptr<const ResponseMatrix> matrix, bool replay_record)
    : matrix_(std::move(matrix)), from_cache_(replay_record ? 1 : 0) {}

Status MatrixEvaluator::Evaluate(std::span<const EvalRequest> requests,
                                 std::span<EvalOutcome> outcomes,
                                 std::vector<EvalDetail>* details) {
  if (outcomes.size() != requests.size()) {
    return Status::InvalidArgument("MatrixEvaluator::Evaluate",
                                   "outcomes.size() != requests.size()");
  }
  const uint32_t nm = matrix_->num_models(), nq = matrix_->num_queries();
  for (size_t i = 0; i < requests.size(); ++i) {
    const EvalRequest& r = requests[i];
    if (r.model >= nm || r.query >= nq) {
      return Status::InvalidArgument(
          "MatrixEvaluator::Evaluate",
          "request " + std::to_string(i) + " (model " + std::to_string(r.model) + ", query " +
              std::to_string(r.query) + ") is outside the " + std::to_string(nm) + " x " +
              std::to_string(nq) + " matrix");
    }
    outcomes[i].correct = matrix_->Get(r.model, r.query) ? 1 : 0;
    outcomes[i].from_cache = from_cache_;
  }
  evaluations_ += requests.size();
  if (details != nullptr) {
    details->clear();
    details->resize(requests.size());
  }
  return Status::OK();
}

}  // namespace gem
