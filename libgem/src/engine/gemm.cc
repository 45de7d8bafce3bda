// Copyright the gem authors. Register-tiled NT GEMM with a fixed per-element summation order.
//
// Both operands are contiguous along k (x rows, PyTorch Linear weight rows), so each output is a
// dot product; a tile of RM rows x RN weight rows keeps RM*RN vector accumulators in registers
// and streams k. Weight rows are processed in column blocks that stay in L2 while every row tile
// passes over them. Per element the order is: lane l accumulates k = l, l+V, l+2V, ... (V = the
// vector width), masked tail last, then the lanes are summed by a fixed tree - independent of
// the tile a row lands in.
#include "engine/gemm.h"

#include <immintrin.h>

#include <algorithm>

#include "engine/thread_pool.h"

namespace gem {
namespace {

constexpr int kRM = 6;  // rows per tile
constexpr int kRN = 4;  // weight rows (outputs) per tile

// ---- AVX-512 ----
__attribute__((target("avx512f"))) inline float Hsum512(__m512 v) {
  // Fixed tree: 16 -> 8 -> 4 -> 2 -> 1.
  __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

template <int RM, int RN>
__attribute__((target("avx512f"))) void Tile512(const float* x, const float* w, float* y, int k,
                                                int ldy, bool accumulate) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  int p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x + static_cast<size_t>(i) * k + p);
    for (int j = 0; j < RN; ++j) {
      __m512 wv = _mm512_loadu_ps(w + static_cast<size_t>(j) * k + p);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (p < k) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (k - p)) - 1);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) {
      xv[i] = _mm512_maskz_loadu_ps(mask, x + static_cast<size_t>(i) * k + p);
    }
    for (int j = 0; j < RN; ++j) {
      __m512 wv = _mm512_maskz_loadu_ps(mask, w + static_cast<size_t>(j) * k + p);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      float s = Hsum512(acc[i][j]);
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

// ---- AVX2 + FMA ----
__attribute__((target("avx2,fma"))) inline float Hsum256(__m256 v) {
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

template <int RM, int RN>
__attribute__((target("avx2,fma"))) void Tile256(const float* x, const float* w, float* y, int k,
                                                 int ldy, bool accumulate) {
  __m256 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  int p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm256_loadu_ps(x + static_cast<size_t>(i) * k + p);
    for (int j = 0; j < RN; ++j) {
      __m256 wv = _mm256_loadu_ps(w + static_cast<size_t>(j) * k + p);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      float s = Hsum256(acc[i][j]);
      for (int q = p; q < k; ++q) {
        s += x[static_cast<size_t>(i) * k + q] * w[static_cast<size_t>(j) * k + q];
      }
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

// ---- Portable fallback: the same structure with 8 scalar "lanes". ----
template <int RM, int RN>
void TileGeneric(const float* x, const float* w, float* y, int k, int ldy, bool accumulate) {
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const float* xr = x + static_cast<size_t>(i) * k;
      const float* wr = w + static_cast<size_t>(j) * k;
      int p = 0;
      for (; p + 8 <= k; p += 8) {
        for (int l = 0; l < 8; ++l) lane[l] += xr[p + l] * wr[p + l];
      }
      float s =
          ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
      for (; p < k; ++p) s += xr[p] * wr[p];
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

using TileFn = void (*)(const float*, const float*, float*, int, int, bool);

struct Kernels {
  const char* name;
  TileFn tile[kRM + 1][kRN + 1];  // [rows][cols], 1-based
};

template <template <int, int> class T>
struct Table;

#define GEM_TILE_TABLE(FN)                                 \
  {                                                        \
    {nullptr, nullptr, nullptr, nullptr, nullptr},         \
        {nullptr, FN<1, 1>, FN<1, 2>, FN<1, 3>, FN<1, 4>}, \
        {nullptr, FN<2, 1>, FN<2, 2>, FN<2, 3>, FN<2, 4>}, \
        {nullptr, FN<3, 1>, FN<3, 2>, FN<3, 3>, FN<3, 4>}, \
        {nullptr, FN<4, 1>, FN<4, 2>, FN<4, 3>, FN<4, 4>}, \
        {nullptr, FN<5, 1>, FN<5, 2>, FN<5, 3>, FN<5, 4>}, \
        {nullptr, FN<6, 1>, FN<6, 2>, FN<6, 3>, FN<6, 4>}, \
  }

const Kernels kAvx512 = {"avx512", GEM_TILE_TABLE(Tile512)};
const Kernels kAvx2 = {"avx2", GEM_TILE_TABLE(Tile256)};
const Kernels kGeneric = {"generic", GEM_TILE_TABLE(TileGeneric)};

const Kernels& Pick() {
  static const Kernels* k = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kAvx2;
    return &kGeneric;
  }();
  return *k;
}

// Rows [0, m) x weight rows [n0, n1).
void Block(const Kernels& kn, const float* x, const float* w, float* y, int m, int n, int k, int n0,
           int n1, bool accumulate) {
  for (int i = 0; i < m; i += kRM) {
    const int rm = std::min(kRM, m - i);
    for (int j = n0; j < n1; j += kRN) {
      const int rn = std::min(kRN, n1 - j);
      kn.tile[rm][rn](x + static_cast<size_t>(i) * k, w + static_cast<size_t>(j) * k,
                      y + static_cast<size_t>(i) * n + j, k, n, accumulate);
    }
  }
}

}  // namespace

const char* GemmKernelName() { return Pick().name; }

void GemmNT(const float* x, const float* w, float* y, int m, int n, int k, bool accumulate,
            int threads) {
  if (m <= 0 || n <= 0) return;
  const Kernels& kn = Pick();
  // Column blocks of weight rows that fit in ~256 KiB (L2), multiples of the tile width.
  int nb = std::max(kRN, (65536 / std::max(k, 1)) / kRN * kRN);
  const int blocks = (n + nb - 1) / nb;
  const double work = static_cast<double>(m) * n * k;
  const int t = work < 2e5 ? 1 : threads;
  ParallelParts(blocks, t, [&](int b) {
    const int n0 = b * nb, n1 = std::min(n, n0 + nb);
    Block(kn, x, w, y, m, n, k, n0, n1, accumulate);
  });
}

}  // namespace gem
