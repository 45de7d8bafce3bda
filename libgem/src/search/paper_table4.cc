// Copyright the gem authors. paper_table4 (replay only): the paper's method on Table 4's query
// counts as printed, whatever the tree's size (gem/search.h, docs/CALIBRATION.md). The run's
// budget is set to the table's cost so that SearchRun's guard still checks every batch; the
// result reports the nominal B = N x K beside what was spent.
#include <string>

#include "gem/schedule.h"
#include "gem/search.h"
#include "search/elimination.h"
#include "search/search_internal.h"

namespace gem {

Status ReplayPaperTable4(const SearchOptions& options, Evaluator* evaluator, SearchResult* result) {
  if (evaluator == nullptr) return Status::InvalidArgument("paper_table4: no evaluator");
  const uint32_t k = evaluator->num_models(), q = evaluator->num_queries();
  if (k == 0 || q == 0) {
    return Status::InvalidArgument("paper_table4: the tree has no models or the task no queries");
  }
  const std::vector<RoundPlan> plan = PaperTable4Schedule(k, options.queries_per_model, q);
  if (plan.empty()) {
    return Status::InvalidArgument(
        "paper_table4: Table 4 has no row for N = " + std::to_string(options.queries_per_model),
        "its budgets are 10, 25, 50, 100, 200");
  }
  const uint64_t cost = ScheduleCost(plan);
  SearchOptions o = options;
  o.method = "paper_table4";
  o.queries_per_model = static_cast<uint32_t>(std::max<uint64_t>(
      options.queries_per_model, (cost + k - 1) / k));  // a run budget that covers the table
  *result = SearchResult();
  result->method = o.method;
  search_internal::SearchRun run(o, evaluator, result);
  GEM_RETURN_IF_ERROR(search_internal::RunElimination(
      &run, plan, search_internal::Sampling::kShared, search_internal::Scoring::kCumulative));
  result->budget = uint64_t{options.queries_per_model} * k;
  return Status::OK();
}

}  // namespace gem
