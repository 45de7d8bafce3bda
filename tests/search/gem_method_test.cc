// Copyright the gem authors. The `gem` search method (docs/GEM_METHOD.md): it finds a clearly best
// model, never exceeds its budget, samples correlated, replays bit for bit, reports sane
// confidence, and prefers queries the evaluator already knows (gemd's cache).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "gem/population.h"
#include "gem/search.h"
#include "search/test_util.h"

namespace gem {
namespace {

using testing::MakeMatrix;
using testing::RecordingEvaluator;

std::vector<double> SpreadWithOneClearlyBest(int k, int best) {
  std::vector<double> acc;
  for (int i = 0; i < k; ++i) acc.push_back(0.40 + 0.2 * i / (k - 1.0));
  acc[best] = 0.90;
  return acc;
}

TEST(GemMethod, IsTheDefault) {
  EXPECT_STREQ(kDefaultSearchMethod, "gem");
  EXPECT_EQ(SearchOptions().method, "gem");
}

TEST(GemMethod, FindsAClearlyBestModelAndIsSureOfIt) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(30, 17), 1000);
  ASSERT_NE(matrix, nullptr);
  int found = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = "gem";
    o.queries_per_model = 40;
    o.seed = seed;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok());
    if (r.chosen_model == 17) {
      ++found;
      EXPECT_GT(r.p_best, 0.9) << "seed " << seed;
      EXPECT_NEAR(r.estimated_accuracy, 0.9, 0.1);
    }
  }
  EXPECT_GE(found, 9);
}

TEST(GemMethod, NeverExceedsTheBudget) {
  for (uint32_t k : {1u, 2u, 3u, 7u, 64u, 301u}) {
    for (uint32_t q : {5u, 97u, 1000u}) {
      std::vector<double> acc;
      for (uint32_t i = 0; i < k; ++i) acc.push_back(0.3 + 0.5 * i / std::max(1u, k));
      auto matrix = MakeMatrix(acc, q, k * 31 + q);
      ASSERT_NE(matrix, nullptr);
      for (uint32_t n : {1u, 2u, 10u, 37u, 500u}) {
        MatrixEvaluator ev(matrix);
        SearchOptions o;
        o.method = "gem";
        o.queries_per_model = n;
        o.seed = n;
        SearchResult r;
        ASSERT_TRUE(Search(o, &ev, &r).ok()) << k << " " << q << " " << n;
        EXPECT_LE(ev.evaluations(), uint64_t{n} * k) << k << " " << q << " " << n;
        EXPECT_EQ(ev.evaluations(), r.spent);
        EXPECT_LT(r.chosen_model, k);
        uint64_t pulls = 0;
        for (uint32_t p : r.pulls) {
          EXPECT_LE(p, q);  // a model never answers more queries than there are
          pulls += p;
        }
        EXPECT_EQ(pulls, r.spent);
      }
    }
  }
}

TEST(GemMethod, EverySurvivorOfARoundAnswersTheSameFreshQueries) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(50, 3), 2000);
  MatrixEvaluator inner(matrix);
  RecordingEvaluator ev(&inner);
  SearchOptions o;
  o.method = "gem";
  o.queries_per_model = 25;
  o.seed = 5;
  SearchResult r;
  ASSERT_TRUE(Search(o, &ev, &r).ok());
  ASSERT_EQ(ev.batches.size(), r.rounds.size());
  std::set<uint32_t> seen;
  for (size_t b = 0; b < ev.batches.size(); ++b) {
    std::map<uint32_t, std::vector<uint32_t>> per_model;
    for (const EvalRequest& q : ev.batches[b]) per_model[q.model].push_back(q.query);
    ASSERT_EQ(per_model.size(), r.rounds[b].survivors.size());
    const std::vector<uint32_t>& first = per_model.begin()->second;
    for (const auto& [m, qs] : per_model) EXPECT_EQ(qs, first) << "round " << b + 1;
    for (uint32_t q : first) EXPECT_TRUE(seen.insert(q).second) << "query reused: " << q;
    EXPECT_TRUE(r.rounds[b].correlated);
    if (b > 0) {
      EXPECT_LT(r.rounds[b].survivors.size(), r.rounds[b - 1].survivors.size());
    }
  }
  EXPECT_EQ(r.rounds.back().survivors.size(), 3u);  // the finalists
}

TEST(GemMethod, ReplaysBitForBitFromItsSeed) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(120, 40), 1500, 3, 0.97);
  auto run = [&](uint64_t seed) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = "gem";
    o.queries_per_model = 20;
    o.seed = seed;
    SearchResult r;
    EXPECT_TRUE(Search(o, &ev, &r).ok());
    return r;
  };
  const SearchResult a = run(11), b = run(11), c = run(12);
  EXPECT_EQ(a.chosen_model, b.chosen_model);
  EXPECT_EQ(a.pulls, b.pulls);
  EXPECT_EQ(a.wins, b.wins);
  ASSERT_EQ(a.rounds.size(), b.rounds.size());
  for (size_t i = 0; i < a.rounds.size(); ++i) {
    EXPECT_EQ(a.rounds[i].survivors, b.rounds[i].survivors);
    EXPECT_EQ(a.rounds[i].means, b.rounds[i].means);
  }
  for (auto f : {&SearchResult::estimated_accuracy, &SearchResult::ci_low, &SearchResult::ci_high,
                 &SearchResult::p_best, &SearchResult::p_top3}) {
    EXPECT_EQ(std::memcmp(&(a.*f), &(b.*f), sizeof(double)), 0);
  }
  EXPECT_NE(a.wins, c.wins);  // another seed, other queries
}

