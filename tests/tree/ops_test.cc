// Copyright the gem authors. The CPU twins of the tree kernels against plain reference loops,
// and the shared word conversions against the engine's (exhaustively for 16-bit words).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gem/safetensors.h"
#include "kernel_math/delta_math.h"
#include "kernel_math/word_math.h"
#include "tree/ops/delta_ops.h"
#include "tree/ops/lora_ops.h"

namespace gem::ops {
namespace {

TEST(WordMath, Bf16RoundTripsEveryWord) {
  for (uint32_t w = 0; w < 65536; ++w) {
    const float f = bf16_to_f32(w);
    ASSERT_EQ(f32_to_bf16(f), w) << "bf16 word " << w;
    if (!std::isnan(f)) ASSERT_EQ(f, BF16ToFloat(static_cast<uint16_t>(w)));
  }
}

TEST(WordMath, F16RoundTripsEveryWord) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(h);
    ASSERT_EQ(f32_to_f16(f), h) << "f16 word " << h;
    if (!std::isnan(f)) ASSERT_EQ(f, HalfToFloat(static_cast<uint16_t>(h))) << h;
  }
}

TEST(WordMath, RoundingMatchesTheEngine) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
  for (int i = 0; i < 200000; ++i) {
    float f = u(rng) * std::pow(2.0f, static_cast<float>(static_cast<int>(rng() % 40) - 30));
    ASSERT_EQ(f32_to_bf16(f), FloatToBF16(f)) << f;
    ASSERT_EQ(f32_to_f16(f), FloatToHalf(f)) << f;
  }
}

// Random words of `kind` whose values are ordinary numbers.
std::vector<uint32_t> RandomWords(int kind, size_t n, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.05f);
  std::vector<uint32_t> w(n);
  for (auto& x : w) x = f32_to_word(g(rng), kind);
  return w;
}

class XorApplyTest : public ::testing::TestWithParam<int> {};

TEST_P(XorApplyTest, ReproducesTheFineTuneExactly) {
  const int kind = GetParam();
  const int wb = word_bytes(kind);
  std::mt19937 rng(11 + kind);
  const size_t n = 1037;
  auto base = RandomWords(kind, n, rng);
  auto ft = base;
  for (size_t i = 0; i < n; i += 3) ft[i] = RandomWords(kind, 1, rng)[0];
  std::vector<float> base_f(n), out(n);
  std::vector<uint8_t> planes(n * wb);
  for (size_t i = 0; i < n; ++i) {
    base_f[i] = word_to_f32(base[i], kind);
    const uint32_t x = base[i] ^ ft[i];
    for (int p = 0; p < wb; ++p) planes[p * n + i] = static_cast<uint8_t>(x >> (8 * p));
  }
  XorApply(base_f.data(), planes.data(), n, kind, out.data());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(f32_to_word(out[i], kind), ft[i]) << i;
  // In place (out aliases base).
  XorApply(base_f.data(), planes.data(), n, kind, base_f.data());
  EXPECT_EQ(0, std::memcmp(base_f.data(), out.data(), n * 4));
}

// On the stored words (a base kept in bf16/f16 on a GPU): the fine-tune's words, in place too.
TEST_P(XorApplyTest, OnStoredWordsGivesTheFineTunesWords) {
  const int kind = GetParam();
  const int wb = word_bytes(kind);
  std::mt19937 rng(21 + kind);
  const size_t n = 999;
  auto base = RandomWords(kind, n, rng);
  auto ft = base;
  for (size_t i = 0; i < n; i += 2) ft[i] = RandomWords(kind, 1, rng)[0];
  std::vector<uint8_t> planes(n * wb), words(n * wb), out(n * wb);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = base[i] ^ ft[i];
    for (int p = 0; p < wb; ++p) planes[p * n + i] = static_cast<uint8_t>(x >> (8 * p));
    std::memcpy(&words[i * wb], &base[i], wb);  // little-endian: the low bytes
  }
  XorApplyWords(words.data(), planes.data(), n, kind, out.data());
  for (size_t i = 0; i < n; ++i) {
    uint32_t w = 0;
    std::memcpy(&w, &out[i * wb], wb);
    ASSERT_EQ(w, ft[i]) << i;
  }
  XorApplyWords(words.data(), planes.data(), n, kind, words.data());
  EXPECT_EQ(words, out);
}

INSTANTIATE_TEST_SUITE_P(Kinds, XorApplyTest, ::testing::Values(kWordBF16, kWordF16, kWordF32));

