// Copyright the gem authors. Tree CSVs, the simulator, matrix CSVs, ranks and MatrixEvaluator.
#include "gem/population.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace gem {
namespace {

const std::string kTrees = std::string(GEM_SOURCE_DIR) + "/data/trees/";

TEST(TreeCsv, ReadsTheShippedTrees) {
  auto q = LoadTreeCsv(kTrees + "qwen2.5_3b.csv");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->name, "qwen2.5_3b");
  EXPECT_EQ(q->size(), 450u);
  EXPECT_EQ(q->popularity.size(), 450u);
  EXPECT_NEAR(*std::max_element(q->accuracy.begin(), q->accuracy.end()), 0.7312, 1e-9);
  EXPECT_EQ(std::accumulate(q->clipped.begin(), q->clipped.end(), 0), 237);
  auto m = LoadTreeCsv(kTrees + "mistral_7b.csv", {.metric = "gsm8k_pct"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 246u);
  EXPECT_EQ(m->metric, "gsm8k_pct");
}

TEST(TreeCsv, ErrorsNameTheLineAndTheProblem) {
  const std::string header =
      "node_id,diameter_pt,routerbench_total_pct,routerbench_total_clipped\n";
  auto missing = ParseTreeCsv("node_id,acc\n0,50\n", {}, "t.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("routerbench_total_pct"), std::string::npos);
  EXPECT_NE(missing.status().message().find("columns: node_id, acc"), std::string::npos);

  auto bad = ParseTreeCsv(header + "0,3.0,70.1,0\n1,2.0,seventy,0\n", {}, "t.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.csv:3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("seventy"), std::string::npos);

  auto range = ParseTreeCsv(header + "0,3.0,170,0\n", {}, "t.csv");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("outside [0, 100]"), std::string::npos);

  auto ragged = ParseTreeCsv(header + "0,3.0,70\n", {}, "t.csv");
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("has 3 fields, header has 4"), std::string::npos);

  EXPECT_FALSE(ParseTreeCsv(header, {}, "t.csv").ok());
  EXPECT_TRUE(LoadTreeCsv("/nonexistent/tree.csv").status().IsIOError());
}

TEST(Imputation, MatchesThePopulationMeanAndStaysBelowTheBounds) {
  auto t = LoadTreeCsv(kTrees + "qwen2.5_3b.csv");
  ASSERT_TRUE(t.ok());
  auto v = ImputeClipped(*t, 0.588);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_NEAR(std::accumulate(v->begin(), v->end(), 0.0) / v->size(), 0.588, 1e-9);
  for (size_t i = 0; i < v->size(); ++i) {
    if (t->clipped[i]) {
      EXPECT_LE((*v)[i], t->accuracy[i]);
      EXPECT_GE((*v)[i], 0.0);
    } else {
      EXPECT_EQ((*v)[i], t->accuracy[i]) << "unclipped values are exact";
    }
  }
  // A mean that needs values below zero falls back to a spread with a share at 0, still exact.
  auto low = ImputeClipped(*t, 0.40);
  ASSERT_TRUE(low.ok()) << low.status().ToString();
  EXPECT_NEAR(std::accumulate(low->begin(), low->end(), 0.0) / low->size(), 0.40, 1e-9);
  for (double x : *low) EXPECT_GE(x, 0.0);
  // Clipped values can only go down.
  auto high = ImputeClipped(*t, 0.70);
  ASSERT_FALSE(high.ok());
  EXPECT_NE(high.status().message().find("can only go down"), std::string::npos);
  // Unknown mean: the bounds stay.
  auto none = ImputeClipped(*t, NAN);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, t->accuracy);
}

// Issue 16: `--queries 4294967295` made gemd allocate until std::bad_alloc. The limits are
// checked before anything is allocated.
TEST(Simulator, HugeQueryCountsAreRefusedBeforeAllocating) {
  auto t = LoadTreeCsv(kTrees + "mistral_7b.csv");
  ASSERT_TRUE(t.ok());
  SimulationOptions o;
  o.num_queries = 4294967295u;
  auto p = SimulatePopulation(*t, o);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().IsInvalidArgument()) << p.status().ToString();
  EXPECT_NE(p.status().message().find("4294967295 exceeds the limit"), std::string::npos)
      << p.status().ToString();
  o.num_queries = kMaxSimulatedQueries;  // within the per-task limit, but 246 x 10M answers
  p = SimulatePopulation(*t, o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("simulated answers"), std::string::npos)
      << p.status().ToString();
}

