// Copyright the gem authors. End to end: the fixture model tree (tiny Llama base, three
// fine-tunes as deltas, three LoRA adapters) is searched on a small task through the engine
// evaluator; every evaluation must come from real generation, each output must equal an
// independent generation of the same prompt, and a repeated search must come from the cache.
#include "gem/engine_evaluator.h"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>
#include <set>

#include "gem/cache.h"
#include "gem/chat.h"
#include "gem/grader.h"
#include "gem/search.h"
#include "gem/tokenizer.h"
#include "task/test_util.h"
#if GEM_HAVE_CUDA
#include "engine/cuda/backend_cuda.h"
#include "engine/cuda/device.h"
#endif

namespace gem {
namespace {

// Small prompts (the fixture's context is short) with graders that tell the models apart.
constexpr char kTinyTask[] =
    "{\"format\": \"gem-task/1\", \"max_new_tokens\": 8}\n"
    "{\"id\": \"add\", \"prompt\": \"1 + 2 =\", \"answer\": 3, \"grader\": \"numeric\"}\n"
    "{\"id\": \"digit\", \"prompt\": \"7 * 6 =\", \"answer\": \"\", "
    "\"grader\": {\"name\": \"regex\", \"pattern\": \"[0-9]\", \"match_only\": true}}\n"
    "{\"id\": \"code\", \"prompt\": \"def f(x):\", \"answer\": \"\", "
    "\"grader\": {\"name\": \"regex\", \"pattern\": \"return|\\\\(\", \"match_only\": true}}\n"
    "{\"id\": \"word\", \"prompt\": \"The cat\", \"answer\": \"\", "
    "\"grader\": {\"name\": \"regex\", \"pattern\": \"\\\\bthe\\\\b\", \"ignore_case\": true, "
    "\"match_only\": true}}\n"
    "{\"id\": \"sum\", \"prompt\": \"2 + 2 =\", \"answer\": 4, \"grader\": \"numeric\"}\n"
    "{\"id\": \"space\", \"prompt\": \"hello\", \"answer\": \"\", "
    "\"grader\": {\"name\": \"regex\", \"pattern\": \" \", \"match_only\": true}}\n";

// Records every request and detail the search saw.
class Recorder final : public Evaluator {
 public:
  explicit Recorder(Evaluator* inner) : inner_(inner) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    std::vector<EvalDetail> d;
    GEM_RETURN_IF_ERROR(inner_->Evaluate(requests, outcomes, &d));
    for (size_t i = 0; i < requests.size(); ++i) {
      seen.push_back({requests[i], outcomes[i], d.at(i)});
    }
    if (details) *details = std::move(d);
    return Status::OK();
  }
  struct Seen {
    EvalRequest request;
    EvalOutcome outcome;
    EvalDetail detail;
  };
  std::vector<Seen> seen;

 private:
  Evaluator* inner_;
};

class EngineEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string manifest = std::string(GEM_SOURCE_DIR) + "/tests/fixtures/tree/tree.json";
    if (!testing::FileExists(manifest)) GTEST_SKIP() << "fixture tree missing: " << manifest;
    ASSERT_FALSE(data_.path().empty());
    RegisterOptions ro;
    ro.forms = {DeltaForm::kXor};
    auto tree = RegisterTree(manifest, data_.path() + "/data", ro);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    tree_ = std::move(tree).value();
    LoadOptions lo;
    lo.threads = 1;
    auto m = Model::Load(tree_.base_path, lo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value();
    auto c = CandidatesFromTree(tree_, data_.path() + "/data");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    candidates_ = *c;
    auto t = ParseCustomTask("tiny", kTinyTask, "tiny.jsonl", TaskOptions());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    task_ = *t;
  }

