// Copyright the gem authors.
#include "search/index_policy.h"

#include <numeric>

namespace gem::search_internal {

Status RunIndexPolicy(SearchRun* run, IndexFn index, bool depends_on_t) {
  const uint32_t k = run->num_models(), q = run->num_queries();
  std::vector<uint32_t> all(k);
  std::iota(all.begin(), all.end(), 0u);
  // Round 1 of the trace: one pull each (initialisation, as UCB1 prescribes).
  const uint64_t before = run->spent();
  GEM_RETURN_IF_ERROR(run->PullOwnBatch(all, 1, 1));
  run->AddRound(all, 1, run->spent() - before, false);

  std::vector<uint32_t> prio(k);
  for (uint32_t m = 0; m < k; ++m) prio[m] = run->priority(m);
  ArgmaxTree tree(prio);
  constexpr double kRetired = -std::numeric_limits<double>::infinity();
  double t = static_cast<double>(run->spent());
  double t_ref = t, log_t = std::log(std::max(t, 2.0));
  auto value = [&](uint32_t m) {
    const uint32_t n = run->pulls(m);
    return (n == 0 || n >= q) ? kRetired : index(*run, m, log_t);
  };
  tree.SetAll(value);
  uint32_t leader = 0;
  while (run->remaining() > 0) {
    if (depends_on_t && t > t_ref * 1.05) {
      t_ref = t;
      log_t = std::log(t);
      tree.SetAll(value);
    }
    const uint32_t m = tree.Best();
    if (tree.BestValue() == kRetired) break;  // every arm answered every query
    GEM_RETURN_IF_ERROR(run->PullOwn(m, 0, k, leader));
    if (run->pulls(m) > run->pulls(leader)) leader = m;  // progress: the most-pulled so far
    t += 1;
    tree.Set(m, value(m));
  }
  uint32_t best = 0;
  for (uint32_t m = 1; m < k; ++m) {
    if (run->pulls(m) != run->pulls(best)) {
      if (run->pulls(m) > run->pulls(best)) best = m;
    } else if (run->Better(run->Mean(m), m, run->Mean(best), best)) {
      best = m;
    }
  }
  run->Choose(best);
  return Status::OK();
}

}  // namespace gem::search_internal