TEST(Simulator, RowMeansReproduceTheAccuracies) {
  auto t = LoadTreeCsv(kTrees + "mistral_7b.csv");
  ASSERT_TRUE(t.ok());
  SimulationOptions o;
  o.population_mean = 0.431;
  auto p = SimulatePopulation(*t, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->size(), 246u);
  EXPECT_EQ(p->matrix->num_queries(), 2500u);
  double mean = 0;
  for (uint32_t m = 0; m < p->size(); ++m) {
    EXPECT_NEAR(p->accuracy[m], p->target_accuracy[m], 0.5 / 2500 + 1e-12);
    EXPECT_DOUBLE_EQ(p->accuracy[m], p->matrix->RowMean(m));
    mean += p->accuracy[m];
  }
  EXPECT_NEAR(mean / p->size(), 0.431, 0.001);
  // Deterministic in the seed; another seed gives another matrix with the same row means.
  auto again = SimulatePopulation(*t, o);
  o.seed = 5;
  auto other = SimulatePopulation(*t, o);
  ASSERT_TRUE(again.ok() && other.ok());
  bool same = true, differs = false;
  for (uint32_t m = 0; m < 246; ++m) {
    for (uint32_t q = 0; q < 2500; ++q) {
      same &= p->matrix->Get(m, q) == again->matrix->Get(m, q);
      differs |= p->matrix->Get(m, q) != other->matrix->Get(m, q);
    }
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
  EXPECT_EQ(p->accuracy, other->accuracy);
}

TEST(Simulator, AgreementControlsNestedness) {
  auto t = LoadTreeCsv(kTrees + "qwen2.5_3b.csv");
  ASSERT_TRUE(t.ok());
  // The 60 best models: the ones a search must tell apart.
  std::vector<uint32_t> top(t->size());
  std::iota(top.begin(), top.end(), 0u);
  std::sort(top.begin(), top.end(),
            [&](uint32_t a, uint32_t b) { return t->accuracy[a] > t->accuracy[b]; });
  top.resize(60);
  auto stats = [&](double agreement) {
    SimulationOptions o;
    o.agreement = agreement;
    o.population_mean = 0.588;
    auto p = SimulatePopulation(*t, o);
    EXPECT_TRUE(p.ok());
    return MeasureAgreement(*p->matrix, top);
  };
  const AgreementStats indep = stats(0.0), mid = stats(0.8),
                       dflt = stats(SimulationOptions().agreement), nested = stats(1.0);
  // Independent models agree as coin flips do.
  EXPECT_NEAR(indep.agreement, indep.agreement_independent, 0.01);
  EXPECT_NEAR(indep.phi, 0.0, 0.02);
  // More agreement, more nesting; agreement 1 is exactly nested.
  EXPECT_LT(indep.nestedness, mid.nestedness);
  EXPECT_LT(mid.nestedness, dflt.nestedness);
  EXPECT_GT(dflt.nestedness, 0.97) << "fine-tunes of one base: close to nested";
  EXPECT_LT(dflt.disagreement, 0.06);
  EXPECT_NEAR(nested.nestedness, 1.0, 1e-12);
  EXPECT_EQ(MeasureAgreement(*SimulatePopulation(*t, {}).value().matrix, top).pairs, 60u * 59 / 2);
}

TEST(MatrixCsv, ReadsHeaderIdsAndPopularity) {
  auto p = ParseMatrixCsv("model,popularity,q1,q2,q3\na,10,1,0,1\nb,2,0,0,1\n", "m");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->size(), 2u);
  EXPECT_EQ(p->matrix->num_queries(), 3u);
  EXPECT_EQ(p->model_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p->popularity, (std::vector<double>{10, 2}));
  EXPECT_NEAR(p->accuracy[0], 2.0 / 3, 1e-12);
  EXPECT_TRUE(p->matrix->Get(1, 2));
  EXPECT_FALSE(p->matrix->Get(1, 0));
  auto bare = ParseMatrixCsv("1,0,1,1\n0,0,0,1\n# comment\n\n1,1,1,1\n", "m");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->size(), 3u);
  EXPECT_TRUE(bare->popularity.empty());
  EXPECT_DOUBLE_EQ(bare->accuracy[2], 1.0);
}

TEST(MatrixCsv, ErrorsNameLineAndColumn) {
  auto cell = ParseMatrixCsv("model,q1,q2\na,1,0\nb,1,2\n", "m.csv");
  ASSERT_FALSE(cell.ok());
  EXPECT_NE(cell.status().message().find("m.csv:3: column 3"), std::string::npos)
      << cell.status().message();
  EXPECT_NE(cell.status().message().find("\"2\" is not 0 or 1"), std::string::npos);
  auto ragged = ParseMatrixCsv("1,0,1\n1,0\n", "m.csv");
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("m.csv:2"), std::string::npos);
  auto pop = ParseMatrixCsv("model,popularity,q\na,lots,1\n", "m.csv");
  ASSERT_FALSE(pop.ok());
  EXPECT_NE(pop.status().message().find("popularity"), std::string::npos);
  EXPECT_FALSE(ParseMatrixCsv("", "m.csv").ok());
  EXPECT_FALSE(ParseMatrixCsv("model,popularity\na,1\n", "m.csv").ok());
}

TEST(AverageRanks, TiesShareTheirAveragedRank) {
  const std::vector<double> acc = {0.5, 0.9, 0.7, 0.7, 0.1, 0.7};
  EXPECT_EQ(AverageRanks(acc), (std::vector<double>{5, 1, 3, 3, 6, 3}));
}

TEST(MatrixEvaluator, AnswersFromTheMatrixAndRejectsBadIndices) {
  auto m = std::make_shared<ResponseMatrix>(2, 70);
  m->Set(1, 65, true);
  MatrixEvaluator ev(m);
  std::vector<EvalRequest> req = {{1, 65}, {1, 64}, {0, 65}};
  std::vector<EvalOutcome> out(3);
  std::vector<EvalDetail> details;
  ASSERT_TRUE(ev.Evaluate(req, out, &details).ok());
  EXPECT_EQ(out[0].correct, 1);
  EXPECT_EQ(out[1].correct, 0);
  EXPECT_EQ(out[2].correct, 0);
  EXPECT_EQ(out[0].from_cache, 1);
  EXPECT_EQ(details.size(), 3u);
  EXPECT_EQ(ev.evaluations(), 3u);
  MatrixEvaluator fresh(m, /*replay_record=*/false);
  ASSERT_TRUE(fresh.Evaluate(req, out, nullptr).ok());
  EXPECT_EQ(out[0].from_cache, 0);
  std::vector<EvalRequest> bad = {{2, 0}};
  std::vector<EvalOutcome> one(1);
  Status s = ev.Evaluate(bad, one, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("model 2"), std::string::npos);
}

}  // namespace
}  // namespace gem
