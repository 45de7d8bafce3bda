// Copyright the gem authors. A round spread over 2, 3 or 4 devices gives the same search result
// and the same cache contents as one device (gem/spread_evaluator.h). The devices are CPU
// stand-ins: replayed matrices for every search method, and real engines - one resident copy of
// the demo tree's base per device - for the default method on the demo task.
#include "gem/spread_evaluator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "gem/cache.h"
#include "gem/engine_evaluator.h"
#include "gem/population.h"
#include "gem/search.h"
#include "gem/task.h"
#include "gem/tree.h"
#include "task/test_util.h"

namespace gem {
namespace {

// A device stand-in that records which models it was given and on which thread.
class Device final : public Evaluator {
 public:
  explicit Device(Evaluator* inner) : inner_(inner) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    for (const EvalRequest& r : requests) models.insert(r.model);
    threads.insert(std::this_thread::get_id());
    return inner_->Evaluate(requests, outcomes, details);
  }
  std::set<uint32_t> models;
  std::set<std::thread::id> threads;

 private:
  Evaluator* inner_;
};

// Records the most distinct models one batch held.
class Width final : public Evaluator {
 public:
  explicit Width(Evaluator* inner) : inner_(inner) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    std::set<uint32_t> m;
    for (const EvalRequest& r : requests) m.insert(r.model);
    max_models = std::max(max_models, m.size());
    return inner_->Evaluate(requests, outcomes, details);
  }
  size_t max_models = 0;

 private:
  Evaluator* inner_;
};

// One cached result without its timings, for comparing cache contents.
using Entry = std::tuple<std::string, std::string, std::string, int, std::string, std::string,
                         uint32_t, uint32_t, int>;

