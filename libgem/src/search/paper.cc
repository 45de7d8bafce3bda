// Copyright the gem authors. paper: the hidden-gems paper's method (Section 3, Appendix C):
// Sequential Halving with correlated sampling (every survivor of a round answers the same fresh
// queries) and the aggressive schedule (PaperSchedule: round 1 keeps 100 models and takes 60% of
// the budget, then halving with doubling queries). Survivors are ranked by their mean over all
// queries answered so far (Table 4 counts queries cumulatively), which under correlated sampling
// is a mean over one query set shared by every survivor.
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunPaper(SearchRun* run) {
  return RunElimination(
      run, PaperSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kShared, Scoring::kCumulative);
}

}  // namespace gem::search_internal
