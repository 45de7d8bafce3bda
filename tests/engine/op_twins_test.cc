// Copyright the gem authors. The CPU twins of the CUDA backend's kernels (engine/ops/twins.h)
// against the CPU backend on random shapes, as ggml's test-backend-ops compares a backend with
// the CPU one. The GPU check (tests/gpu) then compares each kernel with its twin, which closes
// the loop kernel == twin ~= CPU backend without a GPU here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/gemm.h"
#include "engine/ops/twins.h"
#include "gem/backend.h"
#include "gem/safetensors.h"

namespace gem::ops {
namespace {

std::vector<float> RandomVec(size_t n, std::mt19937& rng, float sd = 1.0f) {
  std::normal_distribution<float> g(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// Distance in units in the last place between two finite floats of the same sign or zero.
int64_t UlpDiff(float a, float b) {
  if (a == b) return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

// Weights of `type` drawn N(0, 0.1) and their f32 values (what the CPU backend multiplies by).
struct TypedWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> f32;
};

TypedWeights RandomWeights(int type, size_t n, std::mt19937& rng) {
  TypedWeights w;
  w.f32 = RandomVec(n, rng, 0.1f);
  w.bytes.resize(n * weight_type_bytes(type));
  for (size_t i = 0; i < n; ++i) {
    if (type == kWeightF32) {
      std::memcpy(&w.bytes[i * 4], &w.f32[i], 4);
      continue;
    }
    const uint16_t h = type == kWeightBF16 ? FloatToBF16(w.f32[i]) : FloatToHalf(w.f32[i]);
    std::memcpy(&w.bytes[i * 2], &h, 2);
    w.f32[i] = type == kWeightBF16 ? BF16ToFloat(h) : HalfToFloat(h);
  }
  return w;
}

gem::WeightType CpuType(int t) {
  using gem::WeightType;
  return t == kWeightF32   ? WeightType::kF32
         : t == kWeightF16 ? WeightType::kF16
                           : WeightType::kBF16;
}

const char* TypeName(int t) { return t == kWeightF32 ? "f32" : t == kWeightF16 ? "f16" : "bf16"; }

class MatmulTwinTest : public ::testing::TestWithParam<int> {};

// With f32 weights on an AVX-512 CPU the twin IS the CPU kernel's order: bit for bit. Other
// CPUs (AVX2: 8 lanes) sum in another order: close, not equal. bf16/f16 weights: the CPU
// backend multiplies by the same f32 values, so the same holds.
TEST_P(MatmulTwinTest, MatchesTheCpuBackendOnRandomShapes) {
  const int type = GetParam();
  const bool exact = std::string(GemmKernelName()).rfind("avx512", 0) == 0;
  std::mt19937 rng(100 + type);
  const Backend* cpu = CpuBackend();
  BackendContext ctx;
  ctx.threads = 2;
  const int ks[] = {1, 7, 16, 17, 31, 64, 100, 257};
  int cases = 0;
  for (int kk : ks) {
    for (int m : {1, 3, 6, 13}) {
      const int n = 1 + static_cast<int>(rng() % 45);
      auto x = RandomVec(static_cast<size_t>(m) * kk, rng);
      TypedWeights w = RandomWeights(type, static_cast<size_t>(n) * kk, rng);
      for (bool acc : {false, true}) {
        auto y0 = RandomVec(static_cast<size_t>(m) * n, rng);
        std::vector<float> twin = y0, ref = y0;
        MatmulTwin(x.data(), w.bytes.data(), type, twin.data(), m, n, kk, acc);
        // The CPU backend multiplies the stored words (its own f16/bf16 conversion).
        const Weight cw{CpuType(type), w.bytes.data(), n, kk, false};
        const MatmulJob job{&cw, ref.data(), acc};
        cpu->matmul(&ctx, x.data(), m, &job, 1);
        for (size_t i = 0; i < ref.size(); ++i) {
          if (exact) {
            ASSERT_EQ(twin[i], ref[i]) << TypeName(type) << " m=" << m << " n=" << n << " k=" << kk
                                       << " acc=" << acc << " i=" << i;
          } else {
            ASSERT_NEAR(twin[i], ref[i], 1e-5 * (1 + std::fabs(ref[i]))) << "k=" << kk;
          }
        }
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 64);
}

// A row's result is the same alone and among other rows (the property the cache relies on).
TEST_P(MatmulTwinTest, RowsDoNotDependOnTheBatch) {
  const int type = GetParam();
  std::mt19937 rng(7);
  const int m = 9, n = 23, k = 83;
  auto x = RandomVec(static_cast<size_t>(m) * k, rng);
  TypedWeights w = RandomWeights(type, static_cast<size_t>(n) * k, rng);
  std::vector<float> all(static_cast<size_t>(m) * n), one(n);
  MatmulTwin(x.data(), w.bytes.data(), type, all.data(), m, n, k, false);
  for (int i = 0; i < m; ++i) {
    MatmulTwin(x.data() + static_cast<size_t>(i) * k, w.bytes.data(), type, one.data(), 1, n, k,
               false);
    for (int j = 0; j < n; ++j) ASSERT_EQ(one[j], all[static_cast<size_t>(i) * n + j]);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatmulTwinTest,
                         ::testing::Values(kWeightF32, kWeightF16, kWeightBF16),
                         [](const auto& info) { return std::string(TypeName(info.param)); });

TEST(OpTwins, EmbedIsTheTableRowInF32) {
  std::mt19937 rng(3);
  for (int type : {kWeightF32, kWeightF16, kWeightBF16}) {
    const int vocab = 50, hidden = 24;
    TypedWeights t = RandomWeights(type, static_cast<size_t>(vocab) * hidden, rng);
    const std::vector<int32_t> ids = {0, 49, 7, 7, 23};
    std::vector<float> x(ids.size() * hidden);
    EmbedTwin(t.bytes.data(), type, ids.data(), static_cast<int>(ids.size()), hidden, x.data());
    for (size_t r = 0; r < ids.size(); ++r) {
      for (int j = 0; j < hidden; ++j) {
        ASSERT_EQ(x[r * hidden + j], t.f32[static_cast<size_t>(ids[r]) * hidden + j]);
      }
    }
  }
}

// The CPU backend sums the squares in double sequentially, the twin in 256 partials: the f32
// result may differ by one rounding of the variance, never more than 1 ulp per element.
TEST(OpTwins, RmsNormMatchesTheCpuBackend) {
  std::mt19937 rng(5);
  BackendContext ctx;
  int64_t worst = 0, differing = 0, total = 0;
  for (int n : {1, 5, 64, 255, 256, 257, 576, 1000}) {
    const int m = 4;
    auto x = RandomVec(static_cast<size_t>(m) * n, rng, 3.0f);
    auto w = RandomVec(n, rng);
    std::vector<float> twin(x.size()), ref(x.size());
    RmsNormTwin(x.data(), w.data(), twin.data(), m, n, 1e-5f);
    CpuBackend()->rms_norm(&ctx, x.data(), w.data(), ref.data(), m, n, 1e-5f);
    for (size_t i = 0; i < x.size(); ++i) {
      worst = std::max(worst, UlpDiff(twin[i], ref[i]));
      differing += twin[i] != ref[i];
      ++total;
    }
  }
  EXPECT_LE(worst, 1) << differing << " of " << total << " elements differ";
}

// Same angles (f32), same double cos/sin, same unfused products: bit for bit.
TEST(OpTwins, RopeEqualsTheCpuBackend) {
  std::mt19937 rng(9);
  BackendContext ctx;
  const int m = 7, heads = 3, head_dim = 16;
  std::vector<int32_t> pos = {0, 1, 2, 100, 4095, 7, 31999};
  std::vector<float> inv_freq(head_dim / 2);
  for (int f = 0; f < head_dim / 2; ++f) {
    inv_freq[f] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * f / head_dim));
  }
  auto x = RandomVec(static_cast<size_t>(m) * heads * head_dim, rng);
  std::vector<float> twin = x, ref = x;
  RopeTwin(twin.data(), m, heads, head_dim, pos.data(), inv_freq.data());
  CpuBackend()->rope(&ctx, ref.data(), m, heads, head_dim, pos.data(), inv_freq.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(twin[i], ref[i]) << i;
}

// exp in double rounded once vs glibc's expf: within 1 ulp.
TEST(OpTwins, SiluMulMatchesTheCpuBackend) {
  std::mt19937 rng(11);
  BackendContext ctx;
  auto gate = RandomVec(5000, rng, 4.0f), up = RandomVec(5000, rng);
  std::vector<float> twin(gate.size()), ref(gate.size());
  SiluMulTwin(gate.data(), up.data(), twin.data(), gate.size());
  CpuBackend()->silu_mul(&ctx, gate.data(), up.data(), ref.data(), gate.size());
  int64_t worst = 0;
  for (size_t i = 0; i < gate.size(); ++i) worst = std::max(worst, UlpDiff(twin[i], ref[i]));
  EXPECT_LE(worst, 1);
}

// Sequences of different lengths, new rows (prefill and decode) and windows, GQA.
TEST(OpTwins, AttentionMatchesTheCpuBackend) {
  std::mt19937 rng(13);
  BackendContext ctx;
  const int heads = 6, kv_heads = 2, hd = 16;
  const int q_stride = heads * hd, kv_stride = kv_heads * hd;
  for (int window : {0, 5}) {
    struct Seq {
      int rows, kv_len;
    };
    const std::vector<Seq> shape = {{1, 1}, {1, 40}, {12, 12}, {3, 300}, {1, 130}};
    std::vector<std::vector<float>> q, k, v, out_t, out_r;
    for (const Seq& s : shape) {
      q.push_back(RandomVec(static_cast<size_t>(s.rows) * q_stride, rng));
      k.push_back(RandomVec(static_cast<size_t>(s.kv_len) * kv_stride, rng));
      v.push_back(RandomVec(static_cast<size_t>(s.kv_len) * kv_stride, rng));
      out_t.emplace_back(static_cast<size_t>(s.rows) * q_stride);
      out_r.emplace_back(static_cast<size_t>(s.rows) * q_stride);
    }
    std::vector<AttentionSeq> twin_seqs, ref_seqs;
    for (size_t i = 0; i < shape.size(); ++i) {
      twin_seqs.push_back(
          {q[i].data(), out_t[i].data(), k[i].data(), v[i].data(), shape[i].rows, shape[i].kv_len});
      ref_seqs.push_back(
          {q[i].data(), out_r[i].data(), k[i].data(), v[i].data(), shape[i].rows, shape[i].kv_len});
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    AttentionTwin(twin_seqs.data(), static_cast<int>(shape.size()), heads, kv_heads, hd, scale,
                  window);
    CpuBackend()->attention(&ctx, ref_seqs.data(), static_cast<int>(shape.size()), heads, kv_heads,
                            hd, scale, window);
    for (size_t s = 0; s < shape.size(); ++s) {
      for (size_t i = 0; i < out_r[s].size(); ++i) {
        ASSERT_NEAR(out_t[s][i], out_r[s][i], 2e-6 * (1 + std::fabs(out_r[s][i])))
            << "window " << window << " seq " << s << " elem " << i;
      }
    }
  }
}

// Generate's rule, written as the sequential scan it is.
int32_t SequentialArgMax(const float* v, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

TEST(OpTwins, ArgmaxIsGeneratesRule) {
  const float nan = std::nanf("");
  const float inf = INFINITY;
  const std::vector<std::vector<float>> rows = {
      {1, 3, 3, 2}, {nan, 5, 6}, {1, nan, 5},        {-inf, nan, -inf},  {0.0f, -0.0f, 0.0f},
      {2, 2, 2, 2}, {nan, nan},  {-1, -2, inf, inf}, {1, nan, nan, nan}, {-5, -4, -4, -6},
  };
  for (const auto& r : rows) {
    int32_t id = -1;
    ArgmaxTwin(r.data(), 1, static_cast<int>(r.size()), &id);
    EXPECT_EQ(id, SequentialArgMax(r.data(), static_cast<int>(r.size())));
  }
  std::mt19937 rng(17);
  for (int t = 0; t < 200; ++t) {
    const int n = 1 + static_cast<int>(rng() % 600);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(static_cast<int>(rng() % 7)) - 3;  // many ties
    int32_t id = -1;
    ArgmaxTwin(v.data(), 1, n, &id);
    ASSERT_EQ(id, SequentialArgMax(v.data(), n));
  }
}

}  // namespace
}  // namespace gem::ops
