// Copyright the gem authors. Descendants on a base held in its stored type (bf16) or quantised
// (q8_0, q4_1): a lossless delta on a bf16 base gives the fine-tune's own words and its logits bit
// for bit; on a quantised base, what quantising the fine-tune itself gives; lossy deltas and
// merged LoRA land in the base's type; unmerged LoRA (the hook) works on every base type.
#include <gtest/gtest.h>

#include <cmath>

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

std::unique_ptr<Model> Load(const std::string& dir, const std::string& weights) {
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = weights;
  auto m = Model::Load(dir, lo);
  EXPECT_TRUE(m.ok()) << dir << " " << weights << ": " << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<std::vector<int32_t>> Prompts() {
  return testing::ReadJson(TreeFixture("reference.json"))["prompts"]
      .get<std::vector<std::vector<int32_t>>>();
}

std::vector<std::vector<float>> AllLogits(Model& m, int32_t slot = -1) {
  std::vector<std::vector<float>> out;
  for (const auto& p : Prompts()) {
    auto lg = m.Logits(p, slot);
    EXPECT_TRUE(lg.ok());
    out.push_back(lg.ok() ? *lg : std::vector<float>{});
  }
  return out;
}

// max |a - b| / max |b| over all logits.
double RelErr(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  double diff = 0, scale = 0;
  for (size_t p = 0; p < b.size(); ++p) {
    for (size_t i = 0; i < b[p].size(); ++i) {
      diff = std::max(diff, std::fabs(double(a[p][i]) - b[p][i]));
      scale = std::max(scale, std::fabs(double(b[p][i])));
    }
  }
  return diff / scale;
}

std::vector<std::vector<int32_t>> Greedy(Model& m, int32_t slot = -1) {
  std::vector<GenerateRequest> reqs;
  for (const auto& p : Prompts()) {
    GenerateRequest r;
    r.prompt = p;
    r.max_new_tokens = 8;
    r.stop_at_eos = false;
    r.adapter_slot = slot;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> res;
  EXPECT_TRUE(Generate(m, reqs, GenerateOptions(), &res).ok());
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : res) out.push_back(r.tokens);
  return out;
}

std::unique_ptr<DeltaFile> MakeDelta(const std::string& ft, DeltaForm form, const TempDir& dir) {
  auto base = SafetensorsSet::Open(TreeFixture("base"));
  auto fts = SafetensorsSet::Open(TreeFixture(ft));
  EXPECT_TRUE(base.ok() && fts.ok());
  EXPECT_TRUE(WriteDelta(**base, **fts, form, dir / "d").ok());
  auto d = DeltaFile::Open(dir / "d");
  EXPECT_TRUE(d.ok());
  return d.ok() ? std::move(d).value() : nullptr;
}

TEST(TypedBaseTest, LosslessDeltaOnBf16BaseIsTheFineTuneBitForBit) {
  auto base = Load(TreeFixture("base"), "stored");
  ASSERT_TRUE(base);
  WeightView v;
  ASSERT_TRUE(base->BaseWeight("model.layers.0.mlp.up_proj.weight", &v));
  ASSERT_EQ(v.type, WeightType::kBF16) << "the tree base is a bf16 checkpoint";
  const auto before = AllLogits(*base);
  WorkingSet ws;
  for (const char* ft : {"ft_math", "ft_code", "ft_chat_f16"}) {
    SCOPED_TRACE(ft);
    TempDir dir;
    auto delta = MakeDelta(ft, DeltaForm::kXor, dir);
    ASSERT_TRUE(delta);
    ASSERT_TRUE(ws.ActivateDelta(base.get(), *delta).ok());
    // Held in the fine-tune's own type (ft_chat_f16's attention: f16 on the bf16 base).
    WeightType t;
    const char* name = std::string(ft) == "ft_code" ? "model.layers.0.mlp.up_proj.weight"
                                                    : "model.layers.0.self_attn.q_proj.weight";
    ASSERT_TRUE(ws.BufferType(name, &t));
    EXPECT_EQ(t, std::string(ft) == "ft_chat_f16" ? WeightType::kF16 : WeightType::kBF16);
    auto direct = Load(TreeFixture(ft), "stored");
    ASSERT_TRUE(direct);
    EXPECT_EQ(AllLogits(*base), AllLogits(*direct));
    EXPECT_EQ(ws.bytes() < 4 * direct->WeightBytes(), true);
  }
  ws.Deactivate(base.get());
  EXPECT_EQ(AllLogits(*base), before) << "the base must be untouched";
}

class QuantisedBaseTest : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantisedBaseTest, DeltaEqualsQuantisingTheFineTune) {
  auto base = Load(TreeFixture("base"), GetParam());
  ASSERT_TRUE(base);
  ASSERT_EQ(base->NumericsId(), GetParam());
  WorkingSet ws;
  for (const char* ft : {"ft_math", "ft_chat_f16"}) {
    SCOPED_TRACE(ft);
    TempDir dir;
    auto delta = MakeDelta(ft, DeltaForm::kXor, dir);
    ASSERT_TRUE(delta);
    ASSERT_TRUE(ws.ActivateDelta(base.get(), *delta).ok());
    WeightType t;
    ASSERT_TRUE(ws.BufferType("model.layers.0.self_attn.q_proj.weight", &t));
    EXPECT_STREQ(WeightTypeName(t), GetParam());
    // Re-quantised from the fine-tune's exact values: what loading the fine-tune quantised gives.
    auto direct = Load(TreeFixture(ft), GetParam());
    ASSERT_TRUE(direct);
    EXPECT_EQ(AllLogits(*base), AllLogits(*direct));
  }
}

