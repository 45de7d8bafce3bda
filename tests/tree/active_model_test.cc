// Copyright the gem authors. The resident base turned into its descendants by the engine:
// base (+) lossless delta computes exactly what the fine-tune loaded directly computes; merged,
// unmerged and batched LoRA give PEFT's reference greedy ids; a batch mixing adapters equals
// running each alone; the base itself is never modified.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gem/adapter.h"
#include "gem/delta.h"
#include "gem/generate.h"
#include "gem/model.h"
#include "gem/tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;
using testing::TreeFixture;

class ActiveModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ref_ = new nlohmann::json(testing::ReadJson(TreeFixture("reference.json")));
    LoadOptions lo;
    lo.threads = 1;
    lo.weights = "f32";  // the f32 path (typed_base_test.cc: the base in its stored bf16, q8_0)
    auto m = Model::Load(TreeFixture("base"), lo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    base_ = std::move(m).value().release();
  }
  static void TearDownTestSuite() {
    delete base_;
    delete ref_;
  }
  void TearDown() override {
    base_->ClearTensorOverrides();
    base_->SetLinearHook(nullptr);
  }

  static std::vector<std::vector<int32_t>> Prompts() {
    return (*ref_)["prompts"].get<std::vector<std::vector<int32_t>>>();
  }
  static std::vector<std::vector<int32_t>> RefGreedy(const std::string& model) {
    return (*ref_)["models"][model]["greedy"].get<std::vector<std::vector<int32_t>>>();
  }
  // Greedy ids for every prompt, each with `slot`, all in one batch.
  static std::vector<std::vector<int32_t>> Greedy(Model& m, const std::vector<int32_t>& slots) {
    const auto prompts = Prompts();
    std::vector<GenerateRequest> reqs;
    for (size_t i = 0; i < slots.size(); ++i) {
      GenerateRequest r;
      r.prompt = prompts[i % prompts.size()];
      r.max_new_tokens = (*ref_)["greedy_new_tokens"].get<int>();
      r.stop_at_eos = false;
      r.adapter_slot = slots[i];
      reqs.push_back(r);
    }
    std::vector<GenerateResult> res;
    Status s = Generate(m, reqs, GenerateOptions(), &res);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::vector<int32_t>> out;
    for (const auto& r : res) out.push_back(r.tokens);
    return out;
  }
  static std::vector<std::vector<int32_t>> Greedy(Model& m, int32_t slot = -1) {
    return Greedy(m, std::vector<int32_t>(Prompts().size(), slot));
  }
  // Last-position logits against the reference, relative to the largest magnitude.
  static void ExpectRefLogits(Model& m, const std::string& model, int32_t slot = -1) {
    const auto prompts = Prompts();
    for (size_t p = 0; p < prompts.size(); ++p) {
      auto lg = m.Logits(prompts[p], slot);
      ASSERT_TRUE(lg.ok()) << lg.status().ToString();
      const auto want = (*ref_)["models"][model]["last_logits"][p].get<std::vector<float>>();
      const size_t vocab = want.size();
      const float* got = lg->data() + lg->size() - vocab;
      float scale = 0;
      for (float w : want) scale = std::max(scale, std::fabs(w));
      for (size_t i = 0; i < vocab; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-4 * scale) << model << " prompt " << p << " id " << i;
    }
  }
  static std::vector<std::vector<float>> AllLogits(Model& m, int32_t slot = -1) {
    std::vector<std::vector<float>> out;
    for (const auto& p : Prompts()) {
      auto lg = m.Logits(p, slot);
      EXPECT_TRUE(lg.ok());
      out.push_back(lg.ok() ? *lg : std::vector<float>{});
    }
    return out;
  }

  static nlohmann::json* ref_;
  static Model* base_;
};

nlohmann::json* ActiveModelTest::ref_ = nullptr;
Model* ActiveModelTest::base_ = nullptr;

TEST_F(ActiveModelTest, BaseMatchesTheReference) {
  ExpectRefLogits(*base_, "base");
  EXPECT_EQ(Greedy(*base_), RefGreedy("base"));
}

TEST_F(ActiveModelTest, LosslessDeltaEqualsLoadingTheFineTune) {
  auto base_set = SafetensorsSet::Open(TreeFixture("base"));
  ASSERT_TRUE(base_set.ok());
  const auto before = AllLogits(*base_);
  WorkingSet ws;
  for (const char* ft : {"ft_math", "ft_code", "ft_chat_f16"}) {
    SCOPED_TRACE(ft);
    TempDir dir;
    auto ft_set = SafetensorsSet::Open(TreeFixture(ft));
    ASSERT_TRUE(ft_set.ok());
    ASSERT_TRUE(WriteDelta(**base_set, **ft_set, DeltaForm::kXor, dir / "d").ok());
    auto delta = DeltaFile::Open(dir / "d");
    ASSERT_TRUE(delta.ok());
    ASSERT_TRUE(ws.ActivateDelta(base_, **delta).ok());
    EXPECT_EQ(base_->num_overrides(), (*delta)->tensors().size());

    LoadOptions lo;
    lo.threads = 1;
    lo.weights = "f32";
    auto direct = Model::Load(TreeFixture(ft), lo);
    ASSERT_TRUE(direct.ok()) << direct.status().ToString();
    // Every weight the fine-tune has, the active model has, bit for bit ...
    for (const TensorDesc& t : (*direct)->Tensors()) {
      const float* want = (*direct)->BaseTensor(t.name);
      const std::vector<float>* buf = ws.Buffer(t.name);
      const float* got = (*delta)->Find(t.name) ? buf->data() : base_->BaseTensor(t.name);
      ASSERT_EQ(0, std::memcmp(got, want, t.numel() * 4)) << t.name;
    }
    // ... so the logits are equal, not just close.
    const auto got = AllLogits(*base_);
    const auto want = AllLogits(**direct);
    for (size_t p = 0; p < got.size(); ++p) {
      ASSERT_EQ(got[p].size(), want[p].size());
      EXPECT_EQ(0, std::memcmp(got[p].data(), want[p].data(), got[p].size() * 4)) << "prompt " << p;
    }
    ExpectRefLogits(*base_, ft);
    EXPECT_EQ(Greedy(*base_), RefGreedy(ft));
  }
  ws.Deactivate(base_);
  EXPECT_EQ(AllLogits(*base_), before) << "the base must be untouched";
}

