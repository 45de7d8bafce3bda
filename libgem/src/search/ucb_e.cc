// Copyright the gem authors. ucb_e: UCB-E (Audibert, Bubeck 2010): index mean + sqrt(a / n),
// with exploration a = (25/36) (B - K) / H, the constant of their Theorem 1. H = sum over
// suboptimal arms of 1 / gap^2 is unknown to a real search; we take H = K / 0.2^2, every arm 20
// points below the best: the bulk of a tree sits 10-30 points below its best model (the paper's
// Appendix F). 0.1 made the index nearly greedy (a clearly best model at 0.90 among models at
// 0.40-0.60 was missed in 3 of 10 searches: tests/search). No dependence on t.
#include <cmath>

#include "search/index_policy.h"

namespace gem::search_internal {
namespace {

constexpr double kTypicalGap = 0.2;

double UcbE(const SearchRun& run, uint32_t m, double /*log_t*/) {
  const double k = run.num_models();
  const double h = k / (kTypicalGap * kTypicalGap);
  const double a = 25.0 / 36.0 * (static_cast<double>(run.budget()) - k) / h;
  return run.Mean(m) + std::sqrt(a / run.pulls(m));
}

}  // namespace

Status RunUcbE(SearchRun* run) { return RunIndexPolicy(run, &UcbE, false); }

}  // namespace gem::search_internal
