// Copyright the gem authors. The matmul kernels of every weight type on every instruction set
// this CPU has: against the portable kernel, against f32 arithmetic on the dequantised weights,
// and bit-level invariance of a row's result under other rows, other column splits and threads.
#include "engine/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/gemm_kernels.h"
#include "gem/weight_types.h"

namespace gem {
namespace {

using gemm::Isa;

constexpr WeightType kAllTypes[] = {
    WeightType::kF32,  WeightType::kF16,  WeightType::kBF16, WeightType::kQ8_0, WeightType::kQ4_0,
    WeightType::kQ4_1, WeightType::kQ5_0, WeightType::kQ5_1, WeightType::kQ4_K, WeightType::kQ6_K,
};

// Restores the CPU's best ISA after a test forced another.
struct IsaGuard {
  Isa saved = gemm::ActiveIsa();
  ~IsaGuard() { gemm::ForceIsa(saved); }
};

struct Problem {
  int m, n, k;
  std::vector<float> x;      // m x k
  std::vector<uint8_t> w;    // n rows of the type
  std::vector<float> w_f32;  // the dequantised weights
  Weight weight;
};

Problem Make(WeightType type, int m, int n, int k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Problem p{m, n, k};
  p.x.resize(static_cast<size_t>(m) * k);
  for (auto& v : p.x) v = dist(rng);
  // A few outliers, as real activations have.
  for (int i = 0; i < m; ++i) p.x[static_cast<size_t>(i) * k + (i * 7) % k] *= 8.0f;
  std::vector<float> wf(static_cast<size_t>(n) * k);
  for (auto& v : wf) v = 0.05f * dist(rng);
  const size_t row = WeightRowBytes(type, k);
  p.w.resize(row * n);
  p.w_f32.resize(wf.size());
  for (int j = 0; j < n; ++j) {
    QuantizeRow(type, &wf[static_cast<size_t>(j) * k], k, &p.w[row * j]);
    DequantizeRow(type, &p.w[row * j], k, &p.w_f32[static_cast<size_t>(j) * k]);
  }
  p.weight = Weight{type, p.w.data(), n, k};
  return p;
}

std::vector<float> Multiply(const Problem& p, const float* x, int m, int threads) {
  std::vector<float> y(static_cast<size_t>(m) * p.n, -1.0f);
  MatmulJob job{&p.weight, y.data(), false};
  GemmNT(x, m, &job, 1, threads);
  return y;
}

// max |a - b| / max |b|.
double RelErr(const std::vector<float>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

std::vector<double> Reference(const Problem& p) {
  std::vector<double> y(static_cast<size_t>(p.m) * p.n);
  for (int i = 0; i < p.m; ++i) {
    for (int j = 0; j < p.n; ++j) {
      double s = 0;
      for (int q = 0; q < p.k; ++q) {
        s += static_cast<double>(p.x[static_cast<size_t>(i) * p.k + q]) *
             p.w_f32[static_cast<size_t>(j) * p.k + q];
      }
      y[static_cast<size_t>(i) * p.n + j] = s;
    }
  }
  return y;
}

int BlockOf(WeightType t) { return WeightTypeBlock(t) == 256 ? 256 : 32; }

class GemmTypeTest : public ::testing::TestWithParam<WeightType> {};

TEST_P(GemmTypeTest, EveryIsaAgreesWithF64OnDequantisedWeights) {
  const WeightType type = GetParam();
  IsaGuard guard;
  // k: an odd number of 32-blocks for the 32-element types (the AVX-512 pair loop's tail), 3
  // super-blocks for the K-quants; n not a multiple of the tile; m past one row tile.
  const int k = BlockOf(type) == 256 ? 768 : 32 * 13 + (type == WeightType::kF32 ? 5 : 0);
  const Problem p = Make(type, 7, 23, k, 1);
  const std::vector<double> ref = Reference(p);
  // Float types compute exactly in f32; the integer ones quantise activations (15 bits).
  const double tol = gemm::ActFormatOf(type) == gemm::ActFormat::kF32 ? 1e-5 : 2e-2;
  std::vector<float> generic;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    if (!gemm::ForceIsa(isa)) continue;
    const std::vector<float> y = Multiply(p, p.x.data(), p.m, 1);
    EXPECT_LE(RelErr(y, ref), tol) << WeightTypeName(type) << " on " << gemm::IsaName(isa);
    if (isa == Isa::kGeneric) {
      generic = y;
    } else if (gemm::IsPacked(type)) {
      // The packed kernels run the same integer sums and f32 operations on every ISA.
      EXPECT_EQ(y, generic) << WeightTypeName(type) << " on " << gemm::IsaName(isa);
    } else {
      // Same integer sums, another f32 summation order: agree to rounding.
      std::vector<double> g(generic.begin(), generic.end());
      EXPECT_LE(RelErr(y, g), 1e-5)
          << WeightTypeName(type) << " on " << gemm::IsaName(isa) << " vs generic";
    }
  }
}

TEST_P(GemmTypeTest, RowsAreBitIdenticalAloneInBatchesAndOnThreads) {
  const WeightType type = GetParam();
  IsaGuard guard;
  const int k = BlockOf(type) == 256 ? 512 : 32 * 7;
  const Problem p = Make(type, 13, 37, k, 2);
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    if (!gemm::ForceIsa(isa)) continue;
    const std::vector<float> all = Multiply(p, p.x.data(), p.m, 1);
    for (int i = 0; i < p.m; ++i) {
      const std::vector<float> one = Multiply(p, p.x.data() + static_cast<size_t>(i) * k, 1, 1);
      for (int j = 0; j < p.n; ++j) {
        ASSERT_EQ(one[j], all[static_cast<size_t>(i) * p.n + j])
            << WeightTypeName(type) << " on " << gemm::IsaName(isa) << ": row " << i << " col " << j
            << " alone differs from the batch";
      }
    }
    // Rows 3..8 as their own batch (another tile alignment), and two threads.
    const std::vector<float> mid = Multiply(p, p.x.data() + static_cast<size_t>(3) * k, 6, 2);
    EXPECT_EQ(mid, std::vector<float>(all.begin() + 3 * p.n, all.begin() + 9 * p.n))
        << WeightTypeName(type) << " on " << gemm::IsaName(isa);
    EXPECT_EQ(Multiply(p, p.x.data(), p.m, 2), all) << WeightTypeName(type) << " 2 threads";
  }
}

INSTANTIATE_TEST_SUITE_P(Types, GemmTypeTest, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(WeightTypeName(info.param)); });