TEST(GemMethod, ConfidenceFieldsAreSane) {
  for (double agreement : {0.5, 0.99}) {
    auto matrix = MakeMatrix(SpreadWithOneClearlyBest(80, 10), 1200, 4, agreement);
    for (uint32_t n : {3u, 10u, 50u}) {
      for (uint64_t seed = 0; seed < 5; ++seed) {
        MatrixEvaluator ev(matrix);
        SearchOptions o;
        o.method = "gem";
        o.queries_per_model = n;
        o.seed = seed;
        SearchResult r;
        ASSERT_TRUE(Search(o, &ev, &r).ok());
        ASSERT_FALSE(std::isnan(r.estimated_accuracy));
        EXPECT_LE(r.ci_low, r.estimated_accuracy);
        EXPECT_GE(r.ci_high, r.estimated_accuracy);
        EXPECT_GE(r.ci_low, 0.0);
        EXPECT_LE(r.ci_high, 1.0);
        EXPECT_LT(r.ci_low, r.ci_high);  // not every query seen: some uncertainty left
        EXPECT_EQ(r.estimated_accuracy,
                  static_cast<double>(r.wins[r.chosen_model]) / r.pulls[r.chosen_model]);
        for (double p : {r.p_best, r.p_top3}) {
          EXPECT_GE(p, 0.0);
          EXPECT_LE(p, 1.0);
        }
        EXPECT_GE(r.p_top3, r.p_best);
      }
    }
  }
}

TEST(GemMethod, AModelThatAnsweredEveryQueryIsKnownExactly) {
  // 4 models, 60 queries, N = 100: the finalists answer all 60, so the estimate is the exact
  // accuracy and the interval has no width.
  auto matrix = MakeMatrix({0.3, 0.5, 0.6, 0.8}, 60, 2, 0.9);
  MatrixEvaluator ev(matrix);
  SearchOptions o;
  o.method = "gem";
  o.queries_per_model = 100;
  SearchResult r;
  ASSERT_TRUE(Search(o, &ev, &r).ok());
  EXPECT_EQ(r.chosen_model, 3u);
  EXPECT_DOUBLE_EQ(r.estimated_accuracy, matrix->RowMean(3));
  EXPECT_DOUBLE_EQ(r.ci_low, r.ci_high);
  EXPECT_DOUBLE_EQ(r.p_best, 1.0);
  EXPECT_DOUBLE_EQ(r.p_top3, 1.0);
}

// Knows the answers to every query q with q % 7 == 3 (for every model), as a cache filled by
// earlier searches would; counts what it is asked.
class KnowsSomeQueries : public Evaluator {
 public:
  explicit KnowsSomeQueries(Evaluator* inner) : inner_(inner) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  static bool IsKnown(uint32_t q) { return q % 7 == 3; }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    unknown_per_batch.push_back(0);
    for (const EvalRequest& r : requests) {
      (IsKnown(r.query) ? known_asked : unknown_asked)++;
      unknown_per_batch.back() += IsKnown(r.query) ? 0 : 1;
    }
    return inner_->Evaluate(requests, outcomes, details);
  }
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) override {
    ++known_calls;
    for (size_t i = 0; i < requests.size(); ++i) known[i] = IsKnown(requests[i].query) ? 1 : 0;
    return Status::OK();
  }
  uint64_t known_asked = 0, unknown_asked = 0, known_calls = 0;
  std::vector<uint64_t> unknown_per_batch;

 private:
  Evaluator* inner_;
};

TEST(GemMethod, PrefersQueriesTheEvaluatorAlreadyKnows) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(20, 6), 700);
  for (bool shuffle : {false, true}) {
    MatrixEvaluator inner(matrix);
    KnowsSomeQueries ev(&inner);
    SearchOptions o;
    o.method = "gem";
    o.queries_per_model = 10;
    o.shuffle_queries = shuffle;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok());
    EXPECT_EQ(r.chosen_model, 6u);
    EXPECT_EQ(r.spent, ev.known_asked + ev.unknown_asked);
    if (!shuffle) {
      // The evaluator's order (gemd): a round looks a window ahead (max(8n, n + 256) positions) for
      // known queries, so while the window holds enough of them every request is a known one; only
      // the finalists' long last round runs out of known queries within its window.
      EXPECT_GT(ev.known_calls, 0u);
      EXPECT_GT(ev.known_asked, 4 * ev.unknown_asked);
      ASSERT_GE(ev.unknown_per_batch.size(), 2u);
      for (size_t b = 0; b + 1 < ev.unknown_per_batch.size(); ++b) {
        EXPECT_EQ(ev.unknown_per_batch[b], 0u) << "round " << b + 1;
      }
    } else {
      // A replay permutes queries by its seed and does not ask: about 1 in 7 known.
      EXPECT_EQ(ev.known_calls, 0u);
      EXPECT_GT(ev.unknown_asked, ev.known_asked);
    }
  }
}

}  // namespace
}  // namespace gem