  // The output of candidate m for query q in variant v, generated independently of the
  // evaluator: its own activation, prompt rendering and a Generate call of one sequence.
  std::string Reference(uint32_t m, uint32_t q, uint8_t v) {
    const EngineCandidate& c = candidates_[m];
    WorkingSet ws;
    std::unique_ptr<DeltaFile> delta;
    std::unique_ptr<LoraAdapter> lora;
    if (c.kind == EngineCandidate::Kind::kDelta) {
      delta = std::move(DeltaFile::Open(c.path)).value();
      EXPECT_TRUE(ws.ActivateDelta(model_.get(), *delta).ok());
    } else if (c.kind == EngineCandidate::Kind::kMergedLora) {
      lora = std::move(LoraAdapter::Load(c.path)).value();
      EXPECT_TRUE(ws.ActivateMergedLora(model_.get(), *lora).ok());
    } else {
      model_->ClearTensorOverrides();
    }
    const Query& query = task_->query(q);
    const Tokenizer* tok = model_->tokenizer();
    ChatStyle style = DetectChatStyle(tok->chat_template());
    ChatPrompt p{v == 1 ? (style.default_system.empty() ? query.system : style.default_system)
                        : std::string(),
                 query.user};
    GenerateRequest g;
    g.prompt = tok->Encode(RenderChat(style.format, p),
                           style.format == ChatFormat::kRaw && tok->add_bos_default(), true);
    g.max_new_tokens = static_cast<int>(query.max_new_tokens);
    g.stop_strings = query.stop;
    std::vector<GenerateResult> out;
    EXPECT_TRUE(
        Generate(*model_, std::span<const GenerateRequest>(&g, 1), GenerateOptions(), &out).ok());
    ws.Deactivate(model_.get());
    return out.at(0).text;
  }

  testing::TempDir data_;
  RegisteredTree tree_;
  std::unique_ptr<Model> model_;
  std::vector<EngineCandidate> candidates_;
  std::shared_ptr<const Task> task_;
};

