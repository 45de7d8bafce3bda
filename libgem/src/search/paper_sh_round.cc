// Copyright the gem authors. paper_sh_round: `paper_sh_schedule` (the paper's Table 5 ablation
// "Ours w. SH Scheduler": correlated sampling on Karnin et al.'s halving schedule) with survivors
// ranked by each round's own mean instead of the cumulative mean. Replayed, it lands much closer to
// the paper's row than the cumulative reading does (docs/CALIBRATION.md), so the paper's ablation
// may have scored per round.
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunPaperShRound(SearchRun* run) {
  return RunElimination(
      run, HalvingSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kShared, Scoring::kRound);
}

}  // namespace gem::search_internal
