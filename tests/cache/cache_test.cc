// Copyright the gem authors. Cache: codec, put/get/MultiGet, reopen, labels, tasks, stats.
#include "gem/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "cache_test_util.h"

namespace gem {
namespace {

using testing::D;
using testing::TempDir;

CachedResult Sample(uint8_t correct, const std::string& out) {
  CachedResult r;
  r.correct = correct;
  r.output = out;
  r.output_bytes = out.size();
  r.reason = "expected 42, got " + out;
  r.tokens_in = 123;
  r.tokens_out = 45;
  r.seconds = 1.5f;
  r.variant = 2;
  r.source = ResultSource::kEvaluated;
  r.written_unix_ms = 1700000000123;
  return r;
}

EvalDetail Detail(std::string output) {
  EvalDetail d;
  d.output = std::move(output);
  return d;
}

void ExpectSame(const CachedResult& a, const CachedResult& b) {
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.output_digest.has_value(), b.output_digest.has_value());
  if (a.output_digest && b.output_digest) {
    EXPECT_EQ(*a.output_digest, *b.output_digest);
  }
  EXPECT_EQ(a.output_bytes, b.output_bytes);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.tokens_in, b.tokens_in);
  EXPECT_EQ(a.tokens_out, b.tokens_out);
  EXPECT_EQ(a.seconds, b.seconds);
  EXPECT_EQ(a.variant, b.variant);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.written_unix_ms, b.written_unix_ms);
}

TEST(CacheCodecTest, ValueRoundTripsAndRejectsGarbage) {
  CachedResult r = Sample(1, "The answer is 42.\n#### 42");
  auto back = CachedResult::Decode(r.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(r, *back);

  CachedResult big = CachedResult::FromDetail(0, Detail(std::string(20000, 'x')));
  EXPECT_TRUE(big.output.empty());
  ASSERT_TRUE(big.output_digest.has_value());
  EXPECT_EQ(*big.output_digest, Sha256(std::string(20000, 'x')));
  EXPECT_EQ(big.output_bytes, 20000u);
  auto big_back = CachedResult::Decode(big.Encode());
  ASSERT_TRUE(big_back.ok());
  ExpectSame(big, *big_back);

  CachedResult small = CachedResult::FromDetail(1, Detail("short"), 16);
  EXPECT_EQ(small.output, "short");
  EXPECT_FALSE(small.output_digest.has_value());

  EXPECT_TRUE(CachedResult::Decode("").status().IsCorruption());
  EXPECT_TRUE(CachedResult::Decode("\x93\x01\x02\x03").status().IsCorruption());  // too short
  std::string enc = r.Encode();
  EXPECT_TRUE(CachedResult::Decode(enc + "x").status().IsCorruption());
  EXPECT_TRUE(CachedResult::Decode(enc.substr(0, enc.size() - 3)).status().IsCorruption());
  std::string v2 = enc;
  v2[1] = 2;  // format number (a positive fixint right after the array header)
  auto bad = CachedResult::Decode(v2);
  ASSERT_TRUE(bad.status().IsCorruption());
  EXPECT_NE(bad.status().message().find("unknown value format 2"), std::string::npos);
}

TEST(CacheCodecTest, KeyLayoutIsModelQueryConfig) {
  ResultKey k{D("m"), D("q"), D("c")};
  std::string e = k.Encode();
  ASSERT_EQ(e.size(), 96u);
  EXPECT_EQ(e.substr(0, 32), D("m").Bytes());
  EXPECT_EQ(e.substr(32, 32), D("q").Bytes());
  EXPECT_EQ(e.substr(64, 32), D("c").Bytes());
  auto back = ResultKey::Decode(e);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, k);
  EXPECT_TRUE(ResultKey::Decode(e.substr(1)).status().IsCorruption());
}

TEST(ConfigDigestTest, EveryFieldMatters) {
  EvalConfig base;
  base.engine_version = "gem-engine 0.1.0";
  base.prompt_template = "{{ messages }}";
  base.max_new_tokens = 512;
  base.stop = {"\n\n"};
  const Digest d0 = ConfigDigest(base);
  EXPECT_EQ(d0, ConfigDigest(base));
  std::vector<EvalConfig> variants(12, base);
  variants[0].engine_version = "gem-engine 0.1.1";
  variants[1].prompt_template = "{{ messages }} ";
  variants[2].system_prompt = "You are helpful.";
  variants[3].max_new_tokens = 256;
  variants[4].temperature = 0.7;
  variants[5].top_p = 0.9;
  variants[6].top_k = 40;
  variants[7].repetition_penalty = 1.1;
  variants[8].stop = {"\n", "\n"};
  variants[9].seed = 7;
  variants[10].extra = "min_p=0.05\n";
  variants[11].stop = {};
  std::set<Digest> all{d0};
  for (const auto& v : variants) all.insert(ConfigDigest(v));
  EXPECT_EQ(all.size(), variants.size() + 1);
  // Field boundaries are unambiguous.
  EvalConfig a = base, b = base;
  a.engine_version = "ab";
  a.prompt_template = "c";
  b.engine_version = "a";
  b.prompt_template = "bc";
  EXPECT_NE(ConfigDigest(a), ConfigDigest(b));
  EXPECT_NE(NameDigest(LabelKind::kModel, "x"), NameDigest(LabelKind::kTask, "x"));
  EXPECT_EQ(NameDigest(LabelKind::kModel, "x"), NameDigest(LabelKind::kModel, "x"));
}

