// Copyright the gem authors. ucb_e: UCB-E (Audibert, Bubeck 2010): index mean + sqrt(a / n),
// with exploration a = (25/36) (B - K) / H, the constant of their Theorem 1. H = sum over
// suboptimal arms of 1 / gap^2 is unknown to a real search; we take H = K / 0.1^2, i.e. every
// arm 10 points below the best, which is the typical gap of the paper's trees ("the vast
// majority of models are more than 10% worse than the best", Appendix F). No dependence on t.
#include <cmath>

#include "search/index_policy.h"

namespace gem::search_internal {
namespace {

constexpr double kTypicalGap = 0.1;

double UcbE(const SearchRun& run, uint32_t m, double /*log_t*/) {
  const double k = run.num_models();
  const double h = k / (kTypicalGap * kTypicalGap);
  const double a = 25.0 / 36.0 * (static_cast<double>(run.budget()) - k) / h;
  return run.Mean(m) + std::sqrt(a / run.pulls(m));
}

}  // namespace

Status RunUcbE(SearchRun* run) { return RunIndexPolicy(run, &UcbE, false); }

}  // namespace gem::search_internal
