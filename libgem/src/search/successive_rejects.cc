// Copyright the gem authors. successive_rejects: Audibert, Bubeck (COLT 2010), Successive Rejects.
//
// K - 1 phases; after phase k the arm of lowest empirical mean (ties at random) is rejected.
// Each surviving arm has been pulled n_k = ceil((B - K) / (logbar(K) (K + 1 - k))) times by the
// end of phase k, logbar(K) = 1/2 + sum_{i=2..K} 1/i; the schedule spends at most B. What the
// ceilings leave unspent goes to the two arms of the last phase (equal shares), which only
// sharpens the final comparison. Each model answers its own queries.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/search_internal.h"

namespace gem::search_internal {

Status RunSuccessiveRejects(SearchRun* run) {
  const uint32_t k = run->num_models();
  std::vector<uint32_t> alive(k);
  std::iota(alive.begin(), alive.end(), 0u);
  if (k == 1) {
    GEM_RETURN_IF_ERROR(run->PullOwnBatch(alive, run->queries_per_model(), 1));
    run->AddRound(alive, run->queries_per_model(), run->spent(), false);
    run->Choose(0);
    return Status::OK();
  }
  double logbar = 0.5;
  for (uint32_t i = 2; i <= k; ++i) logbar += 1.0 / i;
  const double spread = static_cast<double>(run->budget()) - k;
  uint64_t prev = 0;
  for (uint32_t phase = 1; phase < k; ++phase) {
    uint64_t target = static_cast<uint64_t>(std::ceil(spread / (logbar * (k + 1 - phase))));
    if (phase == k - 1) {
      target = std::max<uint64_t>(target, run->pulls(alive[0]) + run->remaining() / alive.size());
    }
    const uint64_t before = run->spent();
    const uint32_t add = static_cast<uint32_t>(target > prev ? target - prev : 0);
    GEM_RETURN_IF_ERROR(run->PullOwnBatch(alive, add, phase));
    run->AddRound(alive, add, run->spent() - before, false);
    prev = std::max(prev, target);
    // Reject the worst: lowest mean, ties to the lowest priority.
    size_t worst = 0;
    for (size_t i = 1; i < alive.size(); ++i) {
      if (run->Better(run->Mean(alive[worst]), alive[worst], run->Mean(alive[i]), alive[i])) {
        worst = i;
      }
    }
    alive.erase(alive.begin() + static_cast<ptrdiff_t>(worst));
  }
  run->Choose(alive.front());
  return Status::OK();
}

}  // namespace gem::search_internal
