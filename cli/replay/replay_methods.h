// Copyright the gem authors. gem-replay's rows: the registered search methods, and rows that
// exist only in a replay (docs/SEARCH.md, "gem-replay"):
//   paper_table4    the paper's method on Table 4's query counts as printed: it overspends
//                   B = N x K on trees smaller than about 780 models, which its spend column
//                   shows (gem::ReplayPaperTable4);
//   METHOD@table4   METHOD given the budget paper_table4 actually spends at that N and tree
//                   (N' = floor(Table 4's cost / K)): the two compared at equal spend.
// Both exist only at Table 4's budgets (10, 25, 50, 100, 200).
//
// Thread-safety: plain functions of their arguments.
#ifndef GEM_CLI_REPLAY_REPLAY_METHODS_H_
#define GEM_CLI_REPLAY_REPLAY_METHODS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/evaluator.h"
#include "gem/search.h"
#include "gem/status.h"

namespace gem::replay {

struct ReplayMethod {
  enum class Kind { kSearch, kTable4, kAtTable4Spend };
  std::string name;    // as the rows show it
  std::string search;  // the registered method that runs (empty for kTable4)
  Kind kind = Kind::kSearch;
};

// Parses one --methods entry; InvalidArgument naming the known methods when it is none.
Status ParseReplayMethod(const std::string& name, ReplayMethod* out);
// The rows `--methods all` adds after the registered methods.
std::vector<std::string> ReplayOnlyMethods();
// Whether the row has a cell at budget N (the Table 4 rows only at Table 4's budgets).
bool HasBudget(const ReplayMethod& method, uint32_t n);
// Runs one search of the row with `options` (its queries_per_model is the cell's N).
Status RunReplayMethod(const ReplayMethod& method, SearchOptions options, Evaluator* evaluator,
                       SearchResult* result);

}  // namespace gem::replay

#endif  // GEM_CLI_REPLAY_REPLAY_METHODS_H_
