// Copyright the gem authors. What every search algorithm shares: the budget, the query order,
// the evaluator calls, the trace and tie-breaking. One SearchRun per Search() call.
//
// Budget: every evaluation goes through SearchRun::Evaluate, which refuses (Status::Internal) a
// batch that would take spent past B, so no algorithm can overspend even by a bug.
//
// Queries: `order_` is a permutation of the evaluator's queries (seeded when
// SearchOptions::shuffle_queries, else the identity). Correlated methods walk it with one shared
// cursor, so every survivor of a round gets the same fresh queries. Independent methods give
// model m the stream order_[(offset_m + stride_m * j) mod Q], j = 0, 1, ...: an affine bijection
// of Z_Q per model (stride coprime to Q), so a model never repeats a query, streams of different
// models overlap about as much as independent random subsets do, and the j-th draw costs O(1)
// (docs/SEARCH.md, "Query sampling").
#ifndef GEM_SEARCH_SEARCH_INTERNAL_H_
#define GEM_SEARCH_SEARCH_INTERNAL_H_

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gem/evaluator.h"
#include "gem/search.h"
#include "gem/status.h"
#include "search/rng.h"

namespace gem::search_internal {

class SearchRun {
 public:
  SearchRun(const SearchOptions& options, Evaluator* evaluator, SearchResult* result);

  const SearchOptions& options() const { return options_; }
  uint32_t num_models() const { return k_; }
  uint32_t num_queries() const { return q_; }
  uint32_t queries_per_model() const { return options_.queries_per_model; }
  uint64_t budget() const { return budget_; }
  uint64_t spent() const { return result_->spent; }
  uint64_t remaining() const { return budget_ - result_->spent; }
  // The search's own random stream (tie-breaking and sampling draws of the algorithm).
  Rng& rng() { return rng_; }

  uint32_t pulls(uint32_t m) const { return result_->pulls[m]; }
  uint32_t wins(uint32_t m) const { return result_->wins[m]; }
  // Empirical mean (0 for an unpulled model).
  double Mean(uint32_t m) const {
    const uint32_t n = result_->pulls[m];
    return n == 0 ? 0.0 : static_cast<double>(result_->wins[m]) / n;
  }
  // A fixed random priority per model: ties between equal scores go to the higher priority, so
  // ties are broken uniformly at random yet reproducibly.
  uint32_t priority(uint32_t m) const { return priority_[m]; }
  // True when score a beats score b, ties broken by priority.
  bool Better(double sa, uint32_t a, double sb, uint32_t b) const {
    return sa != sb ? sa > sb : priority_[a] > priority_[b];
  }

  // --- Queries -------------------------------------------------------------------------------
  // The i-th query of the shared order (correlated sampling). REQUIRES: i < num_queries().
  uint32_t SharedQuery(uint32_t i) const { return order_[i]; }
  // Model m's j-th query of its own stream (independent sampling). REQUIRES: j < num_queries().
  uint32_t OwnQuery(uint32_t m, uint32_t j) const {
    const uint64_t pos = (offset_[m] + static_cast<uint64_t>(stride_[m]) * j) % q_;
    return order_[pos];
  }

  // --- Evaluation ----------------------------------------------------------------------------
  // Evaluates `requests` (their outcomes land in pulls/wins), counts them against the budget,
  // reports progress. Fails with Internal when the batch would exceed the budget, Aborted when
  // cancelled, or the evaluator's status.
  Status Evaluate(std::span<const EvalRequest> requests, uint32_t round, uint32_t survivors,
                  uint32_t leader);
  // One pull of model m on its own stream's next query (a model that has answered all queries
  // is not pulled again: returns OK and pulls nothing; callers exclude exhausted models).
  Status PullOwn(uint32_t m, uint32_t round, uint32_t survivors, uint32_t leader);
  // Up to n more queries for each model from its own stream, one batch; stops at the budget.
  Status PullOwnBatch(std::span<const uint32_t> models, uint32_t n, uint32_t round);
  // The next n queries of the shared order for every model, one batch (correlated sampling).
  // n is cut to what is left of the order and of the budget (whole rows only).
  // Returns through *given the number of queries each model got.
  Status PullSharedBatch(std::span<const uint32_t> models, uint32_t n, uint32_t round,
                         uint32_t* given);
  uint32_t shared_cursor() const { return cursor_; }
  // The outcomes of the last Evaluate batch, outcomes[i] for requests[i] (valid until the next
  // evaluation). For methods that keep per-query answers (gem's paired confidence).
  std::span<const EvalOutcome> last_outcomes() const { return out_buf_; }
  // The result being filled (for methods that report their own confidence after Choose()).
  SearchResult* result() { return result_; }
  // Evaluator::Known() for the search's evaluator (never runs a model, costs no budget).
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) {
    return evaluator_->Known(requests, known);
  }

  // --- Ranking -------------------------------------------------------------------------------
  // The `keep` best of `models` by score[m] (descending, ties by priority), in that order.
  std::vector<uint32_t> Top(std::span<const uint32_t> models, const std::vector<double>& score,
                            size_t keep) const;
  // Empirical means of all models (0 where unpulled).
  std::vector<double> Means() const;

  // --- Trace ---------------------------------------------------------------------------------
  // Records a round: survivors evaluated, new queries each got (max), spend of the round, their
  // means after it.
  void AddRound(std::vector<uint32_t> survivors, uint32_t queries_per_survivor, uint64_t spent,
                bool correlated);
  // For pull-by-pull methods: notes one pull; every num_models() pulls (and at Flush) one
  // RoundTrace summarises the block of pulls.
  void NotePull(uint32_t m);
  void FlushPulls();

  // Sets the chosen model and the confidence fields (empirical mean and Wilson interval).
  void Choose(uint32_t chosen);

 private:
  const SearchOptions& options_;
  Evaluator* evaluator_;
  SearchResult* result_;
  uint32_t k_, q_;
  uint64_t budget_;
  Rng rng_;
  std::vector<uint32_t> order_;
  std::vector<uint32_t> offset_, stride_, priority_;
  uint32_t cursor_ = 0;
  std::vector<EvalRequest> req_buf_;
  std::vector<EvalOutcome> out_buf_;
  // Pull-block trace.
  std::vector<uint32_t> block_pulls_;  // per model, pulls in the current block
  std::vector<uint32_t> block_models_;
  uint64_t block_spent_ = 0;
};

// An algorithm: runs a whole search on `run` and calls run->Choose() before returning OK.
using MethodFn = Status (*)(SearchRun* run);

// The algorithms (one .cc each).
Status RunUniform(SearchRun* run);
Status RunUcb(SearchRun* run);
Status RunUcbE(SearchRun* run);
Status RunUcbStdDev(SearchRun* run);
Status RunTtts(SearchRun* run);
Status RunSuccessiveRejects(SearchRun* run);
Status RunBayesElim(SearchRun* run);
Status RunSequentialHalving(SearchRun* run);
Status RunPaper(SearchRun* run);
Status RunPaperNoCorr(SearchRun* run);
Status RunPaperShSchedule(SearchRun* run);
Status RunPaperShRound(SearchRun* run);
Status RunGem(SearchRun* run);    // gem.cc (docs/GEM_METHOD.md)
Status RunGemV1(SearchRun* run);  // gem_v1.cc: the default until issue 15

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_SEARCH_INTERNAL_H_