TEST_F(ActiveModelTest, LossyDeltasStayCloseToTheFineTune) {
  auto base_set = SafetensorsSet::Open(TreeFixture("base"));
  auto ft_set = SafetensorsSet::Open(TreeFixture("ft_math"));
  ASSERT_TRUE(base_set.ok() && ft_set.ok());
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = "f32";
  auto direct = Model::Load(TreeFixture("ft_math"), lo);
  ASSERT_TRUE(direct.ok());
  const auto want = AllLogits(**direct);
  const auto base_logits = AllLogits(*base_);
  WorkingSet ws;
  for (DeltaForm form : {DeltaForm::kInt8, DeltaForm::kSign}) {
    TempDir dir;
    ASSERT_TRUE(WriteDelta(**base_set, **ft_set, form, dir / "d").ok());
    auto delta = DeltaFile::Open(dir / "d");
    ASSERT_TRUE(delta.ok());
    ASSERT_TRUE(ws.ActivateDelta(base_, **delta).ok());
    const auto got = AllLogits(*base_);
    double err = 0, moved = 0;  // distance to the fine-tune vs the base's distance to it
    for (size_t p = 0; p < got.size(); ++p)
      for (size_t i = 0; i < got[p].size(); ++i) {
        err = std::max(err, double(std::fabs(got[p][i] - want[p][i])));
        moved = std::max(moved, double(std::fabs(base_logits[p][i] - want[p][i])));
      }
    std::printf("[ %s ] max |logit - fine-tune logit| %.4g (base: %.4g)\n", DeltaFormName(form),
                err, moved);
    EXPECT_LT(err, moved) << DeltaFormName(form)
                          << " should be closer to the fine-tune than the base";
  }
}

class LoraModes : public ActiveModelTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(LoraModes, MergedAndUnmergedGivePeftGreedyIds) {
  const std::string name = GetParam();
  // The fixture adapter changes the greedy ids, so matching PEFT shows the adapter is applied.
  ASSERT_NE(RefGreedy(name), RefGreedy("base"));
  auto ad = LoraAdapter::Load(TreeFixture(name));
  ASSERT_TRUE(ad.ok()) << ad.status().ToString();
  ASSERT_TRUE((*ad)->CheckAgainstBase(ShapesOfModel(*base_)).ok());
  // Merged.
  WorkingSet ws;
  ASSERT_TRUE(ws.ActivateMergedLora(base_, **ad).ok());
  ExpectRefLogits(*base_, name);
  EXPECT_EQ(Greedy(*base_), RefGreedy(name)) << "merged";
  ws.Deactivate(base_);
  // Unmerged: the hook, slot 2.
  LoraSlots slots(4);
  ASSERT_TRUE(slots.Set(2, ad->get()).ok());
  base_->SetLinearHook(&slots);
  ExpectRefLogits(*base_, name, 2);
  EXPECT_EQ(Greedy(*base_, 2), RefGreedy(name)) << "unmerged";
  EXPECT_EQ(Greedy(*base_, -1), RefGreedy("base")) << "slot -1 is the base";
}

INSTANTIATE_TEST_SUITE_P(Adapters, LoraModes,
                         ::testing::Values("lora_qv_r4", "lora_all_r8_rslora", "lora_mlp_r2"));

TEST_F(ActiveModelTest, BatchMixingAdaptersEqualsEachAlone) {
  const char* names[] = {"lora_qv_r4", "lora_all_r8_rslora", "lora_mlp_r2"};
  std::vector<std::unique_ptr<LoraAdapter>> ads;
  LoraSlots slots(8);
  for (int i = 0; i < 3; ++i) {
    auto ad = LoraAdapter::Load(TreeFixture(names[i]));
    ASSERT_TRUE(ad.ok());
    ads.push_back(std::move(ad).value());
    ASSERT_TRUE(slots.Set(5 + i, ads.back().get()).ok());  // slots 5, 6, 7
  }
  base_->SetLinearHook(&slots);
  // One batch: every prompt with every adapter and with none, interleaved.
  const size_t np = Prompts().size();
  std::vector<int32_t> batch_slots;
  for (int32_t s : {7, -1, 5, 6})
    for (size_t p = 0; p < np; ++p) batch_slots.push_back(s);
  const auto mixed = Greedy(*base_, batch_slots);
  ASSERT_EQ(mixed.size(), 4 * np);
  auto part = [&](size_t k) {
    return std::vector<std::vector<int32_t>>(mixed.begin() + k * np, mixed.begin() + (k + 1) * np);
  };
  EXPECT_EQ(part(0), RefGreedy(names[2]));
  EXPECT_EQ(part(1), RefGreedy("base"));
  EXPECT_EQ(part(2), RefGreedy(names[0]));
  EXPECT_EQ(part(3), RefGreedy(names[1]));
  // Each alone, in its own batch.
  EXPECT_EQ(part(0), Greedy(*base_, 7));
  EXPECT_EQ(part(1), Greedy(*base_, -1));
  EXPECT_EQ(part(2), Greedy(*base_, 5));
  EXPECT_EQ(part(3), Greedy(*base_, 6));
}

}  // namespace
}  // namespace gem
