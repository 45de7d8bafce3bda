// Copyright the gem authors. CachedEvaluator: hits from the cache, only misses reach the inner
// evaluator, results written back, counters, Known(), cache-only mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cache_test_util.h"
#include "gem/cache.h"

namespace gem {
namespace {

using testing::CountingMatrixEvaluator;
using testing::Digests;
using testing::RandomMatrix;
using testing::TempDir;

constexpr uint32_t kModels = 6, kQueries = 40;

struct Fixture {
  TempDir dir;
  std::unique_ptr<Cache> cache;
  CountingMatrixEvaluator inner{RandomMatrix(kModels, kQueries, 11)};
  std::vector<Digest> models = Digests("model", kModels);
  std::vector<Digest> queries = Digests("query", kQueries);
  Digest config = testing::D("config");
  Digest task = testing::D("task");

  Fixture() {
    auto c = Cache::Open(dir.Sub("db"));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    cache = std::move(c).value();
  }
  std::unique_ptr<CachedEvaluator> Make(Evaluator* in, CachedEvaluatorOptions o = {}) {
    if (!o.task) o.task = task;
    return std::make_unique<CachedEvaluator>(cache.get(), in, models, queries, config, o);
  }
};

std::vector<EvalRequest> Grid(uint32_t m0, uint32_t m1, uint32_t q0, uint32_t q1) {
  std::vector<EvalRequest> r;
  for (uint32_t m = m0; m < m1; ++m)
    for (uint32_t q = q0; q < q1; ++q) r.push_back({m, q});
  return r;
}

TEST(CachedEvaluatorTest, RepeatMakesZeroInnerCallsAndSameAnswers) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  auto req = Grid(0, kModels, 0, 10);
  std::vector<EvalOutcome> out1(req.size()), out2(req.size());
  std::vector<EvalDetail> det1, det2;
  ASSERT_TRUE(ev->Evaluate(req, out1, &det1).ok());
  EXPECT_EQ(f.inner.calls, 1u);
  EXPECT_EQ(f.inner.evaluated, req.size());
  EXPECT_EQ(ev->evaluations_run(), req.size());
  EXPECT_EQ(ev->evaluations_cached(), 0u);
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(out1[i].correct, f.inner.answer(req[i].model, req[i].query));
    EXPECT_EQ(out1[i].from_cache, 0);
  }

  // A second evaluator (a second search) over the same cache: everything is a hit.
  CountingMatrixEvaluator fresh_inner(RandomMatrix(kModels, kQueries, 11));
  auto ev2 = f.Make(&fresh_inner);
  ASSERT_TRUE(ev2->Evaluate(req, out2, &det2).ok());
  EXPECT_EQ(fresh_inner.calls, 0u);
  EXPECT_EQ(ev2->inner_calls(), 0u);
  EXPECT_EQ(ev2->evaluations_run(), 0u);
  EXPECT_EQ(ev2->evaluations_cached(), req.size());
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(out2[i].correct, out1[i].correct);
    EXPECT_EQ(out2[i].from_cache, 1);
    auto want = CountingMatrixEvaluator::DetailFor(req[i]);
    EXPECT_EQ(det2[i].output, want.output);
    EXPECT_EQ(det2[i].reason, want.reason);
    EXPECT_EQ(det2[i].tokens_in, want.tokens_in);
    EXPECT_EQ(det2[i].tokens_out, want.tokens_out);
    EXPECT_EQ(det2[i].seconds, want.seconds);
    EXPECT_EQ(det2[i].variant, want.variant);
  }
}

TEST(CachedEvaluatorTest, OverlapSendsOnlyTheMissesInOneCall) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  auto first = Grid(0, 4, 0, 20);  // models 0-3, queries 0-19
  std::vector<EvalOutcome> out(first.size());
  ASSERT_TRUE(ev->Evaluate(first, out, nullptr).ok());
  f.inner.asked.clear();
  const uint64_t calls_before = f.inner.calls;

  auto second = Grid(2, 6, 10, 30);  // overlaps on models 2-3 x queries 10-19
  std::vector<EvalOutcome> out2(second.size());
  auto ev2 = f.Make(&f.inner);
  ASSERT_TRUE(ev2->Evaluate(second, out2, nullptr).ok());
  EXPECT_EQ(f.inner.calls, calls_before + 1);  // one batched call for all misses
  const uint64_t overlap = 2 * 10;
  EXPECT_EQ(ev2->evaluations_cached(), overlap);
  EXPECT_EQ(ev2->evaluations_run(), second.size() - overlap);
  EXPECT_EQ(f.inner.asked.size(), second.size() - overlap);
  for (const auto& r : f.inner.asked) {
    bool was_cached = r.model < 4 && r.query < 20;
    EXPECT_FALSE(was_cached) << "re-evaluated model " << r.model << " query " << r.query;
  }
  for (size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ(out2[i].correct, f.inner.answer(second[i].model, second[i].query));
    bool was_cached = second[i].model < 4 && second[i].query < 20;
    EXPECT_EQ(out2[i].from_cache, was_cached ? 1 : 0);
  }
}

TEST(CachedEvaluatorTest, RepeatedPairInOneBatchIsEvaluatedOnce) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  std::vector<EvalRequest> req = {{1, 2}, {1, 2}, {3, 4}, {1, 2}};
  std::vector<EvalOutcome> out(req.size());
  std::vector<EvalDetail> det;
  ASSERT_TRUE(ev->Evaluate(req, out, &det).ok());
  EXPECT_EQ(f.inner.evaluated, 2u);
  EXPECT_EQ(ev->evaluations_run(), 2u);
  EXPECT_EQ(ev->evaluations_cached(), 2u);
  EXPECT_EQ(out[0].from_cache, 0);
  EXPECT_EQ(out[1].from_cache, 1);
  EXPECT_EQ(out[3].correct, f.inner.answer(1, 2));
  EXPECT_EQ(det[3].output, det[0].output);
}

