// Copyright the gem authors. The tensor-parallel plan (engine/tp_plan.h): shards partition
// every split weight, GQA kv heads follow their query heads, bad splits are refused, and - run
// with the CPU backend's ops - the sum of the ranks' partial outputs of an attention block and
// an MLP block equals the unsplit block (what the NCCL all-reduce would add up on GPUs). Also the
// memory budget figures docs/GPU.md quotes.
#include "engine/tp_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

#include "gem/backend.h"

namespace gem {
namespace {

// y[m x n] = x[m x k] * w[n x k]^T through the backend's typed matmul, w in f32.
void MatmulF32(const Backend* be, const BackendContext* ctx, const float* x, const float* w,
               float* y, int m, int n, int k) {
  const Weight wt{WeightType::kF32, w, n, k, false};
  const MatmulJob job{&wt, y, false};
  be->matmul(ctx, x, m, &job, 1);
}

ModelConfig Llama31_8B() {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = 128256;
  c.hidden_size = 4096;
  c.intermediate_size = 14336;
  c.num_layers = 32;
  c.num_heads = 32;
  c.num_kv_heads = 8;
  c.head_dim = 128;
  return c;
}

ModelConfig Llama31_70B() {
  ModelConfig c = Llama31_8B();
  c.hidden_size = 8192;
  c.intermediate_size = 28672;
  c.num_layers = 80;
  c.num_heads = 64;
  return c;
}

TEST(TpPlan, ShardsPartitionEverySplitWeight) {
  for (int ways : {1, 2, 4, 8}) {
    auto plan = PlanTensorParallel(Llama31_8B(), ways);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(plan->ranks.size(), static_cast<size_t>(ways));
    const size_t n = plan->ranks[0].size();
    for (size_t t = 0; t < n; ++t) {
      const TpShard& first = plan->ranks[0][t];
      if (first.split == TpSplit::kReplicated) {
        for (int r = 0; r < ways; ++r) EXPECT_EQ(plan->ranks[r][t].split, TpSplit::kReplicated);
        continue;
      }
      const int64_t dim = first.split == TpSplit::kRows ? first.full_shape[0] : first.full_shape[1];
      int64_t next = 0;
      for (int r = 0; r < ways; ++r) {
        const TpShard& s = plan->ranks[r][t];
        ASSERT_EQ(s.begin, next) << s.name << " rank " << r;
        next = s.end;
      }
      EXPECT_EQ(next, dim) << first.name;
    }
  }
}

TEST(TpPlan, KvHeadsAreReplicatedWhenFewerThanRanks) {
  auto plan = PlanTensorParallel(Llama31_70B(), 16);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->q_heads_per_rank, 4);
  EXPECT_EQ(plan->kv_heads_per_rank, 1);
  // Ranks 0 and 1 read kv head 0, ranks 2 and 3 kv head 1, ...
  for (int r = 0; r < 16; ++r) {
    for (const TpShard& s : plan->ranks[r]) {
      if (s.name == "model.layers.0.self_attn.k_proj.weight") {
        EXPECT_EQ(s.begin, (r / 2) * 128) << r;
        EXPECT_EQ(s.end - s.begin, 128);
      }
    }
  }
}

TEST(TpPlan, RefusesSplitsThatDoNotDivide) {
  ModelConfig smol = Llama31_8B();
  smol.num_heads = 9;  // SmolLM2-135M: 9 query heads, 3 kv heads
  smol.num_kv_heads = 3;
  auto p = PlanTensorParallel(smol, 2);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().ToString().find("9 query heads"), std::string::npos)
      << p.status().ToString();
  EXPECT_FALSE(PlanTensorParallel(Llama31_8B(), 0).ok());
  ModelConfig odd = Llama31_8B();
  odd.num_kv_heads = 16;
  odd.num_heads = 48;
  EXPECT_FALSE(PlanTensorParallel(odd, 12).ok());  // 16 kv heads: not /12, does not divide 12
}

// The bytes of the budget table in docs/GPU.md.
TEST(TpPlan, MemoryBudgetOfTheDocs) {
  const double gib = 1024.0 * 1024 * 1024;
  MemoryBudgetOptions o;
  MemoryBudget b8 = PlanMemory(Llama31_8B(), o);
  EXPECT_EQ(b8.base, 8030261248.0 * 2);  // Llama-3.1-8B's parameters, bf16
  EXPECT_EQ(b8.kv_cache, 64.0 * 2048 * 32 * 2 * 8 * 128 * 4);
  o.tp = 8;
  MemoryBudget b70 = PlanMemory(Llama31_70B(), o);
  std::printf("budget (GiB): 8B tp1 base %.1f cand %.1f kv %.1f act %.1f total %.1f\n",
              b8.base / gib, b8.candidate / gib, b8.kv_cache / gib, b8.activations / gib,
              b8.total() / gib);
  for (int tp : {1, 2, 4, 8}) {
    o.tp = tp;
    MemoryBudget b = PlanMemory(Llama31_70B(), o);
    std::printf("budget (GiB): 70B tp%d base %.1f cand %.1f kv %.1f act %.1f total %.1f\n", tp,
                b.base / gib, b.candidate / gib, b.kv_cache / gib, b.activations / gib,
                b.total() / gib);
  }
  // The replicated embeddings, head and norms are on every rank; the rest is split 8 ways.
  const double replicated = (2.0 * 128256 * 8192 + 161 * 8192.0) * 2;
  EXPECT_NEAR(b70.base, (70553706496.0 * 2 - replicated) / 8 + replicated, 1);
}

