// Copyright the gem authors. The hooks the tree part builds on: tensor overrides and LinearHook.
#include <gtest/gtest.h>

#include <random>

#include "engine/engine_test_util.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace gem {
namespace {

using testing::FixtureDir;

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

TEST(OverrideTest, OverrideReplacesAndClearRestores) {
  auto model = Model::Load(FixtureDir("qwen2"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  Model& m = **model;
  const std::vector<int32_t> ids = {3, 64, 64, 7, 120};
  auto base = m.Logits(ids);
  ASSERT_TRUE(base.ok());

  // Enumerate: every tensor has a base pointer and its shape.
  auto tensors = m.Tensors();
  ASSERT_FALSE(tensors.empty());
  EXPECT_EQ(tensors.front().name, "model.embed_tokens.weight");
  for (const auto& t : tensors) {
    std::vector<int64_t> shape;
    ASSERT_NE(m.BaseTensor(t.name, &shape), nullptr) << t.name;
    EXPECT_EQ(shape, t.shape);
  }

  const std::string name = "model.layers.1.mlp.up_proj.weight";
  std::vector<int64_t> shape;
  const float* w = m.BaseTensor(name, &shape);
  std::vector<float> copy(w, w + shape[0] * shape[1]);
  // An override equal to the base changes nothing.
  ASSERT_TRUE(m.SetTensorOverride(name, copy.data()).ok());
  EXPECT_EQ(*m.Logits(ids), *base);
  // A different tensor changes the logits; the base is untouched.
  for (float& x : copy) x *= -1.5f;
  ASSERT_TRUE(m.SetTensorOverride(name, copy.data()).ok());
  EXPECT_EQ(m.num_overrides(), 1u);
  EXPECT_GT(MaxAbsDiff(*m.Logits(ids), *base), 1e-3);
  EXPECT_EQ(m.BaseTensor(name), w);
  m.ClearTensorOverrides();
  EXPECT_EQ(m.num_overrides(), 0u);
  EXPECT_EQ(*m.Logits(ids), *base);
  // Tied embeddings: overriding embed_tokens changes the head too (no separate lm_head).
  std::vector<int64_t> eshape;
  const float* e = m.BaseTensor("model.embed_tokens.weight", &eshape);
  std::vector<float> ecopy(e, e + eshape[0] * eshape[1]);
  ecopy[5 * eshape[1]] += 10.0f;  // only the row of id 5, which the prompt does not contain
  ASSERT_TRUE(m.SetTensorOverride("model.embed_tokens.weight", ecopy.data()).ok());
  auto tied = m.Logits(ids);
  EXPECT_NE((*tied)[5], (*base)[5]);
  ASSERT_TRUE(m.ClearTensorOverride("model.embed_tokens.weight").ok());

  EXPECT_TRUE(m.SetTensorOverride("nope.weight", copy.data()).IsNotFound());
  EXPECT_TRUE(m.SetTensorOverride(name, nullptr).IsInvalidArgument());
}

// A LoRA hook: y += scale * (x A^T) B^T for rows whose adapter slot is 0, on q_proj and
// down_proj of every layer.
class TestLora : public LinearHook {
 public:
  struct Pair {
    std::vector<float> a, b;  // a: rank x in, b: out x rank
  };
  TestLora(const Model& m, int rank, float scale) : rank_(rank), scale_(scale) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 0.1f);
    for (int l = 0; l < m.config().num_layers; ++l) {
      for (const char* mod : {"q_proj", "down_proj"}) {
        std::string n = "model.layers." + std::to_string(l) +
                        (std::string(mod) == "q_proj" ? ".self_attn." : ".mlp.") + mod + ".weight";
        std::vector<int64_t> shape;
        m.BaseTensor(n, &shape);
        Pair p;
        p.a.resize(rank * shape[1]);
        p.b.resize(shape[0] * rank);
        for (float& x : p.a) x = nd(rng);
        for (float& x : p.b) x = nd(rng);
        pairs_[{l, mod}] = p;
      }
    }
  }
  void Apply(int layer, std::string_view module, const float* x, int rows, int in, float* y,
             int out, std::span<const int32_t> row_adapter) const override {
    auto it = pairs_.find({layer, std::string(module)});
    if (it == pairs_.end()) return;
    ++calls;
    const Pair& p = it->second;
    for (int r = 0; r < rows; ++r) {
      if (row_adapter[r] != 0) continue;
      std::vector<float> ax(rank_, 0.0f);
      for (int k = 0; k < rank_; ++k) {
        for (int i = 0; i < in; ++i) ax[k] += p.a[k * in + i] * x[r * in + i];
      }
      for (int o = 0; o < out; ++o) {
        float s = 0;
        for (int k = 0; k < rank_; ++k) s += p.b[o * rank_ + k] * ax[k];
        y[r * out + o] += scale_ * s;
      }
    }
  }
  // W + scale * B A, for checking against an override.
  std::vector<float> Merged(const Model& m, int layer, const std::string& mod) const {
    std::string n = "model.layers." + std::to_string(layer) +
                    (mod == "q_proj" ? ".self_attn." : ".mlp.") + mod + ".weight";
    std::vector<int64_t> shape;
    const float* w = m.BaseTensor(n, &shape);
    const Pair& p = pairs_.at({layer, mod});
    std::vector<float> out(w, w + shape[0] * shape[1]);
    for (int64_t o = 0; o < shape[0]; ++o) {
      for (int64_t i = 0; i < shape[1]; ++i) {
        float s = 0;
        for (int k = 0; k < rank_; ++k) s += p.b[o * rank_ + k] * p.a[k * shape[1] + i];
        out[o * shape[1] + i] += scale_ * s;
      }
    }
    return out;
  }
  mutable int calls = 0;

 private:
  int rank_;
  float scale_;
  std::map<std::pair<int, std::string>, Pair> pairs_;
};

TEST(LinearHookTest, HookEqualsMergedWeightsAndRespectsSlots) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  Model& m = **model;
  const std::vector<int32_t> ids = {1, 17, 42, 99, 5, 8, 9};
  auto base = m.Logits(ids);
  TestLora lora(m, 4, 2.0f);
  m.SetLinearHook(&lora);
  EXPECT_EQ(m.linear_hook(), &lora);
  auto with_slot = m.Logits(ids, /*adapter_slot=*/0);
  auto without = m.Logits(ids, /*adapter_slot=*/-1);
  EXPECT_GT(lora.calls, 0);
  EXPECT_EQ(*without, *base);  // slot -1 rows are left alone
  EXPECT_GT(MaxAbsDiff(*with_slot, *base), 1e-3);

