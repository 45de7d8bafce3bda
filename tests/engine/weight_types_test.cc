// Copyright the gem authors. Models with their weights held in each weight type: logits within
// the documented tolerance of the f32 path (docs/ENGINE.md, "Tolerances"), greedy ids equal to
// transformers' on the fixtures, and the f16/bf16 paths bit-identical to f32.
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace gem {
namespace {

using testing::FixtureDir;
using testing::LoadReference;
using testing::RelError;

// Max relative logits error (max |ours - f32 path| / max |f32 path|, per position) allowed per
// weight type; the integer types' error comes from quantising activations to 8 bits per block
// (the weights themselves are the same values on both paths).
double Tolerance(WeightType t) {
  switch (t) {
    case WeightType::kF32:
    case WeightType::kF16:
    case WeightType::kBF16:
      return 0.0;  // bit-identical
    default:
      return 2e-3;
  }
}

std::unique_ptr<Model> LoadWith(const std::string& dir, const std::string& weights) {
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = weights;
  auto m = Model::Load(dir, lo);
  EXPECT_TRUE(m.ok()) << dir << " weights=" << weights << ": " << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<std::vector<int32_t>> Greedy(Model& m, const testing::Reference& ref) {
  std::vector<GenerateRequest> reqs;
  for (const auto& p : ref.prompts) {
    GenerateRequest r;
    r.prompt = p;
    r.max_new_tokens = static_cast<int>(ref.greedy[0].size());
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> out;
  EXPECT_TRUE(Generate(m, reqs, {}, &out).ok());
  std::vector<std::vector<int32_t>> ids;
  for (const auto& r : out) ids.push_back(r.tokens);
  return ids;
}

// max over prompts and positions of the relative logits error of `typed` against `f32`.
double WorstError(Model& typed, Model& f32, const testing::Reference& ref) {
  const int vocab = f32.config().vocab_size;
  double worst = 0;
  for (const auto& prompt : ref.prompts) {
    auto a = f32.Logits(prompt);
    auto b = typed.Logits(prompt);
    EXPECT_TRUE(a.ok() && b.ok());
    if (!a.ok() || !b.ok()) return 1e9;
    for (size_t pos = 0; pos < prompt.size(); ++pos) {
      std::vector<float> want(a->begin() + pos * vocab, a->begin() + (pos + 1) * vocab);
      worst = std::max(worst, RelError(b->data() + pos * vocab, want));
    }
  }
  return worst;
}

struct Case {
  std::string fixture;
  std::string weights;  // LoadOptions::weights: a type to quantise the f32 fixture to
};

class WeightTypeParityTest : public ::testing::TestWithParam<Case> {};

// The fixture quantised to a type, against the f32 path on the very same (dequantised) weights:
// the difference is the kernels' (activations quantised per block), not the weights'.
TEST_P(WeightTypeParityTest, LogitsNearTheF32PathOnTheSameWeightsAndGreedyIdsEqual) {
  const Case& c = GetParam();
  const std::string dir = FixtureDir(c.fixture);
  auto ref = LoadReference(dir + "/reference.json");
  auto typed = LoadWith(dir, c.weights);
  auto f32 = LoadWith(dir, "f32");
  ASSERT_TRUE(f32 && typed);
  const WeightType type = *ParseWeightType(c.weights);
  const std::string summary = typed->WeightSummary();
  ASSERT_NE(summary.find(std::string(WeightTypeName(type)) + ":"), std::string::npos) << summary;
  // The f32 path on the typed model's weights: overrides with their dequantised values.
  std::vector<std::vector<float>> deq;
  for (const TensorDesc& t : typed->Tensors()) {
    deq.emplace_back(static_cast<size_t>(t.numel()));
    ASSERT_TRUE(typed->BaseTensorF32(t.name, deq.back().data()).ok());
    ASSERT_TRUE(f32->SetTensorOverride(t.name, deq.back().data()).ok());
  }
  const double worst = WorstError(*typed, *f32, ref);
  EXPECT_LE(worst, Tolerance(type)) << c.fixture << " " << c.weights << " (" << summary << ")";
  std::printf("[ parity   ] %s weights=%s: max relative logits error vs the f32 path %.3g\n",
              c.fixture.c_str(), c.weights.c_str(), worst);
  EXPECT_EQ(Greedy(*typed, ref), Greedy(*f32, ref)) << c.fixture << " " << c.weights;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const char* t : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}) {
    cases.push_back({"llama", t});
    cases.push_back({"qwen2", t});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Types, WeightTypeParityTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           return info.param.fixture + "_" + info.param.weights;
                         });

class StoredFloatTest : public ::testing::TestWithParam<std::string> {};

// bf16 / f16 checkpoints kept in their type give the f32 path's logits bit for bit (and so
// transformers' to 1e-4: model_reference_test) and transformers' greedy ids.
TEST_P(StoredFloatTest, BitIdenticalToTheF32Path) {
  const std::string dir = FixtureDir(GetParam());
  auto ref = LoadReference(dir + "/reference.json");
  auto stored = LoadWith(dir, "stored");
  auto f32 = LoadWith(dir, "f32");
  ASSERT_TRUE(stored && f32);
  WeightView v;
  ASSERT_TRUE(stored->BaseWeight("model.layers.1.self_attn.o_proj.weight", &v));
  EXPECT_EQ(v.type, GetParam() == "llama_f16" ? WeightType::kF16 : WeightType::kBF16);
  EXPECT_EQ(WorstError(*stored, *f32, ref), 0.0);
  EXPECT_EQ(Greedy(*stored, ref), ref.greedy);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StoredFloatTest, ::testing::Values("llama_bf16", "llama_f16"));

class StoredGgufTest : public ::testing::TestWithParam<std::string> {};

// The GGUF fixtures kept in their quantisations: tiny_gguf mixes Q8_0, Q4_0, Q4_1, F16, BF16 and
// F32; tiny_gguf_k is Q4_K_M-like (Q4_K, Q6_K) with Q5_0 and Q5_1 tensors. "f32" dequantises them
// at load (and matches transformers to 1e-4: model_reference_test).
TEST_P(StoredGgufTest, NearTheF32PathAndGreedyIdsEqualTransformers) {
  const std::string dir = FixtureDir(GetParam());
  auto ref = LoadReference(dir + "/reference.json");
  auto stored = LoadWith(dir, "stored");
  auto f32 = LoadWith(dir, "f32");
  ASSERT_TRUE(stored && f32);
  const double worst = WorstError(*stored, *f32, ref);
  EXPECT_LE(worst, Tolerance(WeightType::kQ4_0));
  std::printf("[ parity   ] %s stored (%s): max relative logits error vs f32 %.3g\n",
              GetParam().c_str(), stored->WeightSummary().c_str(), worst);
  EXPECT_EQ(Greedy(*stored, ref), ref.greedy);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StoredGgufTest, ::testing::Values("tiny_gguf", "tiny_gguf_k"));

TEST(WeightTypeLoadTest, StoredTypesAndModes) {
  // bf16 safetensors stay bf16 (read in place); "f32" converts; a GGUF keeps its quantisations.
  auto bf16 = LoadWith(FixtureDir("llama_bf16"), "stored");
  ASSERT_TRUE(bf16);
  WeightView v;
  ASSERT_TRUE(bf16->BaseWeight("model.layers.0.mlp.up_proj.weight", &v));
  EXPECT_EQ(v.type, WeightType::kBF16);
  EXPECT_NE(v.data, nullptr);
  EXPECT_EQ(bf16->NumericsId(), "");
  auto conv = LoadWith(FixtureDir("llama_bf16"), "f32");
  ASSERT_TRUE(conv);
  ASSERT_TRUE(conv->BaseWeight("model.layers.0.mlp.up_proj.weight", &v));
  EXPECT_EQ(v.type, WeightType::kF32);
  auto gguf = LoadWith(FixtureDir("tiny_gguf"), "stored");
  ASSERT_TRUE(gguf);
  EXPECT_NE(gguf->NumericsId(), "");
  // Bad modes name the accepted ones.
  LoadOptions lo;
  lo.weights = "q3_k";
  auto bad = Model::Load(FixtureDir("llama"), lo);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("stored, f32"), std::string::npos)
      << bad.status().ToString();
}

TEST(WeightTypeLoadTest, BaseTensorF32IsTheDequantisedWeight) {
  // The f32 path dequantises at load; BaseTensorF32 of the stored model gives the same values.
  auto f32 = LoadWith(FixtureDir("tiny_gguf"), "f32");
  auto stored = LoadWith(FixtureDir("tiny_gguf"), "stored");
  ASSERT_TRUE(f32 && stored);
  for (const TensorDesc& t : stored->Tensors()) {
    std::vector<float> got(static_cast<size_t>(t.numel()));
    ASSERT_TRUE(stored->BaseTensorF32(t.name, got.data()).ok());
    const float* want = f32->BaseTensor(t.name);
    ASSERT_NE(want, nullptr) << t.name;
    EXPECT_EQ(got, std::vector<float>(want, want + t.numel())) << t.name;
  }
}

}  // namespace
}  // namespace gem