TEST(CacheTest, PutGetMultiGetRoundTrip) {
  TempDir dir;
  auto cache = Cache::Open(dir.Sub("db"));
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  Cache& c = **cache;
  const Digest cfg = D("config");
  std::vector<ResultKey> keys;
  std::vector<CachedResult> vals;
  for (int i = 0; i < 50; ++i) {
    keys.push_back({D("model" + std::to_string(i % 5)), D("query" + std::to_string(i)), cfg});
    vals.push_back(Sample(i % 2, "out" + std::to_string(i)));
  }
  ASSERT_TRUE(c.PutBatch(keys, vals).ok());
  ResultKey single{D("model9"), D("query9"), cfg};
  CachedResult sv = Sample(1, "single");
  sv.written_unix_ms = 0;  // the cache stamps it
  ASSERT_TRUE(c.Put(single, sv).ok());

  CachedResult got;
  ASSERT_TRUE(c.Get(keys[7], &got).ok());
  ExpectSame(vals[7], got);
  ASSERT_TRUE(c.Get(single, &got).ok());
  EXPECT_GT(got.written_unix_ms, 1700000000000);
  EXPECT_EQ(got.output, "single");
  EXPECT_TRUE(c.Get({D("model0"), D("query0"), D("other config")}, &got).IsNotFound());

  std::vector<ResultKey> ask = {keys[3], {D("nope"), D("query3"), cfg}, keys[49], keys[3]};
  std::vector<std::optional<CachedResult>> res;
  ASSERT_TRUE(c.MultiGet(ask, &res).ok());
  ASSERT_EQ(res.size(), 4u);
  ASSERT_TRUE(res[0] && res[2] && res[3]);
  EXPECT_FALSE(res[1]);
  ExpectSame(*res[0], vals[3]);
  ExpectSame(*res[2], vals[49]);
  ExpectSame(*res[3], vals[3]);
  std::vector<uint8_t> found(4);
  ASSERT_TRUE(c.MultiContains(ask, found).ok());
  EXPECT_EQ(found, (std::vector<uint8_t>{1, 0, 1, 1}));

  // Model-prefix scan: model0 answered queries 0,5,...,45.
  int n = 0;
  ASSERT_TRUE(c.ForEachModelResult(D("model0"), [&](const ResultKey& k) {
                 EXPECT_EQ(k.model, D("model0"));
                 ++n;
                 return true;
               }).ok());
  EXPECT_EQ(n, 10);
}

TEST(CacheTest, ReopenAfterCloseKeepsEverything) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  const Digest task = D("task"), cfg = D("cfg");
  std::vector<ResultKey> keys;
  std::vector<CachedResult> vals;
  for (int i = 0; i < 300; ++i) {
    keys.push_back({D("m" + std::to_string(i % 7)), D("q" + std::to_string(i)), cfg});
    vals.push_back(Sample(i % 3 == 0, std::string(i, 'y')));
  }
  {
    auto cache = Cache::Open(path);
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE((*cache)->PutBatch(keys, vals, &task).ok());
    ASSERT_TRUE((*cache)->SetLabel(LabelKind::kModel, D("m0"), "base").ok());
    ASSERT_TRUE((*cache)
                    ->RegisterTask(task, "gsm8k", std::vector<Digest>{D("q1"), D("q0")},
                                   std::vector<std::string>{"one", "zero"})
                    .ok());
  }
  auto cache = Cache::Open(path);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  std::vector<std::optional<CachedResult>> res;
  ASSERT_TRUE((*cache)->MultiGet(keys, &res).ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(res[i].has_value()) << i;
    ExpectSame(*res[i], vals[i]);
  }
  std::string name;
  ASSERT_TRUE((*cache)->GetLabel(LabelKind::kModel, D("m0"), &name).ok());
  EXPECT_EQ(name, "base");
  auto tq = (*cache)->TaskQueries(task);
  ASSERT_TRUE(tq.ok());
  ASSERT_EQ(tq->size(), 2u);
  EXPECT_EQ((*tq)[0].query, D("q1"));
  EXPECT_EQ((*tq)[0].id, "one");
  EXPECT_EQ((*tq)[1].ordinal, 1u);
  auto st = (*cache)->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->results, 300u);
}