TEST_F(EngineEvaluatorTest, SearchRunsOnRealGenerationAndRepeatsFromTheCache) {
  ASSERT_EQ(candidates_.size(), 7u);  // base, 3 fine-tunes (xor deltas), 3 adapters
  std::set<Digest> digests;
  for (const auto& c : candidates_) digests.insert(c.digest);
  EXPECT_EQ(digests.size(), 7u);

  auto cache = Cache::Open(data_.path() + "/db");
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  SearchOptions so;
  so.method = "sequential_halving";
  so.queries_per_model = 4;
  so.seed = 5;
  so.shuffle_queries = false;

  SearchResult first;
  EngineEvaluator::Stats stats1;
  std::vector<Recorder::Seen> seen;
  {
    auto ev = EngineEvaluator::Create(model_.get(), candidates_, task_);
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    CachedEvaluator c0(cache->get(), (*ev)->variant(0), (*ev)->model_digests(),
                       (*ev)->query_digests(), ConfigDigest((*ev)->config(0)),
                       {.task = task_->digest()});
    CachedEvaluator c1(cache->get(), (*ev)->variant(1), (*ev)->model_digests(),
                       (*ev)->query_digests(), ConfigDigest((*ev)->config(1)),
                       {.task = task_->digest()});
    EXPECT_NE(ConfigDigest((*ev)->config(0)), ConfigDigest((*ev)->config(1)));
    BetterVariantEvaluator best(&c0, &c1);
    Recorder rec(&best);
    Status s = Search(so, &rec, &first);
    ASSERT_TRUE(s.ok()) << s.ToString();
    stats1 = (*ev)->stats();
    seen = rec.seen;

    // Every evaluation of the search came from real generation, none from a cache.
    EXPECT_GT(first.spent, 0u);
    EXPECT_EQ(first.spent_cached, 0u);
    for (const auto& s : seen) EXPECT_EQ(s.outcome.from_cache, 0);
    std::set<std::pair<uint32_t, uint32_t>> pairs;
    for (const auto& s : seen) pairs.insert({s.request.model, s.request.query});
    // Both variants of each distinct pair were generated, in shared Generate calls: the
    // with-system variant was answered from the generation made for the other.
    EXPECT_EQ(stats1.sequences, 2 * pairs.size());
    EXPECT_EQ(stats1.answered_from_pending, pairs.size());
    EXPECT_EQ(c0.evaluations_run() + c1.evaluations_run(), 2 * first.spent);
    // Activate once per model per round.
    uint64_t model_rounds = 0;
    for (const auto& r : first.rounds) model_rounds += r.survivors.size();
    EXPECT_LE(stats1.activations, model_rounds);
    EXPECT_EQ(stats1.generate_calls, model_rounds);
    std::printf(
        "search: %llu evaluations over %zu rounds, %llu sequences, %llu activations, "
        "chosen %s\n",
        static_cast<unsigned long long>(first.spent), first.rounds.size(),
        static_cast<unsigned long long>(stats1.sequences),
        static_cast<unsigned long long>(stats1.activations),
        candidates_[first.chosen_model].name.c_str());
  }

  // Each reported answer is the output of an independent generation, graded the same way.
  size_t checked = 0, correct = 0, nonempty = 0;
  std::map<std::tuple<uint32_t, uint32_t, uint8_t>, std::string> refs;
  for (const auto& s : seen) {
    auto key = std::make_tuple(s.request.model, s.request.query, s.detail.variant);
    if (!refs.count(key)) refs[key] = Reference(s.request.model, s.request.query, s.detail.variant);
    const std::string& ref = refs[key];
    EXPECT_EQ(s.detail.output, ref)
        << candidates_[s.request.model].name << " " << task_->query(s.request.query).id;
    auto g = GradeOutput(task_->query(s.request.query), ref);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(s.outcome.correct, g->correct ? 1 : 0);
    EXPECT_EQ(s.detail.reason, g->reason);
    EXPECT_GT(s.detail.tokens_in, 0u);
    EXPECT_GT(s.detail.tokens_out, 0u);
    nonempty += !s.detail.output.empty();
    ++checked;
    correct += s.outcome.correct;
  }
  EXPECT_EQ(checked, first.spent);
  EXPECT_GT(nonempty, checked / 2) << "the models generated mostly nothing";
  std::printf(
      "checked %zu answers against independent generation; %zu correct, %zu non-empty; "
      "e.g. %s on '%s': \"%s\"\n",
      checked, correct, nonempty, candidates_[seen[0].request.model].name.c_str(),
      task_->query(seen[0].request.query).user.c_str(), seen[0].detail.output.c_str());

  // The same search again, with a fresh engine evaluator: everything comes from the cache, the
  // engine generates nothing, and the result is the same.
  {
    auto ev = EngineEvaluator::Create(model_.get(), candidates_, task_);
    ASSERT_TRUE(ev.ok());
    CachedEvaluator c0(cache->get(), (*ev)->variant(0), (*ev)->model_digests(),
                       (*ev)->query_digests(), ConfigDigest((*ev)->config(0)),
                       {.task = task_->digest()});
    CachedEvaluator c1(cache->get(), (*ev)->variant(1), (*ev)->model_digests(),
                       (*ev)->query_digests(), ConfigDigest((*ev)->config(1)),
                       {.task = task_->digest()});
    BetterVariantEvaluator best(&c0, &c1);
    SearchResult again;
    ASSERT_TRUE(Search(so, &best, &again).ok());
    EXPECT_EQ((*ev)->stats().sequences, 0u);
    EXPECT_EQ(again.spent_cached, again.spent);
    EXPECT_EQ(again.chosen_model, first.chosen_model);
    EXPECT_EQ(again.wins, first.wins);
  }
}

TEST_F(EngineEvaluatorTest, BatchingDoesNotChangeAnswers) {
  auto ev = EngineEvaluator::Create(model_.get(), candidates_, task_);
  ASSERT_TRUE(ev.ok());
  // All pairs in one batch, without the second variant...
  EngineEvalOptions single;
  single.both_variants = false;
  auto ev1 = EngineEvaluator::Create(model_.get(), candidates_, task_, single);
  ASSERT_TRUE(ev1.ok());
  std::vector<EvalRequest> all;
  for (uint32_t m = 0; m < candidates_.size(); ++m) {
    for (uint32_t q = 0; q < task_->size(); ++q) all.push_back({m, q});
  }
  std::vector<EvalOutcome> o_all(all.size());
  std::vector<EvalDetail> d_all;
  ASSERT_TRUE((*ev1)->variant(1)->Evaluate(all, o_all, &d_all).ok());
  EXPECT_EQ((*ev1)->stats().sequences, all.size());
  // ... equals one request at a time, in reverse order, through the two-variant evaluator.
  for (size_t i = all.size(); i-- > 0;) {
    EvalOutcome o;
    std::vector<EvalDetail> d;
    ASSERT_TRUE((*ev)->variant(1)->Evaluate(std::span(&all[i], 1), std::span(&o, 1), &d).ok());
    EXPECT_EQ(o.correct, o_all[i].correct);
    EXPECT_EQ(d[0].output, d_all[i].output);
    EXPECT_EQ(d[0].variant, 1);
  }
}

