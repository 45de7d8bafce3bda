// Copyright the gem authors. ucb: UCB1 (Auer, Cesa-Bianchi, Fischer 2002): index
// mean + sqrt(2 ln t / n), t the total pulls so far, n the arm's pulls. Rewards are 0/1, so the
// constant 2 is the paper's own (rewards in [0, 1]); nothing is tuned.
#include <cmath>

#include "search/index_policy.h"

namespace gem::search_internal {
namespace {

double Ucb1(const SearchRun& run, uint32_t m, double log_t) {
  return run.Mean(m) + std::sqrt(2.0 * log_t / run.pulls(m));
}

}  // namespace

Status RunUcb(SearchRun* run) { return RunIndexPolicy(run, &Ucb1, true); }

}  // namespace gem::search_internal
