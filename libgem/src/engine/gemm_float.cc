// Copyright the gem authors. Matmul kernels for f32, f16 and bf16 weights (f32 activations).
//
// Both operands are contiguous along k (x rows, PyTorch Linear weight rows), so each output is a
// dot product; a tile of RM rows x RN weight rows keeps RM*RN vector accumulators in registers
// and streams k. Per element the order is: lane l accumulates k = l, l+V, l+2V, ... (V = the
// vector width) with one fused multiply-add each, masked tail last, then the lanes are summed by
// a fixed tree - independent of the tile a row lands in.
//
// f16 and bf16 weights are converted to f32 in registers (exactly: every half and bfloat16 is a
// float), then go through the same fused multiply-adds in the same order, so their results are
// bit-identical to the f32 kernel's on the converted weights: keeping weights in their stored
// type changes memory and speed, never a logit.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/gemm_kernels.h"
#include "gem/safetensors.h"

namespace gem::gemm {
namespace {

constexpr int kRM = 6;  // rows per tile
constexpr int kRN = 4;  // weight rows (outputs) per tile

// Element loaders: 16 (AVX-512) or 8 (AVX2) weights as f32, and one as a scalar.
struct F32W {
  using T = float;
  __attribute__((target("avx512f"))) static __m512 L16(const T* p) { return _mm512_loadu_ps(p); }
  __attribute__((target("avx512f"))) static __m512 L16m(__mmask16 m, const T* p) {
    return _mm512_maskz_loadu_ps(m, p);
  }
  __attribute__((target("avx2,fma"))) static __m256 L8(const T* p) { return _mm256_loadu_ps(p); }
  static float S(const T* p) { return *p; }
};

struct BF16W {
  using T = uint16_t;
  __attribute__((target("avx512f,avx512bw,avx512vl"))) static __m512 L16(const T* p) {
    const __m512i w =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  __attribute__((target("avx512f,avx512bw,avx512vl"))) static __m512 L16m(__mmask16 m, const T* p) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  __attribute__((target("avx2,fma"))) static __m256 L8(const T* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static float S(const T* p) { return BF16ToFloat(*p); }
};

struct F16W {
  using T = uint16_t;
  __attribute__((target("avx512f,avx512bw,avx512vl"))) static __m512 L16(const T* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  __attribute__((target("avx512f,avx512bw,avx512vl"))) static __m512 L16m(__mmask16 m, const T* p) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
  __attribute__((target("avx2,fma,f16c"))) static __m256 L8(const T* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float S(const T* p) { return HalfToFloat(*p); }
};

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

template <class W, int RM, int RN>
__attribute__((target("avx512f,avx512bw,avx512vl,f16c"))) void Tile512(const float* x, size_t ldx,
                                                                       const typename W::T* w,
                                                                       size_t ldw, float* y, int k,
                                                                       int ldy, bool accumulate) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  int p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x + i * ldx + p);
    for (int j = 0; j < RN; ++j) {
      __m512 wv = W::L16(w + j * ldw + p);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (p < k) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (k - p)) - 1);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * ldx + p);
    for (int j = 0; j < RN; ++j) {
      __m512 wv = W::L16m(mask, w + j * ldw + p);
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

template <class W, int RM, int RN>
__attribute__((target("avx2,fma,f16c"))) void Tile256(const float* x, size_t ldx,
                                                      const typename W::T* w, size_t ldw, float* y,
                                                      int k, int ldy, bool accumulate) {
  __m256 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  int p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm256_loadu_ps(x + i * ldx + p);
    for (int j = 0; j < RN; ++j) {
      __m256 wv = W::L8(w + j * ldw + p);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      float s = Hsum256(acc[i][j]);
      for (int q = p; q < k; ++q) s += x[i * ldx + q] * W::S(w + j * ldw + q);
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

// ---- Portable fallback: the same structure with 8 scalar "lanes". ----
template <class W, int RM, int RN>
void TileGeneric(const float* x, size_t ldx, const typename W::T* w, size_t ldw, float* y, int k,
                 int ldy, bool accumulate) {
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const float* xr = x + i * ldx;
      const typename W::T* wr = w + j * ldw;
      int p = 0;
      for (; p + 8 <= k; p += 8) {
        for (int l = 0; l < 8; ++l) lane[l] += xr[p + l] * W::S(wr + p + l);
      }
      float s =
          ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
      for (; p < k; ++p) s += xr[p] * W::S(wr + p);
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

template <class W>
using TileFn = void (*)(const float*, size_t, const typename W::T*, size_t, float*, int, int, bool);

template <class W, template <class, int, int> class T>
struct TileTable {
  TileFn<W> tile[kRM + 1][kRN + 1] = {
      {nullptr, nullptr, nullptr, nullptr, nullptr},
      {nullptr, T<W, 1, 1>::fn, T<W, 1, 2>::fn, T<W, 1, 3>::fn, T<W, 1, 4>::fn},
      {nullptr, T<W, 2, 1>::fn, T<W, 2, 2>::fn, T<W, 2, 3>::fn, T<W, 2, 4>::fn},
      {nullptr, T<W, 3, 1>::fn, T<W, 3, 2>::fn, T<W, 3, 3>::fn, T<W, 3, 4>::fn},
      {nullptr, T<W, 4, 1>::fn, T<W, 4, 2>::fn, T<W, 4, 3>::fn, T<W, 4, 4>::fn},
      {nullptr, T<W, 5, 1>::fn, T<W, 5, 2>::fn, T<W, 5, 3>::fn, T<W, 5, 4>::fn},
      {nullptr, T<W, 6, 1>::fn, T<W, 6, 2>::fn, T<W, 6, 3>::fn, T<W, 6, 4>::fn},
  };
};

template <class W, int RM, int RN>
struct T512 {
  static constexpr TileFn<W> fn = Tile512<W, RM, RN>;
};
template <class W, int RM, int RN>
struct T256 {
  static constexpr TileFn<W> fn = Tile256<W, RM, RN>;
};
template <class W, int RM, int RN>
struct TGen {
  static constexpr TileFn<W> fn = TileGeneric<W, RM, RN>;
};

// Rows [0, m) x weight rows [n0, n1), in tiles of kRM x kRN.
template <class W, template <class, int, int> class T>
void Run(const Args& a) {
  static const TileTable<W, T> table;
  const auto* x = reinterpret_cast<const float*>(a.act);
  const size_t ldx = a.act_stride / sizeof(float);
  const size_t ldw = a.w_stride / sizeof(typename W::T);
  const auto* w = reinterpret_cast<const typename W::T*>(a.w);
  for (int i = 0; i < a.m; i += kRM) {
    const int rm = std::min(kRM, a.m - i);
    for (int j = a.n0; j < a.n1; j += kRN) {
      const int rn = std::min(kRN, a.n1 - j);
      table.tile[rm][rn](x + i * ldx, ldx, w + j * ldw, ldw,
                         a.y + static_cast<size_t>(i) * a.ldy + j, a.k, a.ldy, a.accumulate);
    }
  }
}

}  // namespace

KernelFn FloatKernel(Isa isa, WeightType type) {
  switch (isa) {
    case Isa::kAvx512:
      if (type == WeightType::kF32) return Run<F32W, T512>;
      if (type == WeightType::kBF16) return Run<BF16W, T512>;
      if (type == WeightType::kF16) return Run<F16W, T512>;
      break;
    case Isa::kAvx2:
      if (type == WeightType::kF32) return Run<F32W, T256>;
      if (type == WeightType::kBF16) return Run<BF16W, T256>;
      if (type == WeightType::kF16) return Run<F16W, T256>;
      break;
    case Isa::kGeneric:
      if (type == WeightType::kF32) return Run<F32W, TGen>;
      if (type == WeightType::kBF16) return Run<BF16W, TGen>;
      if (type == WeightType::kF16) return Run<F16W, TGen>;
      break;
  }
  return nullptr;
}

}  // namespace gem::gemm
