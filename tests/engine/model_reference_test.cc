// Copyright the gem authors. Tiny checkpoints of every architecture against transformers:
// logits to 1e-4 relative, greedy ids exactly (fixtures: tools/make_engine_fixtures.py).
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace gem {
namespace {

using testing::FixtureDir;
using testing::LoadReference;
using testing::RelError;

class ModelReferenceTest : public ::testing::TestWithParam<std::string> {};

// Every fixture on the f32 path ("stored" for the safetensors fixtures: f32, f16 and bf16 weights
// give the f32 path's bits; the GGUFs' quantisations are dequantised with "f32").
TEST_P(ModelReferenceTest, LogitsAndGreedyMatchTransformers) {
  const std::string dir = FixtureDir(GetParam());
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = GetParam().starts_with("tiny_gguf") ? "f32" : "stored";
  auto model = Model::Load(dir, lo);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto ref = LoadReference(dir + "/reference.json");
  ASSERT_EQ(ref.prompts.size(), ref.logits.size());
  const int vocab = (*model)->config().vocab_size;
  for (size_t p = 0; p < ref.prompts.size(); ++p) {
    auto logits = (*model)->Logits(ref.prompts[p]);
    ASSERT_TRUE(logits.ok()) << logits.status().ToString();
    ASSERT_EQ(logits->size(), ref.prompts[p].size() * vocab);
    for (size_t pos = 0; pos < ref.prompts[p].size(); ++pos) {
      double err = RelError(logits->data() + pos * vocab, ref.logits[p][pos]);
      EXPECT_LE(err, 1e-4) << GetParam() << " prompt " << p << " position " << pos;
    }
  }
  std::vector<GenerateRequest> reqs;
  for (const auto& prompt : ref.prompts) {
    GenerateRequest r;
    r.prompt = prompt;
    r.max_new_tokens = static_cast<int>(ref.greedy[0].size());
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> out;
  ASSERT_TRUE(Generate(**model, reqs, {}, &out).ok());
  for (size_t p = 0; p < reqs.size(); ++p) {
    EXPECT_EQ(out[p].tokens, ref.greedy[p]) << GetParam() << " prompt " << p;
    EXPECT_EQ(out[p].finish, FinishReason::kLength);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelReferenceTest,
                         ::testing::Values("llama", "llama_bf16", "llama_f16", "llama3", "mistral",
                                           "qwen2", "tiny_gguf", "tiny_gguf_k"));

TEST(ModelConfigTest, ReadsArchitectureSpecifics) {
  auto llama3 = Model::Load(FixtureDir("llama3"));
  ASSERT_TRUE(llama3.ok()) << llama3.status().ToString();
  EXPECT_EQ((*llama3)->config().architecture, "LlamaForCausalLM");
  EXPECT_EQ((*llama3)->config().rope_scaling.type, "llama3");
  EXPECT_EQ((*llama3)->config().num_kv_heads, 2);
  EXPECT_EQ((*llama3)->config().rope_theta, 500000.0);
  auto qwen = Model::Load(FixtureDir("qwen2"));
  ASSERT_TRUE(qwen.ok()) << qwen.status().ToString();
  EXPECT_TRUE((*qwen)->config().tie_word_embeddings);
  EXPECT_TRUE((*qwen)->config().attention_bias);
  EXPECT_EQ((*qwen)->BaseTensor("lm_head.weight"), nullptr);
  EXPECT_NE((*qwen)->BaseTensor("model.layers.1.self_attn.k_proj.bias"), nullptr);
  auto mistral = Model::Load(FixtureDir("mistral"));
  ASSERT_TRUE(mistral.ok()) << mistral.status().ToString();
  EXPECT_EQ((*mistral)->config().sliding_window, 6);
  EXPECT_EQ((*mistral)->format(), "safetensors");
}

}  // namespace
}  // namespace gem
