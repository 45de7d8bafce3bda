// Copyright the gem authors. The `gem` search method (docs/GEM_METHOD.md): correlated sampling,
// sequential halving down to a few finalists, queries already cached preferred, and an honest
// report of how sure the choice is.
//
// Units: gem.cc (the search), gem_queries.cc (which shared queries a round takes: cached ones
// first), gem_confidence.cc (estimate, interval, P(best), P(top 3)).
#ifndef GEM_SEARCH_GEM_H_
#define GEM_SEARCH_GEM_H_

#include <cstdint>
#include <span>
#include <vector>

#include "gem/status.h"
#include "search/search_internal.h"

namespace gem::search_internal {

// The constants of the method. One set for every tree: docs/GEM_METHOD.md says why each has its
// value and what else was measured.
struct GemParams {
  // The search divides its survivors by `eta` each round until `finalists` remain.
  uint32_t finalists = 3;
  double eta = 2;
  // The cut after round 1 divides the field by eta_first (eta when 0).
  double eta_first = 0;
  // Round 1 gives every model at least min(N, this) queries, however many rounds follow.
  uint32_t first_round_min = 3;
  // ... but never more than max(1, floor(first_round_min_frac x N)) (0: no such limit).
  double first_round_min_frac = 0;
  // Round shares grow by this factor from one round to the next (1: equal shares of what is left).
  double share_growth = 1;
  // The finalists' round weighs this many ordinary rounds when a round's share is computed.
  double final_weight = 1;
  // When set, round 1 takes an equal share (1 / rounds) and the growth applies from round 2 on.
  bool growth_after_first = false;
  // Round 1's share of the budget: max(this, 1 / rounds) (equal shares when 0).
  double first_round_share = 0;
  // A round's share is spent in sub_steps batches; after each, a survivor whose deficit to the
  // leader exceeds elim_z paired standard errors stops (0: never).
  uint32_t sub_steps = 1;
  double elim_z = 0;
  // The cut's undecided models (tied with the model at the cut, or within band_z paired standard
  // errors of it) answer more shared queries, playoff_chunk at a time (at least min(N, 3)), up to
  // playoff_rounds times and playoff_share of the round's own spend, before the cut is made.
  double band_z = 0;
  uint32_t playoff_rounds = 0;
  double playoff_chunk = 1;  // in units of the round's new queries per model
  double playoff_share = 0.5;
  // A cut keeps every survivor within protect_z paired standard errors of the leader (exact ties
  // with the leader at 0; off when negative), up to protect_cap of the survivors.
  double protect_z = -1;
  double protect_cap = 0.67;
  // When protect_full_n > 0 the cap depends on N: none (0.5, a plain halving) at N <=
  // protect_from_n, protect_cap at N >= protect_full_n, in between linear in log N.
  double protect_from_n = 0, protect_full_n = 0;
  // When the budget left can take the survivors the cut would keep (or more) through every query
  // of the task, it does: they are compared exactly.
  bool exhaustive_finish = false;
  // The finalists' stage runs in final_chunks batches; after each, a finalist whose deficit to
  // the leader exceeds final_drop_z paired standard errors stops (0: never).
  uint32_t final_chunks = 1;
  double final_drop_z = 0;
  // Experimental: pure successive elimination. Every step all survivors answer
  // max(se_chunk_min, se_chunk_frac * length) more shared queries; a survivor stops when its
  // deficit to the leader exceeds elim_z sqrt(discordant) + elim_c. No forced cuts.
  bool se_mode = false;
  double elim_c = 0;
  uint32_t se_chunk_min = 2;
  double se_chunk_frac = 0.25;
  // Monte Carlo draws of the Bayesian bootstrap behind P(best) and P(top 3).
  uint32_t confidence_draws = 256;
};

// The search with explicit constants (RunGem uses the defaults). For tuning benches.
Status RunGemWithParams(SearchRun* run, const GemParams& params);

// What a search knows at its end, in the form the confidence estimate needs: the shared query
// sequence every model answered a prefix of (correlated sampling), and each model's answers on
// its prefix (answers[m][i] is model m's grade on sequence position i; answers[m].size() is how
// far it got before it was eliminated).
struct GemAnswers {
  std::vector<std::vector<uint8_t>> answers;  // per model
};

struct GemConfidence {
  double estimate = 0, ci_low = 0, ci_high = 1, p_best = 0, p_top3 = 0;
};

// The chosen model's accuracy (its mean on its answers) with a 95% Wilson interval under a
// finite-population correction (the task has `num_queries` queries; a model that answered all of
// them is known exactly), and P(best), P(top 3) from a Bayesian bootstrap over the shared queries
// of the paired differences to the chosen model (every model, eliminated ones included, compared
// on the prefix it shares with the chosen one). Deterministic in `seed`.
// REQUIRES: chosen < answers.size(); the chosen model's prefix is the longest.
GemConfidence EstimateConfidence(const GemAnswers& a, uint32_t chosen, uint32_t num_queries,
                                 uint32_t draws, uint64_t seed);

// Picks `n` fresh shared queries for `survivors` from the sequence positions not yet `taken`
// (positions index run->SharedQuery()): in the order of those positions, except that when
// `prefer_known` the queries the evaluator already knows for the most survivors come first
// (gemd: cached answers cost no GPU time). Marks the chosen positions taken and returns the query
// ids in *out. `*scan_from` is the first position that may be untaken (advanced here).
Status PickSharedQueries(SearchRun* run, std::span<const uint32_t> survivors, uint32_t n,
                         bool prefer_known, std::vector<uint8_t>* taken, uint32_t* scan_from,
                         std::vector<uint32_t>* out);

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_GEM_H_
