// Copyright the gem authors.
#include "replay_methods.h"

#include <algorithm>

#include "gem/schedule.h"

namespace gem::replay {
namespace {

constexpr const char* kTable4 = "paper_table4";
constexpr const char* kAtTable4 = "@table4";

bool IsSearchMethod(const std::string& name) {
  const std::vector<std::string> known = SearchMethods();
  return std::find(known.begin(), known.end(), name) != known.end();
}

}  // namespace

Status ParseReplayMethod(const std::string& name, ReplayMethod* out) {
  *out = ReplayMethod();
  out->name = name;
  const size_t at = name.size() >= 7 ? name.size() - 7 : std::string::npos;
  if (name == kTable4) {
    out->kind = ReplayMethod::Kind::kTable4;
    return Status::OK();
  }
  if (at != std::string::npos && at > 0 && name.compare(at, 7, kAtTable4) == 0 &&
      IsSearchMethod(name.substr(0, at))) {
    out->kind = ReplayMethod::Kind::kAtTable4Spend;
    out->search = name.substr(0, at);
    return Status::OK();
  }
  if (IsSearchMethod(name)) {
    out->search = name;
    return Status::OK();
  }
  std::string known;
  for (const std::string& m : SearchMethods()) known += m + ", ";
  return Status::InvalidArgument(
      "unknown method \"" + name + "\"",
      "known: " + known + kTable4 + ", METHOD@table4 (METHOD at paper_table4's spend), or all");
}

std::vector<std::string> ReplayOnlyMethods() { return {kTable4}; }

bool HasBudget(const ReplayMethod& method, uint32_t n) {
  if (method.kind == ReplayMethod::Kind::kSearch) return true;
  return !PaperTable4Schedule(1000, n).empty();
}

Status RunReplayMethod(const ReplayMethod& method, SearchOptions options, Evaluator* evaluator,
                       SearchResult* result) {
  switch (method.kind) {
    case ReplayMethod::Kind::kTable4:
      return ReplayPaperTable4(options, evaluator, result);
    case ReplayMethod::Kind::kAtTable4Spend: {
      const uint32_t k = evaluator->num_models();
      const uint64_t cost =
          ScheduleCost(PaperTable4Schedule(k, options.queries_per_model, evaluator->num_queries()));
      if (cost == 0) {
        return Status::InvalidArgument(method.name + ": Table 4 has no row for N = " +
                                       std::to_string(options.queries_per_model));
      }
      // Never more than the table spends, so the comparison cannot favour this row.
      options.queries_per_model = static_cast<uint32_t>(std::max<uint64_t>(1, cost / k));
      options.method = method.search;
      GEM_RETURN_IF_ERROR(Search(options, evaluator, result));
      return Status::OK();
    }
    case ReplayMethod::Kind::kSearch:
      break;
  }
  options.method = method.search;
  return Search(options, evaluator, result);
}

}  // namespace gem::replay