TEST_F(EngineEvaluatorTest, OutcomesDoNotDependOnScheduleSlotsOrArrivalOrder) {
  std::vector<EvalRequest> all;
  for (uint32_t m = 0; m < candidates_.size(); ++m) {
    for (uint32_t q = 0; q < task_->size(); ++q) all.push_back({m, q});
  }
  auto ev = EngineEvaluator::Create(model_.get(), candidates_, task_);
  ASSERT_TRUE(ev.ok());
  std::vector<EvalOutcome> want(all.size());
  std::vector<EvalDetail> want_d;
  ASSERT_TRUE((*ev)->variant(1)->Evaluate(all, want, &want_d).ok());
  struct Config {
    Schedule schedule;
    int slots, budget, min_shared;
  };
  std::mt19937 rng(3);
  for (const Config& c :
       {Config{Schedule::kWaves, 2, 2048, 8}, Config{Schedule::kContinuous, 2, 5, 0},
        Config{Schedule::kContinuous, 3, 7, 1}}) {
    EngineEvalOptions o;
    o.generate.schedule = c.schedule;
    o.generate.max_batch_sequences = c.slots;
    o.generate.max_prefill_tokens = c.budget;
    o.generate.min_shared_prefix = c.min_shared;
    auto other = EngineEvaluator::Create(model_.get(), candidates_, task_, o);
    ASSERT_TRUE(other.ok());
    std::vector<size_t> order(all.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<EvalRequest> shuffled;
    for (size_t i : order) shuffled.push_back(all[i]);
    std::vector<EvalOutcome> got(all.size());
    std::vector<EvalDetail> got_d;
    ASSERT_TRUE((*other)->variant(1)->Evaluate(shuffled, got, &got_d).ok());
    for (size_t k = 0; k < order.size(); ++k) {
      EXPECT_EQ(got[k].correct, want[order[k]].correct) << "slots " << c.slots;
      EXPECT_EQ(got_d[k].output, want_d[order[k]].output) << "slots " << c.slots;
    }
  }
}

TEST_F(EngineEvaluatorTest, PrefetchingTheNextDeltaDoesNotChangeAnswers) {
  EngineEvalOptions off;
  off.prefetch_max_bytes = 0;
  auto ev_on = EngineEvaluator::Create(model_.get(), candidates_, task_);
  auto ev_off = EngineEvaluator::Create(model_.get(), candidates_, task_, off);
  ASSERT_TRUE(ev_on.ok() && ev_off.ok());
  std::vector<EvalRequest> all;
  for (uint32_t m = 0; m < candidates_.size(); ++m) {
    for (uint32_t q = 0; q < task_->size(); ++q) all.push_back({m, q});
  }
  size_t deltas_after_another = 0;  // a delta whose predecessor in the batch is some model
  for (size_t m = 1; m < candidates_.size(); ++m) {
    deltas_after_another += candidates_[m].kind == EngineCandidate::Kind::kDelta;
  }
  ASSERT_GT(deltas_after_another, 1u) << "the fixture tree has fine-tunes";
  for (uint8_t v : {0, 1}) {
    std::vector<EvalOutcome> o_on(all.size()), o_off(all.size());
    std::vector<EvalDetail> d_on, d_off;
    ASSERT_TRUE((*ev_on)->variant(v)->Evaluate(all, o_on, &d_on).ok());
    ASSERT_TRUE((*ev_off)->variant(v)->Evaluate(all, o_off, &d_off).ok());
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(o_on[i].correct, o_off[i].correct) << i;
      EXPECT_EQ(d_on[i].output, d_off[i].output) << i;
    }
  }
  // Variant 1 was answered from the pending results: one pass over the models.
  EXPECT_EQ((*ev_on)->stats().prefetched, deltas_after_another);
  EXPECT_EQ((*ev_off)->stats().prefetched, 0u);
  EXPECT_EQ((*ev_on)->stats().activations, (*ev_off)->stats().activations);
  // And both equal an independent generation.
  std::vector<EvalOutcome> o(all.size());
  std::vector<EvalDetail> d;
  auto ev2 = EngineEvaluator::Create(model_.get(), candidates_, task_);
  ASSERT_TRUE(ev2.ok());
  ASSERT_TRUE((*ev2)->variant(0)->Evaluate(all, o, &d).ok());
  for (size_t i = 0; i < all.size(); i += 5) {
    EXPECT_EQ(d[i].output, Reference(all[i].model, all[i].query, 0)) << i;
  }
}

