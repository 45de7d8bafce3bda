// Copyright the gem authors. The `gem` search method and its predecessor `gem_v1`
// (docs/GEM_METHOD.md): they find a clearly best model, never exceed their budget and spend it,
// sample correlated (every model answers a prefix of one shared query sequence), replay bit for
// bit, report sane confidence, prefer queries the evaluator already knows (gemd's cache), and make
// the same choices when the answers come from the cache, a resumed search included.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "cache/cache_test_util.h"
#include "gem/cache.h"
#include "gem/population.h"
#include "gem/search.h"
#include "search/test_util.h"

namespace gem {
namespace {

using testing::MakeMatrix;
using testing::RecordingEvaluator;

// Both methods share these properties; the default is checked first.
constexpr const char* kMethods[] = {"gem", "gem_v1"};

std::vector<double> SpreadWithOneClearlyBest(int k, int best) {
  std::vector<double> acc;
  for (int i = 0; i < k; ++i) acc.push_back(0.40 + 0.2 * i / (k - 1.0));
  acc[best] = 0.90;
  return acc;
}

TEST(GemMethod, IsTheDefaultAndTheFirstVersionStaysAvailable) {
  EXPECT_STREQ(kDefaultSearchMethod, "gem");
  EXPECT_EQ(SearchOptions().method, "gem");
  const auto m = SearchMethods();
  EXPECT_NE(std::find(m.begin(), m.end(), "gem_v1"), m.end());
}

TEST(GemMethod, FindsAClearlyBestModelAndIsSureOfIt) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(30, 17), 1000);
  ASSERT_NE(matrix, nullptr);
  for (const char* method : kMethods) {
    int found = 0;
    for (uint64_t seed = 0; seed < 10; ++seed) {
      MatrixEvaluator ev(matrix);
      SearchOptions o;
      o.method = method;
      o.queries_per_model = 40;
      o.seed = seed;
      SearchResult r;
      ASSERT_TRUE(Search(o, &ev, &r).ok());
      if (r.chosen_model == 17) {
        ++found;
        EXPECT_GT(r.p_best, 0.9) << method << " seed " << seed;
        EXPECT_NEAR(r.estimated_accuracy, 0.9, 0.1);
      }
    }
    EXPECT_GE(found, 9) << method;
  }
}

