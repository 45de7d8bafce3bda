// Copyright the gem authors. Search(): validation and dispatch through the method registry.
//
// Adding a method: write its .cc (a Status Run...(SearchRun*)), declare it in search_internal.h
// and add one line to kMethods below. SearchMethods() lists the registry in this order.
#include "gem/search.h"

#include <cmath>
#include <string>
#include <vector>

#include "search/search_internal.h"

namespace gem {
namespace {

using search_internal::MethodFn;

struct Method {
  const char* name;
  MethodFn run;
};

constexpr Method kMethods[] = {
    {"uniform", &search_internal::RunUniform},
    {"ucb", &search_internal::RunUcb},
    {"ucb_e", &search_internal::RunUcbE},
    {"ucb_stddev", &search_internal::RunUcbStdDev},
    {"ttts", &search_internal::RunTtts},
    {"successive_rejects", &search_internal::RunSuccessiveRejects},
    {"bayes_elim", &search_internal::RunBayesElim},
    {"sequential_halving", &search_internal::RunSequentialHalving},
    {"paper", &search_internal::RunPaper},
    {"paper_no_corr", &search_internal::RunPaperNoCorr},
    {"paper_sh_schedule", &search_internal::RunPaperShSchedule},
    {"paper_sh_round", &search_internal::RunPaperShRound},
    {"gem", &search_internal::RunGem},
    {"gem_v1", &search_internal::RunGemV1},
};

}  // namespace

std::vector<std::string> SearchMethods() {
  std::vector<std::string> names;
  for (const Method& m : kMethods) names.emplace_back(m.name);
  return names;
}

namespace {

// Names that were given to a new algorithm: `name` at revisions 1 .. size() ran `runs[r - 1]`.
// The last entry is the current meaning. Append here (never edit an entry) when a name moves.
struct Renamed {
  const char* name;
  std::vector<const char*> runs;
};
const std::vector<Renamed>& RenamedMethods() {
  static const std::vector<Renamed> renamed = {
      {"gem", {"gem_v1", "gem"}},  // issue 15: the adaptive default took the name
  };
  return renamed;
}

bool Registered(const std::string& method) {
  for (const Method& m : kMethods) {
    if (method == m.name) return true;
  }
  return false;
}

}  // namespace

uint32_t SearchMethodRevision(const std::string& method) {
  if (!Registered(method)) return 0;
  for (const Renamed& r : RenamedMethods()) {
    if (method == r.name) return static_cast<uint32_t>(r.runs.size());
  }
  return 1;
}

Result<std::string> ResolveSearchMethod(const std::string& method, uint32_t revision) {
  const uint32_t current = SearchMethodRevision(method);
  if (current == 0) {
    return Status::InvalidArgument("unknown search method \"" + method + "\"");
  }
  if (revision > current) {
    return Status::InvalidArgument(
        "search method \"" + method + "\" revision " + std::to_string(revision),
        "unknown to this build (its revision is " + std::to_string(current) +
            "): the search was recorded by a newer build");
  }
  for (const Renamed& r : RenamedMethods()) {
    if (method == r.name) return std::string(r.runs[revision == 0 ? 0 : revision - 1]);
  }
  return method;
}

Status Search(const SearchOptions& options, Evaluator* evaluator, SearchResult* result) {
  const Method* method = nullptr;
  for (const Method& m : kMethods) {
    if (options.method == m.name) method = &m;
  }
  if (method == nullptr) {
    std::string known;
    for (const Method& m : kMethods) known += (known.empty() ? "" : ", ") + std::string(m.name);
    return Status::InvalidArgument("unknown search method \"" + options.method + "\"",
                                   "known: " + known);
  }
  if (evaluator == nullptr) return Status::InvalidArgument("search: no evaluator");
  if (options.queries_per_model == 0) {
    return Status::InvalidArgument("search: queries_per_model must be >= 1");
  }
  if (evaluator->num_models() == 0)
    return Status::InvalidArgument("search: the tree has no models");
  if (evaluator->num_queries() == 0)
    return Status::InvalidArgument("search: the task has no queries");
  if (!options.popularity.empty() && options.popularity.size() != evaluator->num_models()) {
    return Status::InvalidArgument("search: popularity has " +
                                   std::to_string(options.popularity.size()) + " entries for " +
                                   std::to_string(evaluator->num_models()) + " models");
  }
  *result = SearchResult();
  result->method = method->name;
  search_internal::SearchRun run(options, evaluator, result);
  GEM_RETURN_IF_ERROR(method->run(&run));
  return Status::OK();
}

}  // namespace gem