TEST_P(QuantisedBaseTest, LoraHookMatchesTheF32PathOnTheSameBase) {
  auto base = Load(TreeFixture("base"), GetParam());
  auto f32 = Load(TreeFixture("base"), "f32");
  ASSERT_TRUE(base && f32);
  // The f32 path on the quantised base's values.
  std::vector<std::vector<float>> deq;
  for (const TensorDesc& t : base->Tensors()) {
    deq.emplace_back(static_cast<size_t>(t.numel()));
    ASSERT_TRUE(base->BaseTensorF32(t.name, deq.back().data()).ok());
    ASSERT_TRUE(f32->SetTensorOverride(t.name, deq.back().data()).ok());
  }
  auto ad = LoraAdapter::Load(TreeFixture("lora_all_r8_rslora"));
  ASSERT_TRUE(ad.ok());
  LoraSlots slots(2);
  ASSERT_TRUE(slots.Set(1, ad->get()).ok());
  base->SetLinearHook(&slots);
  f32->SetLinearHook(&slots);
  const double err = RelErr(AllLogits(*base, 1), AllLogits(*f32, 1));
  EXPECT_LE(err, 2e-3) << GetParam();
  EXPECT_EQ(Greedy(*base, 1), Greedy(*f32, 1));
  EXPECT_NE(Greedy(*base, 1), Greedy(*base, -1)) << "the adapter must change the output";
}

INSTANTIATE_TEST_SUITE_P(Types, QuantisedBaseTest, ::testing::Values("q8_0", "q4_1"));

TEST(TypedBaseTest, LossyDeltaAndMergedLoraOnBf16BaseComputeAsTheF32Path) {
  auto base = Load(TreeFixture("base"), "stored");
  auto f32 = Load(TreeFixture("base"), "f32");
  ASSERT_TRUE(base && f32);
  WorkingSet ws, ws32;
  TempDir dir;
  auto delta = MakeDelta("ft_math", DeltaForm::kInt8, dir);
  ASSERT_TRUE(delta);
  ASSERT_TRUE(ws.ActivateDelta(base.get(), *delta).ok());
  ASSERT_TRUE(ws32.ActivateDelta(f32.get(), *delta).ok());
  WeightType t;
  ASSERT_TRUE(ws.BufferType("model.layers.0.mlp.up_proj.weight", &t));
  EXPECT_EQ(t, WeightType::kF32);
  // f32 buffers on a bf16 base: the f32 path's logits, bit for bit.
  EXPECT_EQ(AllLogits(*base), AllLogits(*f32));

  auto ad = LoraAdapter::Load(TreeFixture("lora_qv_r4"));
  ASSERT_TRUE(ad.ok());
  ASSERT_TRUE(ws.ActivateMergedLora(base.get(), **ad).ok());
  ASSERT_TRUE(ws32.ActivateMergedLora(f32.get(), **ad).ok());
  ASSERT_TRUE(ws.BufferType("model.layers.0.self_attn.q_proj.weight", &t));
  EXPECT_EQ(t, WeightType::kF32);
  EXPECT_EQ(AllLogits(*base), AllLogits(*f32));
}

TEST(TypedBaseTest, LossyDeltaAndMergedLoraOnQuantisedBaseAreRequantised) {
  auto base = Load(TreeFixture("base"), "q8_0");
  ASSERT_TRUE(base);
  const auto plain = AllLogits(*base);
  WorkingSet ws;
  TempDir dir;
  auto delta = MakeDelta("ft_math", DeltaForm::kInt8, dir);
  ASSERT_TRUE(delta);
  ASSERT_TRUE(ws.ActivateDelta(base.get(), *delta).ok());
  WeightType t;
  ASSERT_TRUE(ws.BufferType("model.layers.0.mlp.up_proj.weight", &t));
  EXPECT_EQ(t, WeightType::kQ8_0);
  // Closer to the fine-tune (quantised the same way) than the base is.
  auto direct = Load(TreeFixture("ft_math"), "q8_0");
  ASSERT_TRUE(direct);
  const auto want = AllLogits(*direct);
  EXPECT_LT(RelErr(AllLogits(*base), want), RelErr(plain, want));
  auto ad = LoraAdapter::Load(TreeFixture("lora_qv_r4"));
  ASSERT_TRUE(ad.ok());
  ASSERT_TRUE(ws.ActivateMergedLora(base.get(), **ad).ok());
  ASSERT_TRUE(ws.BufferType("model.layers.0.self_attn.q_proj.weight", &t));
  EXPECT_EQ(t, WeightType::kQ8_0);
  EXPECT_NE(AllLogits(*base), plain);
}

}  // namespace
}  // namespace gem
