// Copyright the gem authors. paper_sh_schedule: the paper's ablation "Ours w. SH Scheduler"
// (Table 5): correlated sampling and cumulative means as in `paper`, on Karnin et al.'s halving
// schedule (HalvingSchedule) instead of the aggressive one.
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunPaperShSchedule(SearchRun* run) {
  return RunElimination(
      run, HalvingSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kShared, Scoring::kCumulative);
}

}  // namespace gem::search_internal