TEST(CachedEvaluatorTest, KnownReportsCachedPairsWithoutCounting) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  std::vector<EvalRequest> req = {{0, 0}, {0, 1}};
  std::vector<EvalOutcome> out(2);
  ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());
  std::vector<EvalRequest> ask = {{0, 1}, {5, 5}, {0, 0}};
  std::vector<uint8_t> known(3, 9);
  ASSERT_TRUE(ev->Known(ask, known).ok());
  EXPECT_EQ(known, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(ev->evaluations_run(), 2u);
  EXPECT_EQ(ev->evaluations_cached(), 0u);
  EXPECT_EQ(f.inner.calls, 1u);
}

TEST(CachedEvaluatorTest, ChunkedMissesAreEachWrittenAndIndexedUnderTheTask) {
  Fixture f;
  CachedEvaluatorOptions o;
  o.max_inner_batch = 7;
  auto ev = f.Make(&f.inner, o);
  auto req = Grid(0, 2, 0, 10);  // 20 misses -> 3 inner calls
  std::vector<EvalOutcome> out(req.size());
  ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());
  EXPECT_EQ(f.inner.calls, 3u);
  EXPECT_EQ(ev->inner_calls(), 3u);
  uint64_t indexed = 0;
  ASSERT_TRUE(f.cache
                  ->ForEachTaskResult(f.task, &f.config,
                                      [&](const ResultKey&) {
                                        ++indexed;
                                        return true;
                                      })
                  .ok());
  EXPECT_EQ(indexed, 20u);
}

TEST(CachedEvaluatorTest, InnerErrorWritesNothingOfThatCall) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  f.inner.fail_next = true;
  auto req = Grid(0, 1, 0, 5);
  std::vector<EvalOutcome> out(req.size());
  Status s = ev->Evaluate(req, out, nullptr);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_EQ(f.cache->Stats()->results, 0u);
  ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());  // retry evaluates and writes
  EXPECT_EQ(f.cache->Stats()->results, 5u);
}

TEST(CachedEvaluatorTest, WriteBackOffReadsThroughOnly) {
  Fixture f;
  CachedEvaluatorOptions o;
  o.write_back = false;
  auto ev = f.Make(&f.inner, o);
  auto req = Grid(0, 1, 0, 5);
  std::vector<EvalOutcome> out(req.size());
  ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());
  EXPECT_EQ(f.cache->Stats()->results, 0u);
}

TEST(CachedEvaluatorTest, CacheOnlyEvaluatorAnswersHitsAndNamesTheFirstMiss) {
  Fixture f;
  {
    auto ev = f.Make(&f.inner);
    auto req = Grid(0, 2, 0, 3);
    std::vector<EvalOutcome> out(req.size());
    ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());
  }
  auto only = f.Make(nullptr);
  EXPECT_EQ(only->num_models(), kModels);
  EXPECT_EQ(only->num_queries(), kQueries);
  auto hits = Grid(0, 2, 0, 3);
  std::vector<EvalOutcome> out(hits.size());
  ASSERT_TRUE(only->Evaluate(hits, out, nullptr).ok());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(out[i].correct, f.inner.answer(hits[i].model, hits[i].query));
  }
  std::vector<EvalRequest> miss = {{0, 0}, {4, 7}};
  std::vector<EvalOutcome> out2(2);
  Status s = only->Evaluate(miss, out2, nullptr);
  ASSERT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("model 4"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("query 7"), std::string::npos) << s.message();
}

TEST(CachedEvaluatorTest, OutOfRangeRequestIsInvalidArgument) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  std::vector<EvalRequest> req = {{kModels, 0}};
  std::vector<EvalOutcome> out(1);
  EXPECT_TRUE(ev->Evaluate(req, out, nullptr).IsInvalidArgument());
  std::vector<uint8_t> known(1);
  EXPECT_TRUE(ev->Known(req, known).IsInvalidArgument());
}

TEST(CachedEvaluatorTest, DigestCountsMustMatchTheInnerEvaluator) {
  Fixture f;
  auto fewer = f.models;
  fewer.pop_back();
  CachedEvaluator ev(f.cache.get(), &f.inner, fewer, f.queries, f.config);
  std::vector<EvalRequest> req = {{0, 0}};
  std::vector<EvalOutcome> out(1);
  Status s = ev.Evaluate(req, out, nullptr);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("6 models"), std::string::npos) << s.message();
  EXPECT_EQ(f.inner.calls, 0u);
}

TEST(CachedEvaluatorTest, DifferentConfigOrModelDigestIsAMiss) {
  Fixture f;
  auto ev = f.Make(&f.inner);
  auto req = Grid(0, 1, 0, 4);
  std::vector<EvalOutcome> out(req.size());
  ASSERT_TRUE(ev->Evaluate(req, out, nullptr).ok());
  // Same indices, another config: nothing reused.
  CachedEvaluator other_config(f.cache.get(), &f.inner, f.models, f.queries,
                               testing::D("another config"));
  ASSERT_TRUE(other_config.Evaluate(req, out, nullptr).ok());
  EXPECT_EQ(other_config.evaluations_run(), req.size());
  // Same names, other weights (model 0 now has a different digest): nothing reused.
  auto models = f.models;
  models[0] = testing::D("model0 fine-tuned again");
  CachedEvaluator other_model(f.cache.get(), &f.inner, models, f.queries, f.config);
  ASSERT_TRUE(other_model.Evaluate(req, out, nullptr).ok());
  EXPECT_EQ(other_model.evaluations_run(), req.size());
}

}  // namespace
}  // namespace gem
