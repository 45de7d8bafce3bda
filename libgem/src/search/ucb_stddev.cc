// Copyright the gem authors. ucb_stddev: the variance-aware UCB of the paper's baselines, read
// as UCB1-Tuned (Auer, Cesa-Bianchi, Fischer 2002, Section 4): index
//   mean + sqrt((ln t / n) * min(1/4, V)),  V = s^2 + sqrt(2 ln t / n),
// s^2 the arm's empirical variance (for 0/1 rewards: mean (1 - mean)). An arm whose answers
// barely vary (a broken model, or a near-perfect one) is explored less than UCB1 would.
#include <algorithm>
#include <cmath>

#include "search/index_policy.h"

namespace gem::search_internal {
namespace {

double UcbTuned(const SearchRun& run, uint32_t m, double log_t) {
  const double n = run.pulls(m), mean = run.Mean(m);
  const double v = mean * (1 - mean) + std::sqrt(2.0 * log_t / n);
  return mean + std::sqrt(log_t / n * std::min(0.25, v));
}

}  // namespace

Status RunUcbStdDev(SearchRun* run) { return RunIndexPolicy(run, &UcbTuned, true); }

}  // namespace gem::search_internal
