// Copyright the gem authors. Search: find the best model of a tree under a query budget.
//
// A search runs one algorithm ("method") against an Evaluator with a budget of exactly
// B = queries_per_model x num_models query evaluations, never more. It is reproducible: the same
// options (seed included) and the same evaluator answers give the same result, bit for bit.
//
// Methods (docs/SEARCH.md documents each, with every choice its paper leaves open):
//   uniform, ucb, ucb_e, ucb_stddev, ttts, successive_rejects, bayes_elim, sequential_halving,
//   paper (correlated sampling + aggressive schedule), paper_no_corr, paper_sh_schedule,
//   paper_sh_round, gem (the default), gem_v1 (the default until issue 15).
//
// Thread-safety: Search() is reentrant; concurrent searches must use distinct evaluators.
#ifndef GEM_SEARCH_H_
#define GEM_SEARCH_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gem/evaluator.h"
#include "gem/status.h"

namespace gem {

// The method gemd, gemctl and gem-replay use when none is named.
inline constexpr const char* kDefaultSearchMethod = "gem";  // docs/GEM_METHOD.md

struct SearchProgress {
  uint64_t spent = 0;      // query evaluations so far
  uint64_t budget = 0;     // B
  uint32_t round = 0;      // current round (1-based; 0 for methods without rounds)
  uint32_t survivors = 0;  // models still in contention
  uint32_t leader = 0;     // current best guess
};

struct SearchOptions {
  // Algorithm name (see above). Default: kDefaultSearchMethod.
  std::string method = kDefaultSearchMethod;
  // N: average queries per model; the budget is N x num_models. Must be >= 1.
  uint32_t queries_per_model = 50;
  // Every random choice of the search derives from this seed.
  uint64_t seed = 0;
  // How the search picks queries. true: it permutes the evaluator's query indices by its seed
  // (replay: each repetition sees fresh queries). false: it takes queries in the evaluator's
  // order, 0, 1, 2, ... (gemd: a task's order is already a seeded permutation, so repeated and
  // overlapping searches land on the same queries and reuse the cache). Methods that sample
  // queries per model independently document how they spread over that order.
  bool shuffle_queries = true;
  // Optional popularity per model (e.g. downloads; larger = more popular), size num_models or
  // empty. Methods that use a popularity prior say so; others ignore it.
  std::vector<double> popularity;
  // Optional: called after each evaluator batch. Must be cheap; runs on the search's thread.
  std::function<void(const SearchProgress&)> on_progress;
  // Optional: when it becomes true the search stops at the next batch with Status::Aborted.
  const std::atomic<bool>* cancel = nullptr;
};

// One round (or, for methods without rounds, one batch of pulls) of a search.
struct RoundTrace {
  uint32_t round = 0;                 // 1-based
  std::vector<uint32_t> survivors;    // models evaluated in this round
  uint32_t queries_per_survivor = 0;  // new queries each survivor got in this round (max)
  uint64_t spent = 0;                 // evaluations in this round
  std::vector<double> means;          // empirical mean of each survivor after the round
  std::vector<uint32_t> pulls;        // queries each survivor was asked so far (after the round)
  std::vector<uint32_t> wins;         // correct answers of each survivor so far
  bool correlated = false;            // every survivor answered the identical queries
};

struct SearchResult {
  std::string method;
  uint32_t chosen_model = 0;
  uint64_t budget = 0;        // B = N x K
  uint64_t spent = 0;         // <= budget
  uint64_t spent_cached = 0;  // of which answered from cache (EvalOutcome::from_cache)
  std::vector<RoundTrace> rounds;
  std::vector<uint32_t> pulls;  // per model: queries evaluated
  std::vector<uint32_t> wins;   // per model: of which correct
  // Confidence in the choice (NaN when a method does not estimate it).
  double estimated_accuracy = 0.0 / 0.0;
  double ci_low = 0.0 / 0.0, ci_high = 0.0 / 0.0;  // 95% interval on the chosen model's accuracy
  double p_best = 0.0 / 0.0;  // posterior probability the chosen model is the best
  double p_top3 = 0.0 / 0.0;  // ... that it is among the best three
};

// The budget B of a search: N queries per model on average, times the models. Every budget in
// gem (the search's, a job's, gem-replay's) is this product.
inline constexpr uint64_t SearchBudget(uint32_t queries_per_model, uint32_t num_models) {
  return uint64_t{queries_per_model} * num_models;
}

// Runs the search. On success fills *result. Fails with InvalidArgument for an unknown method,
// N == 0, an empty tree or a popularity vector of the wrong size; with the evaluator's status
// when it fails; with Aborted when cancelled (the partial trace is left in *result).
Status Search(const SearchOptions& options, Evaluator* evaluator, SearchResult* result);

// The method names Search() accepts, in a stable order.
std::vector<std::string> SearchMethods();

// Method revisions. A name may be given to a new algorithm: "gem" named gem_v1's algorithm
// (revision 1) until issue 15 and names the adaptive default since (revision 2). A search that is
// stored to be resumed or run again (gemd's jobs) records the revision of its method when it
// starts, so that it runs the algorithm it was started with, whatever the name means by then
// (docs/SEARCH.md, "Method revisions").
//
// The current revision of `method`: 1 for every name that never changed meaning, 2 for "gem".
// 0 for a name Search() does not accept.
uint32_t SearchMethodRevision(const std::string& method);
// The name Search() runs for `method` recorded at `revision`. Revision 0 means "recorded before
// revisions were kept" and is read as revision 1: a "gem" search stored then runs gem_v1. Fails
// with InvalidArgument for a name Search() does not accept or a revision this build does not know
// (a record written by a newer build).
Result<std::string> ResolveSearchMethod(const std::string& method, uint32_t revision);

// Replay only (gem-replay's `paper_table4` row): the paper's method, correlated sampling and
// cumulative means as `paper`, on Table 4's per-model query counts applied as printed
// (PaperTable4Schedule in gem/schedule.h) instead of a schedule fitted to the budget. It spends
// the table's cost, which exceeds B = N x K on trees much smaller than 780 models: result->budget
// is N x K and result->spent may be larger. A real search never exceeds its budget, so this is
// not a method Search() accepts. Seeds as in Search(): with the same seed it sees `paper`'s query
// order and tie-breaks. Fails with InvalidArgument when N is not one of Table 4's budgets (10,
// 25, 50, 100, 200) and as Search() for a bad evaluator.
Status ReplayPaperTable4(const SearchOptions& options, Evaluator* evaluator, SearchResult* result);

}  // namespace gem

#endif  // GEM_SEARCH_H_
