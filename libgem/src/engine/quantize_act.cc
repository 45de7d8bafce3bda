// Copyright the gem authors. Activation quantisation for the integer kernels (gemm_kernels.h).
//
// Per block: d = amax / 16256, a = round-to-nearest-even(x * (16256 / amax)), stored as two int8
// planes a = 128 h + l. The AVX-512 and the scalar paths compute the same f32 operations in the
// same order (amax is exact whatever the order; the default rounding mode of cvtps2dq is
// nearest-even, as std::nearbyint's), so the quantised activations do not depend on the ISA.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/gemm_kernels.h"

namespace gem::gemm {
namespace {

// The integer range of an activation: 128 * 127, so that h = round(a / 128) fits an int8.
constexpr int kRange = 16256;

size_t Pad64(size_t n) { return (n + 63) / 64 * 64; }

inline void Split(int a, int8_t* h, int8_t* l) {
  const int hv = (a + 64) >> 7;  // floor((a + 64) / 128): |hv| <= 127
  *h = static_cast<int8_t>(hv);
  *l = static_cast<int8_t>(a - 128 * hv);  // -64 .. 63
}

// Quantises n (a multiple of 16) values with one scale into the two planes; returns d.
float QuantBlockScalar(const float* x, int n, int8_t* h, int8_t* l) {
  float amax = 0;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float id = amax > 0 ? static_cast<float>(kRange) / amax : 0.0f;
  for (int j = 0; j < n; ++j) {
    const int a = std::clamp(static_cast<int>(std::nearbyint(x[j] * id)), -kRange, kRange);
    Split(a, h + j, l + j);
  }
  return amax / static_cast<float>(kRange);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) float QuantBlock512(const float* x, int n,
                                                                         int8_t* h, int8_t* l) {
  __m512 m = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
  const float amax = _mm512_reduce_max_ps(m);
  const float id = amax > 0 ? static_cast<float>(kRange) / amax : 0.0f;
  const __m512 idv = _mm512_set1_ps(id);
  const __m512i lo = _mm512_set1_epi32(-kRange), hi = _mm512_set1_epi32(kRange);
  const __m512i c64 = _mm512_set1_epi32(64);
  for (int j = 0; j < n; j += 16) {
    __m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + j), idv));
    a = _mm512_min_epi32(_mm512_max_epi32(a, lo), hi);
    const __m512i hv = _mm512_srai_epi32(_mm512_add_epi32(a, c64), 7);
    const __m512i lv = _mm512_sub_epi32(a, _mm512_slli_epi32(hv, 7));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + j), _mm512_cvtepi32_epi8(hv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(l + j), _mm512_cvtepi32_epi8(lv));
  }
  return amax / static_cast<float>(kRange);
}

bool HaveAvx512() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return ok;
}

float QuantBlock(const float* x, int n, int8_t* h, int8_t* l) {
  return HaveAvx512() ? QuantBlock512(x, n, h, l) : QuantBlockScalar(x, n, h, l);
}

}  // namespace

ActFormat ActFormatOf(WeightType type) {
  switch (type) {
    case WeightType::kF32:
    case WeightType::kF16:
    case WeightType::kBF16:
      return ActFormat::kF32;
    case WeightType::kQ4_K:
    case WeightType::kQ6_K:
      return ActFormat::kQ8K;
    default:
      return ActFormat::kQ8;
  }
}

ActLayout LayoutQ8(int k) {
  ActLayout l;
  const size_t nb = static_cast<size_t>(k) / 32;
  l.l_off = Pad64(k);
  l.sum_off = l.l_off + Pad64(k);
  l.d_off = l.sum_off + Pad64(nb * 4);
  l.s_off = l.d_off + Pad64(nb * 4);
  l.row_bytes = l.s_off + Pad64(nb * 4);
  return l;
}

ActLayout LayoutQ8K(int k) {
  ActLayout l;
  const size_t nb = static_cast<size_t>(k) / 256;
  l.l_off = Pad64(k);
  l.bsums_off = l.l_off + Pad64(k);
  l.bsums_l_off = l.bsums_off + Pad64(nb * 16 * 2);
  l.d_off = l.bsums_l_off + Pad64(nb * 16 * 2);
  l.row_bytes = l.d_off + Pad64(nb * 4);
  return l;
}

void QuantizeActQ8(const float* x, int m, int k, uint8_t* out) {
  const ActLayout L = LayoutQ8(k);
  const int nb = k / 32;
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * k;
    uint8_t* row = out + i * L.row_bytes;
    auto* h = reinterpret_cast<int8_t*>(row);
    auto* l = reinterpret_cast<int8_t*>(row + L.l_off);
    auto* sums = reinterpret_cast<int32_t*>(row + L.sum_off);
    auto* d = reinterpret_cast<float*>(row + L.d_off);
    auto* s = reinterpret_cast<float*>(row + L.s_off);
    for (int b = 0; b < nb; ++b) {
      d[b] = QuantBlock(xr + 32 * b, 32, h + 32 * b, l + 32 * b);
      int sum = 0;
      for (int j = 0; j < 32; ++j) sum += 128 * h[32 * b + j] + l[32 * b + j];
      sums[b] = sum;
      s[b] = d[b] * static_cast<float>(sum);
    }
  }
}

void QuantizeActQ8K(const float* x, int m, int k, uint8_t* out) {
  const ActLayout L = LayoutQ8K(k);
  const int nb = k / 256;
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * k;
    uint8_t* row = out + i * L.row_bytes;
    auto* h = reinterpret_cast<int8_t*>(row);
    auto* l = reinterpret_cast<int8_t*>(row + L.l_off);
    auto* bh = reinterpret_cast<int16_t*>(row + L.bsums_off);
    auto* bl = reinterpret_cast<int16_t*>(row + L.bsums_l_off);
    auto* d = reinterpret_cast<float*>(row + L.d_off);
    for (int b = 0; b < nb; ++b) {
      d[b] = QuantBlock(xr + 256 * b, 256, h + 256 * b, l + 256 * b);
      for (int g = 0; g < 16; ++g) {
        int sh = 0, sl = 0;
        for (int j = 0; j < 16; ++j) {
          sh += h[256 * b + 16 * g + j];
          sl += l[256 * b + 16 * g + j];
        }
        bh[16 * b + g] = static_cast<int16_t>(sh);
        bl[16 * b + g] = static_cast<int16_t>(sl);
      }
    }
  }
}

}  // namespace gem::gemm