// Random weights for one decoder layer of `c`, by name.
std::map<std::string, std::vector<float>> RandomLayer(const ModelConfig& c, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.1f);
  std::map<std::string, std::vector<float>> w;
  auto plan = PlanTensorParallel(c, 1);
  for (const TpShard& s : plan->ranks[0]) {
    if (s.name.rfind("model.layers.0.", 0) != 0) continue;
    std::vector<float> v(s.numel());
    for (float& x : v) x = g(rng);
    w[s.name.substr(15)] = std::move(v);
  }
  return w;
}

// Rows [b, e) of a row-major [rows x cols] matrix, or columns [b, e).
std::vector<float> Slice(const std::vector<float>& m, int64_t cols, const TpShard& s) {
  std::vector<float> out;
  if (s.split == TpSplit::kRows) {
    out.assign(m.begin() + s.begin * cols, m.begin() + s.end * cols);
  } else {
    const int64_t rows = static_cast<int64_t>(m.size()) / cols;
    for (int64_t r = 0; r < rows; ++r) {
      out.insert(out.end(), m.begin() + r * cols + s.begin, m.begin() + r * cols + s.end);
    }
  }
  return out;
}

// The MLP (gate/up column parallel, down row parallel) and the attention block (q/k/v by heads,
// o row parallel) of each rank, summed, against the unsplit blocks on the CPU backend.
TEST(TpPlan, SummedPartialsEqualTheWholeBlock) {
  ModelConfig c = Llama31_8B();
  c.hidden_size = 128;
  c.intermediate_size = 192;
  c.num_heads = 8;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.num_layers = 1;
  c.vocab_size = 10;
  std::mt19937 rng(42);
  auto w = RandomLayer(c, rng);
  const Backend* be = CpuBackend();
  BackendContext ctx;
  const int rows = 5, H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim;
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(rows * H);
  for (float& v : x) v = g(rng);
  std::vector<int32_t> pos = {0, 1, 2, 3, 4};
  std::vector<float> inv(hd / 2);
  for (int f = 0; f < hd / 2; ++f) inv[f] = std::pow(10000.0f, -2.0f * f / hd);

  // One rank's blocks over its slices (ways = 1: the whole model).
  auto blocks = [&](const std::map<std::string, std::vector<float>>& s, int q_heads, int kv_heads,
                    int inter, std::vector<float>* mlp, std::vector<float>* attn) {
    const int Q = q_heads * hd, KV = kv_heads * hd;
    std::vector<float> gate(rows * inter), up(rows * inter);
    MatmulF32(be, &ctx, x.data(), s.at("mlp.gate_proj.weight").data(), gate.data(), rows, inter, H);
    MatmulF32(be, &ctx, x.data(), s.at("mlp.up_proj.weight").data(), up.data(), rows, inter, H);
    be->silu_mul(&ctx, gate.data(), up.data(), gate.data(), gate.size());
    mlp->assign(rows * H, 0.0f);
    MatmulF32(be, &ctx, gate.data(), s.at("mlp.down_proj.weight").data(), mlp->data(), rows, H,
              inter);
    std::vector<float> q(rows * Q), k(rows * KV), v(rows * KV), o(rows * Q);
    MatmulF32(be, &ctx, x.data(), s.at("self_attn.q_proj.weight").data(), q.data(), rows, Q, H);
    MatmulF32(be, &ctx, x.data(), s.at("self_attn.k_proj.weight").data(), k.data(), rows, KV, H);
    MatmulF32(be, &ctx, x.data(), s.at("self_attn.v_proj.weight").data(), v.data(), rows, KV, H);
    be->rope(&ctx, q.data(), rows, q_heads, hd, pos.data(), inv.data());
    be->rope(&ctx, k.data(), rows, kv_heads, hd, pos.data(), inv.data());
    AttentionSeq seq{q.data(), o.data(), k.data(), v.data(), rows, rows};
    be->attention(&ctx, &seq, 1, q_heads, kv_heads, hd, 0.25f, 0);
    attn->assign(rows * H, 0.0f);
    MatmulF32(be, &ctx, o.data(), s.at("self_attn.o_proj.weight").data(), attn->data(), rows, H, Q);
  };
  std::vector<float> mlp_whole, attn_whole;
  blocks(w, c.num_heads, c.num_kv_heads, I, &mlp_whole, &attn_whole);

  for (int ways : {2, 4, 8}) {  // 8 ways: kv heads replicated (2 kv heads)
    auto plan = PlanTensorParallel(c, ways);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    std::vector<float> mlp_sum(rows * H, 0.0f), attn_sum(rows * H, 0.0f);
    for (int r = 0; r < ways; ++r) {
      std::map<std::string, std::vector<float>> s;
      for (const TpShard& sh : plan->ranks[r]) {
        if (sh.name.rfind("model.layers.0.", 0) != 0 || sh.full_shape.size() != 2) continue;
        const std::string key = sh.name.substr(15);
        s[key] = Slice(w.at(key), sh.full_shape[1], sh);
      }
      std::vector<float> mlp, attn;
      blocks(s, plan->q_heads_per_rank, plan->kv_heads_per_rank,
             static_cast<int>(plan->intermediate_per_rank), &mlp, &attn);
      be->add(&ctx, mlp_sum.data(), mlp.data(), mlp.size());  // the all-reduce
      be->add(&ctx, attn_sum.data(), attn.data(), attn.size());
    }
    for (size_t i = 0; i < mlp_sum.size(); ++i) {
      ASSERT_NEAR(mlp_sum[i], mlp_whole[i], 1e-5 * (1 + std::fabs(mlp_whole[i]))) << ways;
      ASSERT_NEAR(attn_sum[i], attn_whole[i], 1e-5 * (1 + std::fabs(attn_whole[i]))) << ways;
    }
  }
}

}  // namespace
}  // namespace gem