TEST(DeltaOps, Int8AndSignMatchReferenceLoops) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const size_t rows = 7, cols = 45;  // cols not a multiple of 32: a partial sign word
  std::vector<float> base(rows * cols), scales(rows), out(rows * cols);
  std::vector<int8_t> q(rows * cols);
  std::vector<uint32_t> bits(rows * sign_words_per_row(cols));
  for (auto& x : base) x = g(rng);
  for (auto& s : scales) s = std::fabs(g(rng)) * 0.01f;
  for (auto& x : q) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  for (auto& b : bits) b = static_cast<uint32_t>(rng());
  Int8Apply(base.data(), q.data(), scales.data(), rows, cols, out.data());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      ASSERT_EQ(out[r * cols + c], base[r * cols + c] + scales[r] * q[r * cols + c]);
  SignApply(base.data(), bits.data(), scales.data(), rows, cols, out.data());
  const size_t wpr = sign_words_per_row(cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const bool pos = (bits[r * wpr + c / 32] >> (c % 32)) & 1;
      ASSERT_EQ(out[r * cols + c], base[r * cols + c] + (pos ? scales[r] : -scales[r]));
    }
}

TEST(DeltaOps, Int8QuantizeRoundsToNearestWithinHalfAStep) {
  const float s = 0.01f;
  for (float d = -1.3f; d <= 1.3f; d += 0.00037f) {
    const int8_t q = int8_quantize_elem(d, s);
    if (std::fabs(d) <= 127 * s) ASSERT_LE(std::fabs(q * s - d), s / 2 * 1.0001f) << d;
  }
  EXPECT_EQ(int8_quantize_elem(5.0f, 0.0f), 0);
  EXPECT_EQ(int8_quantize_elem(100.0f, 0.01f), 127);
  EXPECT_EQ(int8_quantize_elem(-100.0f, 0.01f), -127);
}

TEST(LoraOps, MergeMatchesDoubleMatmul) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 0.1f);
  const int out = 19, in = 33, rank = 5;
  const float scale = 1.7f;
  std::vector<float> w(out * in), a(rank * in), b(out * rank), merged(out * in);
  for (auto* v : {&w, &a, &b})
    for (auto& x : *v) x = g(rng);
  LoraMerge(w.data(), a.data(), b.data(), out, in, rank, scale, merged.data());
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      double acc = 0;
      for (int k = 0; k < rank; ++k) acc += double(b[o * rank + k]) * a[k * in + i];
      ASSERT_NEAR(merged[o * in + i], w[o * in + i] + scale * acc, 1e-6);
    }
}

TEST(LoraOps, BgmvMixedBatchEqualsEachRowAlone) {
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.0f, 0.2f);
  const int in = 24, out = 17, rows = 6;
  const int ranks[3] = {4, 8, 2};
  std::vector<std::vector<float>> as(3), bs(3);
  std::vector<BgmvSlot> slots(3);
  for (int s = 0; s < 3; ++s) {
    as[s].resize(ranks[s] * in);
    bs[s].resize(out * ranks[s]);
    for (auto& x : as[s]) x = g(rng);
    for (auto& x : bs[s]) x = g(rng);
    slots[s] = BgmvSlot{as[s].data(), bs[s].data(), ranks[s], 0.5f + s};
  }
  std::vector<float> x(rows * in), y0(rows * out);
  for (auto& v : x) v = g(rng);
  for (auto& v : y0) v = g(rng);
  const int32_t row_slot[rows] = {2, -1, 0, 1, 0, 2};
  const int max_rank = 8;
  std::vector<float> v(rows * max_rank), y = y0;
  BgmvShrink(x.data(), rows, in, row_slot, slots.data(), 3, max_rank, v.data());
  BgmvExpand(v.data(), rows, out, row_slot, slots.data(), 3, max_rank, y.data());
  for (int r = 0; r < rows; ++r) {
    const int s = row_slot[r];
    // Alone: one row, one slot.
    std::vector<float> v1(max_rank), y1(y0.begin() + r * out, y0.begin() + (r + 1) * out);
    BgmvShrink(x.data() + r * in, 1, in, &row_slot[r], slots.data(), 3, max_rank, v1.data());
    BgmvExpand(v1.data(), 1, out, &row_slot[r], slots.data(), 3, max_rank, y1.data());
    for (int o = 0; o < out; ++o) {
      ASSERT_EQ(y[r * out + o], y1[o]) << "row " << r << " differs in the mixed batch";
      double want = y0[r * out + o];
      if (s >= 0) {
        for (int k = 0; k < ranks[s]; ++k) {
          double ax = 0;
          for (int i = 0; i < in; ++i) ax += double(as[s][k * in + i]) * x[r * in + i];
          want += slots[s].scale * bs[s][o * ranks[s] + k] * ax;
        }
      }
      ASSERT_NEAR(y[r * out + o], want, 1e-5) << "row " << r << " o " << o;
    }
  }
}

}  // namespace
}  // namespace gem::ops