TEST_F(EngineEvaluatorTest, ErrorsNameTheCandidate) {
  auto cands = candidates_;
  cands[1].path = data_.path() + "/missing.gemdelta";
  auto ev = EngineEvaluator::Create(model_.get(), cands, task_);
  ASSERT_TRUE(ev.ok());
  EvalRequest r{1, 0};
  EvalOutcome o;
  Status s = (*ev)->variant(0)->Evaluate(std::span(&r, 1), std::span(&o, 1), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(cands[1].name), std::string::npos) << s.ToString();
  // The same when the missing delta was to be decoded beside the model before it.
  auto ev2 = EngineEvaluator::Create(model_.get(), cands, task_);
  ASSERT_TRUE(ev2.ok());
  EvalRequest both[2] = {{0, 0}, {1, 0}};
  EvalOutcome o2[2];
  s = (*ev2)->variant(0)->Evaluate(both, o2, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(cands[1].name), std::string::npos) << s.ToString();
  EXPECT_FALSE(EngineEvaluator::Create(model_.get(), {}, task_).ok());
}

#if GEM_HAVE_CUDA
// The fixture tree's base through the CUDA backend's table (LoadOptions::backend): its answers
// are cached under another config (numerics=cuda.v1) than the CPU backend's, and every candidate
// (xor deltas, merged and unmerged LoRA adapters) runs through it. Without a GPU every op is the
// CPU backend's, so the answers must also be the CPU's, output for output.
TEST_F(EngineEvaluatorTest, TheCudaBackendRunsEveryCandidateAndIsKeyedApart) {
  LoadOptions lo;
  lo.threads = 1;
  lo.backend = cuda::CudaBackend(0);
  auto gm = Model::Load(tree_.base_path, lo);
  ASSERT_TRUE(gm.ok()) << gm.status().ToString();
  EXPECT_STREQ((*gm)->backend_name(), "cuda");
  EXPECT_STREQ(model_->backend_name(), "cpu");
  auto cpu_ev = EngineEvaluator::Create(model_.get(), candidates_, task_);
  auto gpu_ev = EngineEvaluator::Create(gm->get(), candidates_, task_);
  ASSERT_TRUE(cpu_ev.ok() && gpu_ev.ok());
  for (uint8_t v : {0, 1}) {
    EXPECT_NE(ConfigDigest((*cpu_ev)->config(v)), ConfigDigest((*gpu_ev)->config(v)));
    EXPECT_NE((*gpu_ev)->config(v).extra.find("numerics=cuda.v1\n"), std::string::npos);
    EXPECT_EQ((*cpu_ev)->config(v).extra.find("numerics="), std::string::npos);
  }
  auto gpus = cuda::ListDevices();
  if (gpus.ok() && !gpus->empty()) GTEST_SKIP() << "a GPU: gem-gpu-check compares the numerics";
  std::vector<EvalRequest> reqs;
  for (uint32_t m = 0; m < candidates_.size(); ++m) {
    for (uint32_t q = 0; q < 2; ++q) reqs.push_back({m, q});
  }
  std::vector<EvalOutcome> want(reqs.size()), got(reqs.size());
  std::vector<EvalDetail> want_d, got_d;
  ASSERT_TRUE((*cpu_ev)->variant(0)->Evaluate(reqs, want, &want_d).ok());
  ASSERT_TRUE((*gpu_ev)->variant(0)->Evaluate(reqs, got, &got_d).ok());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(got[i].correct, want[i].correct) << "model " << reqs[i].model;
    EXPECT_EQ(got_d.at(i).output, want_d.at(i).output) << "model " << reqs[i].model;
  }
  EXPECT_GT(cuda::CudaBackendFallbacks(0), 0u);  // the device was asked, and was not there
}
#endif

}  // namespace
}  // namespace gem