TEST(CacheTest, LabelsTasksIndexAndStats) {
  TempDir dir;
  auto opened = Cache::Open(dir.Sub("db"));
  ASSERT_TRUE(opened.ok());
  Cache& c = **opened;
  const Digest t1 = D("task1"), t2 = D("task2"), c1 = D("c1"), c2 = D("c2");
  ASSERT_TRUE(c.SetLabels(std::vector<Label>{{LabelKind::kModel, D("m1"), "alpha"},
                                             {LabelKind::kModel, D("m2"), "beta"},
                                             {LabelKind::kModel, D("m3"), "beta"}})
                  .ok());
  ASSERT_TRUE(c.RegisterTask(t1, "arith", testing::Digests("q", 4)).ok());
  ASSERT_TRUE(c.SetLabel(LabelKind::kTask, t2, "code").ok());
  for (int m = 1; m <= 2; ++m) {
    for (int q = 0; q < 4; ++q) {
      ASSERT_TRUE(
          c.Put({D("m" + std::to_string(m)), D("q" + std::to_string(q)), c1}, Sample(1, "x"), &t1)
              .ok());
    }
  }
  ASSERT_TRUE(c.Put({D("m1"), D("q0"), c2}, Sample(0, "y"), &t1).ok());
  ASSERT_TRUE(c.Put({D("m3"), D("z"), c1}, Sample(0, "z"), &t2).ok());
  ASSERT_TRUE(c.Put({D("m4"), D("unindexed"), c1}, Sample(0, "z")).ok());

  auto alpha = c.FindByLabel(LabelKind::kModel, "alpha");
  ASSERT_TRUE(alpha.ok());
  EXPECT_EQ(*alpha, std::vector<Digest>{D("m1")});
  EXPECT_EQ(c.FindByLabel(LabelKind::kModel, "beta")->size(), 2u);
  EXPECT_TRUE(c.FindByLabel(LabelKind::kTask, "alpha")->empty());

  auto configs = c.TaskConfigs(t1);
  ASSERT_TRUE(configs.ok());
  EXPECT_EQ(std::set<Digest>(configs->begin(), configs->end()), (std::set<Digest>{c1, c2}));
  int n = 0;
  ASSERT_TRUE(c.ForEachTaskResult(t1, &c1, [&](const ResultKey& k) {
                 EXPECT_EQ(k.config, c1);
                 ++n;
                 return true;
               }).ok());
  EXPECT_EQ(n, 8);
  n = 0;
  ASSERT_TRUE(c.ForEachTaskResult(t1, nullptr, [&](const ResultKey&) { return ++n, true; }).ok());
  EXPECT_EQ(n, 9);

  auto tasks = c.Tasks();
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(std::set<Digest>(tasks->begin(), tasks->end()), (std::set<Digest>{t1, t2}));
  auto r = c.ResolveTask("arith");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, t1);
  EXPECT_EQ(*c.ResolveTask(t2.Hex()), t2);
  EXPECT_EQ(*c.ResolveTask(t2.Hex().substr(0, 10)), t2);
  EXPECT_TRUE(c.ResolveTask("nosuch").status().IsNotFound());
  auto amb = c.ResolveModel("beta");
  ASSERT_TRUE(amb.status().IsInvalidArgument());
  EXPECT_NE(amb.status().message().find("ambiguous"), std::string::npos);
  EXPECT_EQ(*c.ResolveModel("alpha"), D("m1"));

  auto st = c.Stats();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->format_version, 1u);
  EXPECT_EQ(st->results, 11u);
  EXPECT_EQ(st->labels, 5u);  // 3 models, 2 tasks
  EXPECT_GT(st->size_on_disk_bytes, 0u);
  ASSERT_EQ(st->tasks.size(), 2u);
  EXPECT_EQ(st->tasks[0].name, "arith");
  EXPECT_EQ(st->tasks[0].queries, 4u);
  EXPECT_EQ(st->tasks[0].results, 9u);
  EXPECT_EQ(st->tasks[0].models, 2u);
  EXPECT_EQ(st->tasks[0].configs, 2u);
  EXPECT_EQ(st->tasks[1].name, "code");
  EXPECT_EQ(st->tasks[1].results, 1u);
  EXPECT_EQ(st->tasks[1].queries, 0u);
}

TEST(CacheTest, ConcurrentWritersAndReadersShareOneCache) {
  TempDir dir;
  auto opened = Cache::Open(dir.Sub("db"));
  ASSERT_TRUE(opened.ok());
  Cache& c = **opened;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        ResultKey k{D("m" + std::to_string(t)), D("q" + std::to_string(i)), D("c")};
        if (!c.Put(k, Sample(i % 2, "o")).ok()) ++errors;
        std::vector<std::optional<CachedResult>> r;
        if (!c.MultiGet(std::vector<ResultKey>{k}, &r).ok() || !r[0]) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(c.Stats()->results, 200u);
}

}  // namespace
}  // namespace gem
