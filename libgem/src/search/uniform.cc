// Copyright the gem authors. uniform: every model answers N queries of its own (the budget split
// evenly, B / K = N each); the best empirical mean wins, ties broken at random.
#include <numeric>

#include "search/search_internal.h"

namespace gem::search_internal {

Status RunUniform(SearchRun* run) {
  std::vector<uint32_t> all(run->num_models());
  std::iota(all.begin(), all.end(), 0u);
  const uint64_t before = run->spent();
  GEM_RETURN_IF_ERROR(run->PullOwnBatch(all, run->queries_per_model(), 1));
  run->AddRound(all, run->queries_per_model(), run->spent() - before, false);
  run->Choose(run->Top(all, run->Means(), 1).front());
  return Status::OK();
}

}  // namespace gem::search_internal