  // The same adapter merged into the weights through overrides gives the same logits.
  m.SetLinearHook(nullptr);
  std::vector<std::vector<float>> merged;
  for (int l = 0; l < m.config().num_layers; ++l) {
    for (const std::string mod : {"q_proj", "down_proj"}) {
      merged.push_back(lora.Merged(m, l, mod));
      std::string n = "model.layers." + std::to_string(l) +
                      (mod == "q_proj" ? ".self_attn." : ".mlp.") + mod + ".weight";
      ASSERT_TRUE(m.SetTensorOverride(n, merged.back().data()).ok());
    }
  }
  auto via_override = m.Logits(ids);
  double scale = 0;
  for (float v : *via_override) scale = std::max(scale, std::fabs(double(v)));
  EXPECT_LE(MaxAbsDiff(*with_slot, *via_override), 1e-4 * scale);
  m.ClearTensorOverrides();

  // In one batch, a sequence with the adapter and one without each get what they get alone.
  m.SetLinearHook(&lora);
  GenerateRequest a, b;
  a.prompt = b.prompt = ids;
  a.max_new_tokens = b.max_new_tokens = 6;
  a.stop_at_eos = b.stop_at_eos = false;
  a.adapter_slot = 0;
  std::vector<GenerateRequest> both = {a, b};
  std::vector<GenerateResult> batch, alone_a, alone_b;
  ASSERT_TRUE(Generate(m, both, {}, &batch).ok());
  ASSERT_TRUE(Generate(m, std::span(&a, 1), {}, &alone_a).ok());
  ASSERT_TRUE(Generate(m, std::span(&b, 1), {}, &alone_b).ok());
  EXPECT_EQ(batch[0].tokens, alone_a[0].tokens);
  EXPECT_EQ(batch[1].tokens, alone_b[0].tokens);
  EXPECT_NE(alone_a[0].tokens, alone_b[0].tokens) << "the adapter changes the output";
  // Same prompt tokens, shared prefixes on: a prefix is shared within an adapter slot, never
  // across slots (its keys/values differ).
  GenerateRequest c = a, d = b;
  c.prompt.push_back(3);
  d.prompt.push_back(4);
  std::vector<GenerateRequest> four = {a, b, c, d};
  GenerateOptions opt;
  opt.min_shared_prefix = 1;
  GenerateStats stats;
  opt.stats = &stats;
  ASSERT_TRUE(Generate(m, four, opt, &batch).ok());
  EXPECT_EQ(stats.prefix_groups, 2u);
  EXPECT_EQ(batch[0].tokens, alone_a[0].tokens);
  EXPECT_EQ(batch[1].tokens, alone_b[0].tokens);
  std::vector<GenerateResult> alone_c, alone_d;
  ASSERT_TRUE(Generate(m, std::span(&c, 1), {}, &alone_c).ok());
  ASSERT_TRUE(Generate(m, std::span(&d, 1), {}, &alone_d).ok());
  EXPECT_EQ(batch[2].tokens, alone_c[0].tokens);
  EXPECT_EQ(batch[3].tokens, alone_d[0].tokens);
  m.SetLinearHook(nullptr);
}

}  // namespace
}  // namespace gem
