// Copyright the gem authors. gem_v1: the project's first default search (issue 3), kept under this
// name so that its replay figures stay reproducible (docs/GEM_METHOD.md, "gem_v1"). The default
// `gem` (gem.cc) replaced it.
//
// Correlated sampling as in the paper (every survivor of a round answers the same fresh queries,
// survivors ranked by their mean over everything answered so far, so two survivors are always
// compared on identical queries), on a different schedule:
//   - the survivors halve each round (ceil(S / 2)) from all K models down to `finalists` (3),
//     rather than a fixed cut to 100 and a stop at 12;
//   - every round, the first included, gets an equal share of what is left of the budget
//     (Karnin et al.'s rule; rounding leftovers roll forward), rather than 60% for round 1; the
//     last round is the finalists' and takes all that is left;
//   - the choice is the finalist with the best mean; EstimateConfidence (gem_confidence.cc)
//     reports its accuracy with a 95% interval, P(best) and P(top 3).
// Why these constants, and what else was tried and measured: docs/GEM_METHOD.md.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/gem.h"
#include "search/rng.h"

namespace gem::search_internal {
namespace {

constexpr uint64_t kStreamConfidence = 21;

// gem_v1's constants, frozen (docs/GEM_METHOD.md says why each had its value).
struct GemV1Params {
  uint32_t finalists = 3;        // halve until this many remain; the last round is theirs
  uint32_t first_round_min = 3;  // round 1 gives every model at least min(N, this) queries
  uint32_t confidence_draws = 256;
};

// How many rounds a field of `s` survivors still needs, its own included, halving to `finalists`.
uint32_t RoundsLeft(uint32_t s, uint32_t finalists) {
  uint32_t r = 1;
  while (s > finalists) {
    s = std::max(finalists, (s + 1) / 2);
    ++r;
  }
  return r;
}

}  // namespace

Status RunGemV1(SearchRun* run) {
  const GemV1Params params;
  const uint32_t k = run->num_models(), q = run->num_queries();
  const uint32_t finalists = std::max<uint32_t>(1, params.finalists);
  const bool prefer_known = !run->options().shuffle_queries;

  std::vector<uint32_t> survivors(k);
  std::iota(survivors.begin(), survivors.end(), 0u);
  GemAnswers ans;
  ans.answers.resize(k);
  std::vector<uint8_t> taken(q, 0);
  uint32_t scan_from = 0, len = 0;  // len: length of the shared sequence so far
  std::vector<uint32_t> queries;
  std::vector<EvalRequest> req;

  // Every round, the first included, gets an equal share of what is left of the budget.
  // Round 1 gets at least min(N, first_round_min) queries: a cut on one or two queries is
  // mostly a coin toss among ties (docs/GEM_METHOD.md, constants).
  uint64_t n = std::max<uint64_t>(std::min(run->queries_per_model(), params.first_round_min),
                                  run->remaining() / RoundsLeft(k, finalists) / k);
  for (uint32_t round = 1;; ++round) {
    const uint32_t s = static_cast<uint32_t>(survivors.size());
    const bool final_round = s <= finalists;
    if (final_round) n = run->remaining() / s;
    n = std::min<uint64_t>({n, q - len, run->remaining() / s});
    if (n == 0) break;

    GEM_RETURN_IF_ERROR(PickSharedQueries(run, survivors, static_cast<uint32_t>(n), prefer_known,
                                          &taken, &scan_from, &queries));
    req.clear();
    for (uint32_t m : survivors) {
      for (uint32_t qq : queries) req.push_back({m, qq});
    }
    const uint64_t before = run->spent();
    GEM_RETURN_IF_ERROR(run->Evaluate(req, round, s, survivors.front()));
    const auto outcomes = run->last_outcomes();
    for (size_t i = 0; i < req.size(); ++i)
      ans.answers[req[i].model].push_back(outcomes[i].correct);
    len += static_cast<uint32_t>(queries.size());
    run->AddRound(survivors, static_cast<uint32_t>(queries.size()), run->spent() - before, true);
    if (final_round) break;

    // The cut: the better half (ties at random by the run's priorities), never below the
    // finalists.
    const std::vector<double> means = run->Means();
    const uint32_t keep = std::max(finalists, (s + 1) / 2);
    survivors = run->Top(survivors, means, keep);
    std::sort(survivors.begin(), survivors.end());
    // Equal shares of what is left for each remaining round.
    const uint32_t rounds_left = RoundsLeft(keep, finalists);
    n = std::max<uint64_t>(1, run->remaining() / rounds_left / keep);
  }

  const uint32_t chosen = run->Top(survivors, run->Means(), 1).front();
  run->Choose(chosen);
  const GemConfidence c = EstimateConfidence(ans, chosen, q, params.confidence_draws,
                                             DeriveSeed(run->options().seed, kStreamConfidence));
  SearchResult* r = run->result();
  r->estimated_accuracy = c.estimate;
  r->ci_low = c.ci_low;
  r->ci_high = c.ci_high;
  r->p_best = c.p_best;
  r->p_top3 = c.p_top3;
  return Status::OK();
}

}  // namespace gem::search_internal
