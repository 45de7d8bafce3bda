// Copyright the gem authors. The `gem` search method (docs/GEM_METHOD.md): correlated sampling on
// one shared query sequence, sequential halving down to two finalists that never leaves to a coin
// the models level with the leader when the budget can afford them, an exact finish when the
// budget can take the survivors through every query, queries already cached preferred, and an
// honest report of how sure the choice is.
//
// Units: gem.cc (the search), gem_prefixes.cc (the shared sequence and each model's prefix of
// it), gem_queries.cc (which new queries the sequence takes: cached ones first),
// gem_confidence.cc (estimate, interval, P(best), P(top 3)). gem_v1.cc is the first version of
// the method, kept under its own name.
#ifndef GEM_SEARCH_GEM_H_
#define GEM_SEARCH_GEM_H_

#include <cstdint>
#include <span>
#include <vector>

#include "gem/status.h"
#include "search/search_internal.h"

namespace gem::search_internal {

// The constants of the method. One set for every tree; a few depend on N (the budget per model,
// known to every search), none on the tree. docs/GEM_METHOD.md says why each has its value, on
// which trees and seeds it was chosen and what else was measured (bench/search_families/gem_tune
// sets them; the exploratory ones it measured are in the commit before they were removed).
struct GemParams {
  // Halving: each round keeps ceil(S / eta) of its S survivors, down to `finalists`, who share
  // what is left of the budget.
  uint32_t finalists = 2;
  double eta = 2;
  // Every round gets an equal share of what is left (B_left / rounds to go); round 1 gives every
  // model at least min(first_round_min, max(1, floor(first_round_min_frac x N)), N) queries.
  uint32_t first_round_min = 3;
  double first_round_min_frac = 0.125;
  // A cut also keeps every survivor tied with the leader on the prefix they share (protect_z = 0;
  // a margin of protect_z paired standard errors when positive; never when negative), as long as
  // that keeps at most a fraction `cap` of the survivors, where cap is 0.5 (a plain halving) at
  // N <= protect_from_n, protect_cap at N >= protect_full_n and linear in log N between.
  double protect_z = 0;
  double protect_cap = 0.8;
  double protect_from_n = 10, protect_full_n = 25;
  // When the budget left can take at least as many survivors as the cut would keep through every
  // query of the task, it takes as many as it can (the best first) and compares them exactly.
  bool exhaustive_finish = true;
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
