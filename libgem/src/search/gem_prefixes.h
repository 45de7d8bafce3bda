// Copyright the gem authors. gem: every model answers a prefix of one shared query sequence.
//
// The `gem` search (gem.cc) samples correlated: the queries it asks form one sequence, built as
// the search goes (PickSharedQueries chooses each new entry, cached queries first in gemd), and
// every model has answered a prefix of it. Models may stand at different lengths (one round's
// survivors all reach the same length; a cut's undecided models may go further), so any two
// models are compared on the prefix both answered: a paired comparison on identical queries,
// whose noise is only the queries on which the two disagree.
//
// Thread-safety: one per search, used by that search's thread only.
#ifndef GEM_SEARCH_GEM_PREFIXES_H_
#define GEM_SEARCH_GEM_PREFIXES_H_

#include <cstdint>
#include <span>
#include <vector>

#include "gem/status.h"
#include "search/gem.h"
#include "search/search_internal.h"

namespace gem::search_internal {

class SharedPrefixes {
 public:
  // `prefer_known`: new sequence entries prefer queries the evaluator already knows (gemd).
  SharedPrefixes(SearchRun* run, bool prefer_known);

  // How far model m got in the sequence.
  uint32_t len(uint32_t m) const { return static_cast<uint32_t>(answers_.answers[m].size()); }
  // Correct answers of m in its first p positions. REQUIRES: p <= len(m).
  uint32_t Wins(uint32_t m, uint32_t p) const { return wins_[m][p]; }
  // Positions < p on which a and b answered differently. REQUIRES: p <= len(a), len(b).
  uint32_t Discordant(uint32_t a, uint32_t b, uint32_t p) const;
  // The shortest prefix among `models` (what all of them answered).
  uint32_t CommonLen(std::span<const uint32_t> models) const;

  // Evaluations that taking every one of `models` to length `target` costs (capped at Q).
  uint64_t CostTo(std::span<const uint32_t> models, uint32_t target) const;
  // Takes every one of `models` to length min(target, Q) in one evaluator batch, the sequence
  // growing as needed. When the budget cannot pay for that, the target is lowered to what it
  // can pay for (the same for every model). Records a RoundTrace for the batch.
  Status ExtendTo(std::span<const uint32_t> models, uint32_t target, uint32_t round);

  // Every model's answers (for EstimateConfidence).
  const GemAnswers& answers() const { return answers_; }

 private:
  SearchRun* run_;
  bool prefer_known_;
  std::vector<uint32_t> seq_;   // the sequence: query ids
  std::vector<uint8_t> taken_;  // positions of the run's order already in seq_
  uint32_t scan_from_ = 0;
  GemAnswers answers_;                       // answers[m][i]: m's grade at sequence position i
  std::vector<std::vector<uint32_t>> wins_;  // wins_[m][p]: correct answers in the first p
  std::vector<uint32_t> fresh_;
  std::vector<EvalRequest> req_;
};

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_GEM_PREFIXES_H_
