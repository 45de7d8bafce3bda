// Copyright the gem authors.
#include "search/elimination.h"

#include <algorithm>
#include <numeric>

namespace gem::search_internal {
namespace {

// Beta(alpha, beta) prior fitted to the models' current means by the method of moments, after
// removing the binomial noise the means carry (E[p(1-p)/n]); a weak Beta(1, 1) when the data
// cannot support a fit. Empirical Bayes: the population itself says what a typical model is.
void FitBetaPrior(SearchRun* run, double* alpha, double* beta) {
  double sum = 0, sum2 = 0, noise = 0;
  uint32_t count = 0;
  for (uint32_t m = 0; m < run->num_models(); ++m) {
    const uint32_t n = run->pulls(m);
    if (n == 0) continue;
    const double p = run->Mean(m);
    sum += p;
    sum2 += p * p;
    noise += n > 1 ? p * (1 - p) / (n - 1) : 0.25;
    ++count;
  }
  *alpha = *beta = 1;
  if (count < 2) return;
  const double mean = sum / count;
  const double var = sum2 / count - mean * mean - noise / count;
  if (mean <= 0 || mean >= 1 || var <= 1e-6) return;
  const double strength = mean * (1 - mean) / var - 1;
  if (strength <= 0) return;
  *alpha = mean * strength;
  *beta = (1 - mean) * strength;
}

}  // namespace

Status RunElimination(SearchRun* run, const std::vector<RoundPlan>& plan, Sampling sampling,
                      Scoring scoring) {
  const uint32_t k = run->num_models();
  std::vector<uint32_t> survivors(k);
  std::iota(survivors.begin(), survivors.end(), 0u);
  std::vector<double> score(k, 0.0);
  std::vector<uint32_t> pulls_before(k), wins_before(k);
  const bool correlated = sampling == Sampling::kShared;

  for (size_t r = 0; r < plan.size(); ++r) {
    if (r > 0 && plan[r].survivors < survivors.size()) {
      // Best first: the trace lists survivors in rank order, and progress reports the first as
      // the leader.
      survivors = run->Top(survivors, score, plan[r].survivors);
    }
    for (uint32_t m : survivors) {
      pulls_before[m] = run->pulls(m);
      wins_before[m] = run->wins(m);
    }
    const uint64_t spent_before = run->spent();
    const uint32_t round = static_cast<uint32_t>(r + 1);
    uint32_t given = plan[r].new_queries;
    if (correlated) {
      GEM_RETURN_IF_ERROR(run->PullSharedBatch(survivors, plan[r].new_queries, round, &given));
    } else {
      GEM_RETURN_IF_ERROR(run->PullOwnBatch(survivors, plan[r].new_queries, round));
    }
    run->AddRound(survivors, given, run->spent() - spent_before, correlated);

    double alpha = 1, beta = 1;
    if (scoring == Scoring::kPosterior) FitBetaPrior(run, &alpha, &beta);
    for (uint32_t m : survivors) {
      switch (scoring) {
        case Scoring::kCumulative:
          score[m] = run->Mean(m);
          break;
        case Scoring::kRound: {
          const uint32_t n = run->pulls(m) - pulls_before[m];
          // A model that got no new query this round (the budget ran out) keeps its old score.
          if (n > 0) score[m] = static_cast<double>(run->wins(m) - wins_before[m]) / n;
          break;
        }
        case Scoring::kPosterior:
          score[m] = (run->wins(m) + alpha) / (run->pulls(m) + alpha + beta);
          break;
      }
    }
  }
  run->Choose(run->Top(survivors, score, 1).front());
  return Status::OK();
}

}  // namespace gem::search_internal