TEST(GemMethod, NeverExceedsTheBudget) {
  for (const char* method : kMethods)
    for (uint32_t k : {1u, 2u, 3u, 7u, 64u, 301u}) {
      for (uint32_t q : {5u, 97u, 1000u}) {
        std::vector<double> acc;
        for (uint32_t i = 0; i < k; ++i) acc.push_back(0.3 + 0.5 * i / std::max(1u, k));
        auto matrix = MakeMatrix(acc, q, k * 31 + q);
        ASSERT_NE(matrix, nullptr);
        for (uint32_t n : {1u, 2u, 10u, 37u, 500u}) {
          MatrixEvaluator ev(matrix);
          SearchOptions o;
          o.method = method;
          o.queries_per_model = n;
          o.seed = n;
          SearchResult r;
          ASSERT_TRUE(Search(o, &ev, &r).ok()) << method << " " << k << " " << q << " " << n;
          EXPECT_LE(ev.evaluations(), uint64_t{n} * k)
              << method << " " << k << " " << q << " " << n;
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

TEST(GemMethod, SpendsTheWholeBudgetWhenTheTaskHasTheQueries) {
  // What rounding leaves is less than one query for each of the last batch's models.
  for (const char* method : kMethods)
    for (uint32_t k : {5u, 60u, 450u}) {
      std::vector<double> acc;
      for (uint32_t i = 0; i < k; ++i) acc.push_back(0.3 + 0.45 * ((i * 31) % k) / k);
      auto matrix = MakeMatrix(acc, 2500, k);
      for (uint32_t n : {3u, 10u, 25u, 50u}) {
        for (uint64_t seed = 0; seed < 3; ++seed) {
          MatrixEvaluator ev(matrix);
          SearchOptions o;
          o.method = method;
          o.queries_per_model = n;
          o.seed = seed;
          SearchResult r;
          ASSERT_TRUE(Search(o, &ev, &r).ok());
          ASSERT_FALSE(r.rounds.empty());
          EXPECT_LE(r.spent, r.budget);
          // An exact finish (the last batch took its models through every query) leaves less than
          // one more model's worth of the task.
          bool exact = true;
          for (uint32_t m : r.rounds.back().survivors) exact = exact && r.pulls[m] == 2500;
          EXPECT_LT(r.budget - r.spent, exact ? 2500 : r.rounds.back().survivors.size())
              << "K=" << k << " N=" << n << " seed " << seed;
        }
      }
    }
}

TEST(GemMethod, EveryModelAnswersAPrefixOfOneSharedQuerySequence) {
  // The sequence is the order in which queries first appear; every model's queries, in the
  // order it was asked them, are a prefix of it (so any two models are compared on the queries
  // both answered), and no model answers a query twice.
  for (double agreement : {0.9, 0.999}) {
    auto matrix = MakeMatrix(SpreadWithOneClearlyBest(200, 3), 2500, 5, agreement);
    for (uint32_t n : {5u, 25u, 100u}) {
      MatrixEvaluator inner(matrix);
      RecordingEvaluator ev(&inner);
      SearchOptions o;
      o.queries_per_model = n;
      o.seed = n;
      SearchResult r;
      ASSERT_TRUE(Search(o, &ev, &r).ok());
      std::vector<uint32_t> sequence;
      std::set<uint32_t> in_sequence;
      std::map<uint32_t, std::vector<uint32_t>> asked;
      for (const auto& batch : ev.batches) {
        for (const EvalRequest& q : batch) {
          if (in_sequence.insert(q.query).second) sequence.push_back(q.query);
          asked[q.model].push_back(q.query);
        }
      }
      for (const auto& [m, qs] : asked) {
        ASSERT_LE(qs.size(), sequence.size());
        EXPECT_TRUE(std::equal(qs.begin(), qs.end(), sequence.begin()))
            << "model " << m << " N=" << n;
      }
      // The chosen model got furthest.
      for (const auto& [m, qs] : asked) EXPECT_LE(qs.size(), asked[r.chosen_model].size());
    }
  }
}

TEST(GemMethod, V1EverySurvivorOfARoundAnswersTheSameFreshQueries) {
  auto matrix = MakeMatrix(SpreadWithOneClearlyBest(50, 3), 2000);
  MatrixEvaluator inner(matrix);
  RecordingEvaluator ev(&inner);
  SearchOptions o;
  o.method = "gem_v1";
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
  for (const char* method : kMethods) {
    auto run = [&](uint64_t seed) {
      MatrixEvaluator ev(matrix);
      SearchOptions o;
      o.method = method;
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
}

TEST(GemMethod, ConfidenceFieldsAreSane) {
  for (const char* method : kMethods)
    for (double agreement : {0.5, 0.99}) {
      auto matrix = MakeMatrix(SpreadWithOneClearlyBest(80, 10), 1200, 4, agreement);
      for (uint32_t n : {3u, 10u, 50u}) {
        for (uint64_t seed = 0; seed < 5; ++seed) {
          MatrixEvaluator ev(matrix);
          SearchOptions o;
          o.method = method;
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
  for (const char* method : kMethods) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = method;
    o.queries_per_model = 100;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok());
    EXPECT_EQ(r.chosen_model, 3u) << method;
    EXPECT_DOUBLE_EQ(r.estimated_accuracy, matrix->RowMean(3));
    EXPECT_DOUBLE_EQ(r.ci_low, r.ci_high);
    EXPECT_DOUBLE_EQ(r.p_best, 1.0);
    EXPECT_DOUBLE_EQ(r.p_top3, 1.0);
  }
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
  for (const char* method : kMethods)
    for (bool shuffle : {false, true}) {
      MatrixEvaluator inner(matrix);
      KnowsSomeQueries ev(&inner);
      SearchOptions o;
      o.method = method;
      o.queries_per_model = 10;
      o.shuffle_queries = shuffle;
      SearchResult r;
      ASSERT_TRUE(Search(o, &ev, &r).ok());
      EXPECT_EQ(r.chosen_model, 6u) << method;
      EXPECT_EQ(r.spent, ev.known_asked + ev.unknown_asked);
      if (!shuffle) {
        // The evaluator's order (gemd): new queries come from a window ahead (max(8n, n + 256)
        // positions) in which known queries go first, so while the window holds enough of them
        // every request is a known one; only the finalists' long last batch runs out of known
        // queries within its window.
        EXPECT_GT(ev.known_calls, 0u);
        EXPECT_GT(ev.known_asked, 4 * ev.unknown_asked) << method;
        ASSERT_GE(ev.unknown_per_batch.size(), 2u);
        for (size_t b = 0; b + 1 < ev.unknown_per_batch.size(); ++b) {
          EXPECT_EQ(ev.unknown_per_batch[b], 0u) << method << " batch " << b + 1;
        }
      } else {
        // A replay permutes queries by its seed and does not ask: about 1 in 7 known.
        EXPECT_EQ(ev.known_calls, 0u);
        EXPECT_GT(ev.unknown_asked, ev.known_asked);
      }
    }
}

// gemd runs a search against its result cache (RocksDB) and resumes an interrupted one by running
// it again from its seed: what was evaluated before comes from the cache. The search must then
// make exactly the choices it would have made without the cache.
class ThroughTheCache : public ::testing::Test {
 protected:
  static constexpr uint32_t kModels = 120, kQueries = 2500;
  void SetUp() override {
    matrix_ = MakeMatrix(SpreadWithOneClearlyBest(kModels, 77), kQueries, 9, 0.99);
  }
  // A fresh, empty cache.
  void OpenCache(const std::string& name) {
    cache_.reset();
    auto c = Cache::Open(dir_.Sub(name));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cache_ = std::move(c).value();
  }
  static SearchOptions Options(const char* method, uint64_t seed) {
    SearchOptions o;
    o.method = method;
    o.queries_per_model = 30;
    o.seed = seed;
    o.shuffle_queries = false;  // gemd's setting
    return o;
  }
  // One search through the cache; *inner_evals: what reached the matrix.
  Status Run(const SearchOptions& o, SearchResult* r, uint64_t* inner_evals) {
    MatrixEvaluator inner(matrix_, /*replay_record=*/false);
    CachedEvaluator ev(cache_.get(), &inner, testing::Digests("model", kModels),
                       testing::Digests("query", kQueries), Sha256("config"));
    const Status s = Search(o, &ev, r);
    *inner_evals = inner.evaluations();
    return s;
  }
  static void ExpectSameSearch(const SearchResult& a, const SearchResult& b) {
    EXPECT_EQ(a.chosen_model, b.chosen_model);
    EXPECT_EQ(a.pulls, b.pulls);
    EXPECT_EQ(a.wins, b.wins);
    EXPECT_EQ(a.spent, b.spent);
    ASSERT_EQ(a.rounds.size(), b.rounds.size());
    for (size_t i = 0; i < a.rounds.size(); ++i) {
      EXPECT_EQ(a.rounds[i].survivors, b.rounds[i].survivors) << "batch " << i + 1;
    }
    EXPECT_EQ(std::memcmp(&a.p_best, &b.p_best, sizeof(double)), 0);
  }

  testing::TempDir dir_;
  std::shared_ptr<const ResponseMatrix> matrix_;
  std::unique_ptr<Cache> cache_;
};

TEST_F(ThroughTheCache, ColdWarmAndResumedSearchesMakeTheSameChoices) {
  for (const char* method : kMethods) {
    const uint64_t seed = 1;
    OpenCache(method);
    // Without a cache.
    MatrixEvaluator direct(matrix_, false);
    SearchResult want;
    ASSERT_TRUE(Search(Options(method, seed), &direct, &want).ok());

    // An interrupted run: cancelled once it has spent about a third of its budget.
    std::atomic<bool> cancel{false};
    SearchOptions o = Options(method, seed);
    o.cancel = &cancel;
    o.on_progress = [&](const SearchProgress& p) { cancel = p.spent * 3 >= p.budget; };
    SearchResult partial;
    uint64_t first_evals = 0;
    ASSERT_TRUE(Run(o, &partial, &first_evals).IsAborted()) << method;
    ASSERT_GT(first_evals, 0u);
    ASSERT_LT(partial.spent, want.spent);

    // The resume: the same search again, the first part answered by the cache.
    SearchResult resumed;
    uint64_t resumed_evals = 0;
    ASSERT_TRUE(Run(Options(method, seed), &resumed, &resumed_evals).ok());
    ExpectSameSearch(resumed, want);
    EXPECT_EQ(first_evals + resumed_evals, want.spent) << method << ": every pair evaluated once";
    EXPECT_EQ(resumed.spent_cached, first_evals);

    // A repeat on the warm cache: the same search, nothing evaluated.
    SearchResult again;
    uint64_t again_evals = 0;
    ASSERT_TRUE(Run(Options(method, seed), &again, &again_evals).ok());
    ExpectSameSearch(again, want);
    EXPECT_EQ(again_evals, 0u) << method;
    EXPECT_EQ(again.spent_cached, again.spent);
  }
}

}  // namespace
}  // namespace gem