TEST(GemmPackTest, PackedRowsUnpackToTheGgmlRows) {
  for (WeightType type : kAllTypes) {
    if (!gemm::IsPacked(type)) continue;
    const int k = BlockOf(type) == 256 ? 512 : 96;
    const Problem p = Make(type, 1, 21, k, 7);  // 21 rows: a padded second group
    std::vector<uint8_t> packed(gemm::PackedBytes(type, p.n, p.k));
    gemm::PackRows(type, p.w.data(), p.n, p.k, packed.data());
    const size_t row = WeightRowBytes(type, p.k);
    std::vector<uint8_t> back(row);
    for (int r = 0; r < p.n; ++r) {
      gemm::UnpackPackedRow(type, packed.data(), p.k, r, back.data());
      EXPECT_EQ(0, std::memcmp(back.data(), &p.w[row * r], row))
          << WeightTypeName(type) << " row " << r;
    }
  }
}

TEST(GemmFloatTest, HalfAndBfloatWeightsGiveTheF32KernelsBits) {
  // f16/bf16 are converted exactly and summed in the f32 kernel's order: identical results.
  IsaGuard guard;
  for (WeightType type : {WeightType::kF16, WeightType::kBF16}) {
    const Problem p = Make(type, 9, 17, 203, 3);
    const Weight f32{WeightType::kF32, p.w_f32.data(), p.n, p.k};
    for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
      if (!gemm::ForceIsa(isa)) continue;
      std::vector<float> a(static_cast<size_t>(p.m) * p.n), b(a.size());
      MatmulJob ja{&p.weight, a.data(), false}, jb{&f32, b.data(), false};
      GemmNT(p.x.data(), p.m, &ja, 1, 1);
      GemmNT(p.x.data(), p.m, &jb, 1, 1);
      EXPECT_EQ(a, b) << WeightTypeName(type) << " on " << gemm::IsaName(isa);
    }
  }
}

TEST(GemmJobsTest, SeveralJobsEqualSeparateCallsAndAccumulate) {
  const Problem a = Make(WeightType::kQ4_1, 5, 19, 96, 4);
  const Problem c = Make(WeightType::kBF16, 5, 8, 96, 6);
  std::vector<float> ya(5 * 19), yc(5 * 8, 1.0f);
  MatmulJob jobs[2] = {{&a.weight, ya.data(), false}, {&c.weight, yc.data(), true}};
  GemmNT(a.x.data(), 5, jobs, 2, 2);
  EXPECT_EQ(ya, Multiply(a, a.x.data(), 5, 1));
  std::vector<float> yc_alone = Multiply(c, a.x.data(), 5, 1);
  for (size_t i = 0; i < yc.size(); ++i) EXPECT_EQ(yc[i], 1.0f + yc_alone[i]) << i;
}

}  // namespace
}  // namespace gem
