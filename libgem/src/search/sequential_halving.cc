// Copyright the gem authors. sequential_halving: Karnin, Koren, Somekh (ICML 2013), Algorithm 1.
//
// ceil(log2 K) rounds; each survivor gets floor(B_r / (|S_r| ceil(log2 K))) fresh queries of its
// own (independent sampling); the better half by that round's mean goes on. Karnin et al. rank
// by the round's samples only, and so do we: this is the baseline as published. (Reusing every
// round's samples is what bayes_elim does, and what the paper's variants do.)
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunSequentialHalving(SearchRun* run) {
  return RunElimination(
      run, HalvingSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kIndependent, Scoring::kRound);
}

}  // namespace gem::search_internal
