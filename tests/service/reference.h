// Copyright the gem authors. The same search gemd runs, run directly through libgem, as the
// tests' reference: docs/GEMD.md's replay recipe (ParseTreeCsv with the task's column and
// diameter_pt popularity, SimulatePopulation with the tree's queries, sim_seed and agreement;
// Search with shuffle_queries = false and the tree's popularity).
#ifndef GEM_TESTS_SERVICE_REFERENCE_H_
#define GEM_TESTS_SERVICE_REFERENCE_H_

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gem/population.h"
#include "gem/search.h"
#include "search/test_util.h"  // RecordingEvaluator

namespace gem::testing {

struct Reference {
  SearchResult result;
  std::vector<std::pair<uint32_t, uint32_t>> asked;  // every (model, query) asked, in order
  std::set<std::pair<uint32_t, uint32_t>> distinct() const { return {asked.begin(), asked.end()}; }
};

inline Reference DirectSearch(const std::string& csv_path, const std::string& column,
                              uint32_t queries, uint64_t sim_seed, double agreement,
                              const std::string& method, uint32_t n, uint64_t seed) {
  std::ifstream in(csv_path);
  std::stringstream text;
  text << in.rdbuf();
  TreeCsvOptions topt;
  topt.metric = column;
  topt.popularity_column = "diameter_pt";
  auto table = ParseTreeCsv(text.str(), topt, "tree");
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  SimulationOptions so;
  so.num_queries = queries;
  so.seed = sim_seed;
  so.agreement = agreement;
  auto pop = SimulatePopulation(*table, so);
  EXPECT_TRUE(pop.ok()) << pop.status().ToString();
  MatrixEvaluator matrix(pop->matrix, /*replay_record=*/false);
  RecordingEvaluator rec(&matrix);
  SearchOptions opt;
  opt.method = method;
  opt.queries_per_model = n;
  opt.seed = seed;
  opt.shuffle_queries = false;
  opt.popularity = table->popularity;
  Reference ref;
  Status st = Search(opt, &rec, &ref.result);
  EXPECT_TRUE(st.ok()) << st.ToString();
  for (const auto& batch : rec.batches) {
    for (const EvalRequest& r : batch) ref.asked.push_back({r.model, r.query});
  }
  return ref;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_SERVICE_REFERENCE_H_
