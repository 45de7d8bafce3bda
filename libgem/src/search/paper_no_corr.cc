// Copyright the gem authors. paper_no_corr: the paper's ablation "Ours w/o Corr. Sampling"
// (Table 5): the aggressive schedule of `paper`, but each model answers its own queries.
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunPaperNoCorr(SearchRun* run) {
  return RunElimination(
      run, PaperSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kIndependent, Scoring::kCumulative);
}

}  // namespace gem::search_internal
