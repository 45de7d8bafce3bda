// Copyright the gem authors. The executor shared by the elimination searches: it runs a round
// schedule (gem/schedule.h), sampling queries shared or per model, and eliminates by a score.
#ifndef GEM_SEARCH_ELIMINATION_H_
#define GEM_SEARCH_ELIMINATION_H_

#include <vector>

#include "gem/schedule.h"
#include "search/search_internal.h"

namespace gem::search_internal {

enum class Sampling {
  kShared,       // correlated: every survivor of a round answers the same fresh queries
  kIndependent,  // each model walks its own query stream
};

enum class Scoring {
  kCumulative,  // empirical mean over every query the model answered so far
  kRound,       // mean over the last round's queries only (Karnin et al.'s Sequential Halving)
  kPosterior,   // posterior mean under an empirical-Bayes Beta prior (Bayesian elimination)
};

// Runs `plan` round by round: before round r > 1 the plan's survivors count of the best models
// (by `scoring`, ties by the run's random priorities) go on; after the last round the best one
// is chosen. Records one RoundTrace per round.
Status RunElimination(SearchRun* run, const std::vector<RoundPlan>& plan, Sampling sampling,
                      Scoring scoring);

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_ELIMINATION_H_