std::set<Entry> CacheContents(const Cache& cache, const Digest& task) {
  std::set<Entry> out;
  Status st = cache.ForEachTaskResult(task, nullptr, [&](const ResultKey& k) {
    CachedResult r;
    EXPECT_TRUE(cache.Get(k, &r).ok());
    out.insert({k.model.Hex(), k.query.Hex(), k.config.Hex(), r.correct, r.output, r.reason,
                r.tokens_in, r.tokens_out, r.variant});
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

void ExpectSameSearch(const SearchResult& a, const SearchResult& b, const std::string& what) {
  EXPECT_EQ(a.chosen_model, b.chosen_model) << what;
  EXPECT_EQ(a.spent, b.spent) << what;
  EXPECT_EQ(a.pulls, b.pulls) << what;
  EXPECT_EQ(a.wins, b.wins) << what;
  EXPECT_EQ(a.rounds.size(), b.rounds.size()) << what;
}

TEST(SpreadEvaluator, EveryMethodGivesTheSameResultAndCacheOnOneToFourDevices) {
  std::mt19937 rng(5);
  auto matrix = std::make_shared<ResponseMatrix>(37, 300);
  for (uint32_t m = 0; m < 37; ++m) {
    const double p = 0.2 + 0.6 * m / 37.0;
    for (uint32_t q = 0; q < 300; ++q) matrix->Set(m, q, std::bernoulli_distribution(p)(rng));
  }
  std::vector<Digest> models, queries;
  for (uint32_t m = 0; m < 37; ++m)
    models.push_back(NameDigest(LabelKind::kModel, "m" + std::to_string(m)));
  for (uint32_t q = 0; q < 300; ++q)
    queries.push_back(NameDigest(LabelKind::kQuery, "q" + std::to_string(q)));
  const Digest task = NameDigest(LabelKind::kTask, "spread");
  const Digest config = NameDigest(LabelKind::kConfig, "replay");

  for (const std::string& method : SearchMethods()) {
    SearchResult one;
    std::set<Entry> one_cache;
    for (int n : {1, 2, 3, 4}) {
      testing::TempDir dir;
      StoreOptions no_fsync;  // a test's store need not survive power loss
      no_fsync.sync = false;
      auto cache = Cache::Open(dir.path() + "/db", no_fsync);
      ASSERT_TRUE(cache.ok()) << cache.status().ToString();
      std::vector<std::unique_ptr<MatrixEvaluator>> engines;
      std::vector<std::unique_ptr<Device>> devices;
      std::vector<Evaluator*> ptrs;
      for (int d = 0; d < n; ++d) {
        engines.push_back(std::make_unique<MatrixEvaluator>(matrix, /*replay_record=*/false));
        devices.push_back(std::make_unique<Device>(engines.back().get()));
        ptrs.push_back(devices.back().get());
      }
      SpreadEvaluator spread(ptrs);
      Width width(&spread);
      CachedEvaluator cached(cache->get(), &width, models, queries, config, {.task = task});
      SearchOptions so;
      so.method = method;
      so.queries_per_model = 20;
      so.seed = 3;
      so.shuffle_queries = false;
      SearchResult r;
      Status st = Search(so, &cached, &r);
      ASSERT_TRUE(st.ok()) << method << ": " << st.ToString();
      const std::set<Entry> contents = CacheContents(**cache, task);
      EXPECT_FALSE(contents.empty());
      if (n == 1) {
        one = r;
        one_cache = contents;
        continue;
      }
      const std::string what = method + " on " + std::to_string(n) + " devices";
      ExpectSameSearch(r, one, what);
      EXPECT_EQ(contents, one_cache) << what;
      // When a batch held models enough for every device (methods that ask one pair at a time,
      // such as ttts, never do), every device worked, and on threads of their own.
      if (width.max_models >= static_cast<size_t>(n)) {
        std::set<std::thread::id> threads;
        for (const auto& d : devices) {
          EXPECT_FALSE(d->models.empty()) << what;
          threads.insert(d->threads.begin(), d->threads.end());
        }
        EXPECT_EQ(threads.size(), static_cast<size_t>(n)) << what;
      }
    }
  }
}

TEST(SpreadEvaluator, AModelStaysOnOneDeviceWithinABatch) {
  auto matrix = std::make_shared<ResponseMatrix>(10, 8);
  std::vector<std::unique_ptr<MatrixEvaluator>> engines;
  std::vector<std::unique_ptr<Device>> devices;
  std::vector<Evaluator*> ptrs;
  for (int d = 0; d < 3; ++d) {
    engines.push_back(std::make_unique<MatrixEvaluator>(matrix, false));
    devices.push_back(std::make_unique<Device>(engines.back().get()));
    ptrs.push_back(devices.back().get());
  }
  SpreadEvaluator spread(ptrs);
  std::vector<EvalRequest> req;
  for (uint32_t q = 0; q < 8; ++q) {
    for (uint32_t m : {9u, 2u, 5u, 7u}) req.push_back({m, q});
  }
  std::vector<EvalOutcome> out(req.size());
  ASSERT_TRUE(spread.Evaluate(req, out, nullptr).ok());
  // Distinct models 2, 5, 7, 9 dealt in model order: 2 and 9 to device 0, 5 to 1, 7 to 2.
  EXPECT_EQ(devices[0]->models, (std::set<uint32_t>{2, 9}));
  EXPECT_EQ(devices[1]->models, (std::set<uint32_t>{5}));
  EXPECT_EQ(devices[2]->models, (std::set<uint32_t>{7}));
  EXPECT_EQ(spread.requests_per_device(), (std::vector<uint64_t>{16, 8, 8}));
}

// Real engines on the CPU standing in for GPUs: the demo tree (a base, full fine-tunes as deltas,
// LoRA adapters) with one resident base per device, both prompt variants, the better variant.
TEST(SpreadEvaluator, TheDemoTreeSearchIsTheSameOnOneTwoAndFourEngines) {
  const std::string demo = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";
  testing::TempDir reg_dir;
  RegisterOptions ro;
  ro.forms = {DeltaForm::kXor};
  auto tree = RegisterTree(demo + "/tree.json", reg_dir.path(), ro);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  auto cands = CandidatesFromTree(*tree, reg_dir.path());
  ASSERT_TRUE(cands.ok()) << cands.status().ToString();
  auto loaded = LoadCustomTask("demo_add", demo + "/tasks/demo_add.jsonl", TaskOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::shared_ptr<const Task> task = std::move(loaded.value());
  std::vector<double> downloads = {static_cast<double>(tree->base_meta.downloads)};
  for (const auto& c : tree->candidates) {
    if (c.registered) downloads.push_back(static_cast<double>(c.meta.downloads));
  }
  // Resident bases, one per device (up to 4), loaded once for all runs.
  std::vector<std::unique_ptr<Model>> bases;
  for (int d = 0; d < 4; ++d) {
    LoadOptions lo;
    lo.threads = 1;
    auto m = Model::Load(tree->base_path, lo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    bases.push_back(std::move(m.value()));
  }

  SearchResult one;
  std::set<Entry> one_cache;
  for (int n : {1, 2, 4}) {
    testing::TempDir dir;
    StoreOptions no_fsync;
    no_fsync.sync = false;
    auto cache = Cache::Open(dir.path() + "/db", no_fsync);
    ASSERT_TRUE(cache.ok());
    std::vector<std::unique_ptr<EngineEvaluator>> engines;
    std::vector<Evaluator*> v0, v1;
    for (int d = 0; d < n; ++d) {
      auto ev = EngineEvaluator::Create(bases[d].get(), *cands, task);
      ASSERT_TRUE(ev.ok()) << ev.status().ToString();
      engines.push_back(std::move(ev.value()));
      v0.push_back(engines.back()->variant(0));
      v1.push_back(engines.back()->variant(1));
    }
    SpreadEvaluator s0(v0), s1(v1);
    const EngineEvaluator& e = *engines[0];
    CachedEvaluator c0(cache->get(), &s0, e.model_digests(), e.query_digests(),
                       ConfigDigest(e.config(0)), {.task = task->digest()});
    CachedEvaluator c1(cache->get(), &s1, e.model_digests(), e.query_digests(),
                       ConfigDigest(e.config(1)), {.task = task->digest()});
    BetterVariantEvaluator better(&c0, &c1);
    SearchOptions so;
    so.method = kDefaultSearchMethod;
    so.queries_per_model = 12;
    so.seed = 1;
    so.shuffle_queries = false;
    so.popularity = downloads;
    SearchResult r;
    Status st = Search(so, &better, &r);
    ASSERT_TRUE(st.ok()) << st.ToString();
    const std::set<Entry> contents = CacheContents(**cache, task->digest());
    EXPECT_FALSE(contents.empty());
    if (n == 1) {
      one = r;
      one_cache = contents;
      continue;
    }
    const std::string what = std::to_string(n) + " engines";
    ExpectSameSearch(r, one, what);
    EXPECT_EQ(contents, one_cache) << what;
    for (int d = 0; d < n; ++d) {
      EXPECT_GT(engines[d]->stats().sequences, 0u) << what << ": engine " << d << " idle";
    }
  }
}

}  // namespace
}  // namespace gem
