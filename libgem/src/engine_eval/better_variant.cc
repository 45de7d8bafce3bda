// Copyright the gem authors. BetterVariantEvaluator: each model's better prompt variant.
#include "gem/engine_evaluator.h"

namespace gem {

BetterVariantEvaluator::BetterVariantEvaluator(Evaluator* without_system, Evaluator* with_system)
    : ev_{without_system, with_system}, tallies_(without_system->num_models()) {}

uint32_t BetterVariantEvaluator::num_models() const { return ev_[0]->num_models(); }
uint32_t BetterVariantEvaluator::num_queries() const { return ev_[0]->num_queries(); }

Status BetterVariantEvaluator::Evaluate(std::span<const EvalRequest> requests,
                                        std::span<EvalOutcome> outcomes,
                                        std::vector<EvalDetail>* details) {
  const size_t n = requests.size();
  std::vector<EvalOutcome> out[kNumPromptVariants];
  std::vector<EvalDetail> det[kNumPromptVariants];
  for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
    out[v].resize(n);
    GEM_RETURN_IF_ERROR(ev_[v]->Evaluate(requests, out[v], details ? &det[v] : nullptr));
  }
  for (size_t i = 0; i < n; ++i) {
    VariantTally& t = tallies_[requests[i].model];
    for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
      t.graded[v] += 1;
      t.correct[v] += out[v][i].correct;
    }
  }
  if (details) details->assign(n, EvalDetail{});
  for (size_t i = 0; i < n; ++i) {
    const uint8_t best = BetterVariant(tallies_[requests[i].model]);
    outcomes[i].correct = out[best][i].correct;
    outcomes[i].from_cache = out[0][i].from_cache && out[1][i].from_cache;
    if (details && i < det[best].size()) {
      (*details)[i] = det[best][i];
      (*details)[i].variant = best;
    }
  }
  return Status::OK();
}

Status BetterVariantEvaluator::Known(std::span<const EvalRequest> requests,
                                     std::span<uint8_t> known) {
  std::vector<uint8_t> k1(requests.size());
  GEM_RETURN_IF_ERROR(ev_[0]->Known(requests, known));
  GEM_RETURN_IF_ERROR(ev_[1]->Known(requests, k1));
  for (size_t i = 0; i < requests.size(); ++i) known[i] = known[i] && k1[i];
  return Status::OK();
}

}  // namespace gem
