// Copyright the gem authors. bayes_elim: Bayesian elimination, after Atsidakou, Katariya,
// Sanghavi, Kveton, "Bayesian fixed-budget best-arm identification" (2022).
//
// Sequential-halving rounds (same budget split as sequential_halving) but survivors are ranked
// by their posterior mean given every query answered so far, under a Beta prior. The paper
// assumes the prior is known; we fit it to the population by the method of moments after each
// round (empirical Bayes, docs/SEARCH.md). With a shared prior and equal counts the posterior
// order is the order of cumulative means: what separates this method from Karnin's halving is
// that it never throws earlier rounds' evidence away.
#include "gem/schedule.h"
#include "search/elimination.h"

namespace gem::search_internal {

Status RunBayesElim(SearchRun* run) {
  return RunElimination(
      run, HalvingSchedule(run->num_models(), run->queries_per_model(), run->num_queries()),
      Sampling::kIndependent, Scoring::kPosterior);
}

}  // namespace gem::search_internal
