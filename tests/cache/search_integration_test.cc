// Copyright the gem authors. A real search (gem::Search) through the CachedEvaluator over a real
// RocksDB: the cache changes no answer, a repeated search evaluates nothing, an overlapping one
// reuses every shared evaluation, and reopening the cache keeps it all.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cache_test_util.h"
#include "gem/cache.h"
#include "gem/population.h"
#include "gem/search.h"

namespace gem {
namespace {

using testing::Digests;
using testing::TempDir;

constexpr uint32_t kModels = 24, kQueries = 400;

std::shared_ptr<const ResponseMatrix> Matrix() {
  auto m = std::make_shared<ResponseMatrix>(kModels, kQueries);
  std::mt19937_64 rng(2024);
  for (uint32_t i = 0; i < kModels; ++i) {
    const double p = 0.3 + 0.4 * i / kModels;  // model 23 is the best on average
    std::bernoulli_distribution b(p);
    for (uint32_t q = 0; q < kQueries; ++q) m->Set(i, q, b(rng));
  }
  return m;
}

SearchOptions Options(uint32_t n, uint64_t seed) {
  SearchOptions o;
  o.method = kDefaultSearchMethod;
  o.queries_per_model = n;
  o.seed = seed;
  o.shuffle_queries = false;  // gemd's setting: searches land on the same queries
  return o;
}

struct World {
  TempDir dir;
  std::shared_ptr<const ResponseMatrix> matrix = Matrix();
  std::vector<Digest> models = Digests("tree model", kModels);
  std::vector<Digest> queries = Digests("task query", kQueries);
  Digest config = Sha256("replay config");
  Digest task = Sha256("replay task");

  std::unique_ptr<Cache> Open() {
    auto c = Cache::Open(dir.Sub("db"));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  // Runs one search through the cache; returns the result and the counters, and records the
  // requests the search made (`asked`) and those that reached the matrix (`evaluated`).
  SearchResult Run(Cache* cache, const SearchOptions& o, uint64_t* run, uint64_t* cached,
                   uint64_t* inner_evals, std::vector<EvalRequest>* asked = nullptr,
                   std::vector<EvalRequest>* evaluated = nullptr) {
    MatrixEvaluator matrix_ev(matrix, /*replay_record=*/false);
    Recorder inner(&matrix_ev, evaluated);
    CachedEvaluatorOptions co;
    co.task = task;
    CachedEvaluator ev(cache, &inner, models, queries, config, co);
    Recorder outer(&ev, asked);
    SearchResult r;
    Status s = Search(o, &outer, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    *run = ev.evaluations_run();
    *cached = ev.evaluations_cached();
    *inner_evals = matrix_ev.evaluations();
    return r;
  }

  // Passes everything through, noting each request.
  class Recorder : public Evaluator {
   public:
    Recorder(Evaluator* e, std::vector<EvalRequest>* log) : e_(e), log_(log) {}
    uint32_t num_models() const override { return e_->num_models(); }
    uint32_t num_queries() const override { return e_->num_queries(); }
    Status Evaluate(std::span<const EvalRequest> r, std::span<EvalOutcome> o,
                    std::vector<EvalDetail>* d) override {
      if (log_) log_->insert(log_->end(), r.begin(), r.end());
      return e_->Evaluate(r, o, d);
    }
    Status Known(std::span<const EvalRequest> r, std::span<uint8_t> k) override {
      return e_->Known(r, k);
    }

   private:
    Evaluator* e_;
    std::vector<EvalRequest>* log_;
  };
};

TEST(SearchThroughCacheTest, SameChoiceThenZeroEvaluationsOnRepeat) {
  World w;
  MatrixEvaluator direct(w.matrix, false);
  SearchResult want;
  ASSERT_TRUE(Search(Options(20, 7), &direct, &want).ok());

  auto cache = w.Open();
  uint64_t run, cached, inner;
  SearchResult first = w.Run(cache.get(), Options(20, 7), &run, &cached, &inner);
  EXPECT_EQ(first.chosen_model, want.chosen_model);
  EXPECT_EQ(first.pulls, want.pulls);
  EXPECT_EQ(first.wins, want.wins);
  EXPECT_EQ(first.spent, want.spent);
  EXPECT_EQ(run + cached, first.spent);
  EXPECT_EQ(inner, run);
  EXPECT_GT(run, 0u);

  SearchResult again = w.Run(cache.get(), Options(20, 7), &run, &cached, &inner);
  EXPECT_EQ(again.chosen_model, want.chosen_model);
  EXPECT_EQ(again.wins, want.wins);
  EXPECT_EQ(run, 0u);
  EXPECT_EQ(inner, 0u);
  EXPECT_EQ(cached, again.spent);
  EXPECT_EQ(again.spent_cached, again.spent);

  // After closing and reopening, still nothing to evaluate.
  cache.reset();
  cache = w.Open();
  SearchResult reopened = w.Run(cache.get(), Options(20, 7), &run, &cached, &inner);
  EXPECT_EQ(reopened.chosen_model, want.chosen_model);
  EXPECT_EQ(run, 0u);
}

TEST(SearchThroughCacheTest, OverlappingSearchReusesEverySharedEvaluation) {
  World w;
  auto cache = w.Open();
  uint64_t run1, cached1, inner1;
  w.Run(cache.get(), Options(10, 3), &run1, &cached1, &inner1);
  auto st1 = cache->Stats();
  ASSERT_TRUE(st1.ok());
  const uint64_t before = st1->results;
  EXPECT_EQ(before, run1);  // every evaluation run was written once

  // A bigger search of the same tree and task: whatever it asks that the first one had evaluated
  // comes from the cache; only the rest runs, and the cache grows by exactly that.
  uint64_t run2, cached2, inner2;
  std::vector<EvalRequest> asked, evaluated;
  SearchResult second =
      w.Run(cache.get(), Options(30, 3), &run2, &cached2, &inner2, &asked, &evaluated);
  EXPECT_EQ(run2 + cached2, second.spent);
  auto st2 = cache->Stats();
  ASSERT_TRUE(st2.ok());
  EXPECT_EQ(st2->results, before + run2);
  ASSERT_EQ(st2->tasks.size(), 1u);
  EXPECT_EQ(st2->tasks[0].results, st2->results);

  // Independently: the distinct pairs the second search asked that were not cached before are
  // exactly what reached the matrix; none of the first search's pairs did.
  std::set<std::pair<uint32_t, uint32_t>> first_pairs;
  {
    uint64_t r, c, i;
    std::vector<EvalRequest> first_asked;
    TempDir other;  // a fresh cache, to list the first search's pairs without touching ours
    auto fresh = Cache::Open(other.Sub("db"));
    ASSERT_TRUE(fresh.ok());
    w.Run(fresh->get(), Options(10, 3), &r, &c, &i, &first_asked);
    for (const auto& q : first_asked) first_pairs.insert({q.model, q.query});
  }
  std::set<std::pair<uint32_t, uint32_t>> new_pairs, shared;
  for (const auto& q : asked) {
    if (first_pairs.count({q.model, q.query}))
      shared.insert({q.model, q.query});
    else
      new_pairs.insert({q.model, q.query});
  }
  EXPECT_FALSE(shared.empty());
  EXPECT_EQ(run2, new_pairs.size());
  EXPECT_EQ(inner2, new_pairs.size());
  for (const auto& e : evaluated) {
    EXPECT_FALSE(first_pairs.count({e.model, e.query}))
        << "re-evaluated model " << e.model << " query " << e.query;
  }
}

}  // namespace
}  // namespace gem
