// Copyright the gem authors. Matmul kernels for the K-quants q4_k and q6_k against integer
// activations in blocks of 256 (ActQ8K, gemm_kernels.h), on the CPU backend's packed layout.
//
// Packed layout ("x16", as for the 32-element types in gemm_q32.cc): rows in groups of 16 (the
// last padded with zero rows); per group and super-block of 256, the 16 rows' blocks re-laid so
// that one 512-bit register holds four codes of each of the 16 rows:
//   q4_k (16 x 144 bytes): f16 d[16]; f16 dmin[16]; the 12 packed scale bytes "vertically"
//        (byte k of row l at 16k + l); 32 chunks of 64 bytes, chunk 8c + r holding in byte 4l+t
//        byte 32c + 4r + t of row l's qs (low nibble: element 64c + 4r + t, high: +32).
//   q6_k (16 x 210 bytes): f16 d[16]; int8 scales vertically (scale g of row l at 16g + l); 32
//        chunks of low nibbles, chunk 16h + r holding in byte 4l+t byte 64h + 4r + t of row l's
//        ql (low nibble: element 128h + 4r + t, high: +64); 16 chunks of high bit pairs, chunk
//        8h + r holding byte 32h + 4r + t of row l's qh (bits 2g, 2g+1: element
//        128h + 32g + 4r + t).
// Same bytes as the ggml rows. Per super-block, lane l (row j) and activation row i, with the
// planes p in {h, l} of a = 128 h + l and exact int32 sums:
//   q4_k: I_p = sum_s sc_s * sum_{e in s} q_e p_e;  M = sum_s mn_s * sum_{e in s} a_e
//         acc += I_h * (d 128 dx); acc += I_l * (d dx); acc -= M * (dmin dx)
//   q6_k: I_p = sum_g sc_g * (sum_{e in g} u_e p_e - 32 * sum_{e in g} p_e)
//         acc += I_h * (d 128 dx); acc += I_l * (d dx)
// (one fused multiply-add each). Every ISA runs exactly these operations, so AVX-512 (VNNI),
// AVX2 and the portable path give identical results, which never depend on m, the other rows,
// the tile or the thread.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/gemm_kernels.h"
#include "gem/safetensors.h"

namespace gem::gemm {
namespace {

constexpr int kGroup = 16;
constexpr int kQ4KBytes = 144, kQ6KBytes = 210;
constexpr int kQ4KGroup = kGroup * kQ4KBytes, kQ6KGroup = kGroup * kQ6KBytes;
// Offsets in a packed group-block.
constexpr int kQ4KD = 0, kQ4KDmin = 32, kQ4KScales = 64, kQ4KCodes = 256;
constexpr int kQ6KD = 0, kQ6KScales = 32, kQ6KLow = 288, kQ6KHigh = 288 + 2048;
static_assert(kQ4KCodes + 32 * 64 == kQ4KGroup);
static_assert(kQ6KHigh + 16 * 64 == kQ6KGroup);

inline float F16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

inline uint32_t U32At(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- Packing ----

void PackQ4K(const uint8_t* const* blk, uint8_t* out) {
  for (int l = 0; l < kGroup; ++l) {
    const uint8_t* b = blk[l];
    if (b == nullptr) continue;
    std::memcpy(out + kQ4KD + 2 * l, b, 2);
    std::memcpy(out + kQ4KDmin + 2 * l, b + 2, 2);
    for (int k = 0; k < 12; ++k) out[kQ4KScales + 16 * k + l] = b[4 + k];
    for (int c = 0; c < 4; ++c) {
      for (int r = 0; r < 8; ++r) {
        std::memcpy(out + kQ4KCodes + 64 * (8 * c + r) + 4 * l, b + 16 + 32 * c + 4 * r, 4);
      }
    }
  }
}

void UnpackQ4K(const uint8_t* in, int l, uint8_t* b) {
  std::memcpy(b, in + kQ4KD + 2 * l, 2);
  std::memcpy(b + 2, in + kQ4KDmin + 2 * l, 2);
  for (int k = 0; k < 12; ++k) b[4 + k] = in[kQ4KScales + 16 * k + l];
  for (int c = 0; c < 4; ++c) {
    for (int r = 0; r < 8; ++r) {
      std::memcpy(b + 16 + 32 * c + 4 * r, in + kQ4KCodes + 64 * (8 * c + r) + 4 * l, 4);
    }
  }
}

void PackQ6K(const uint8_t* const* blk, uint8_t* out) {
  for (int l = 0; l < kGroup; ++l) {
    const uint8_t* b = blk[l];
    if (b == nullptr) continue;
    std::memcpy(out + kQ6KD + 2 * l, b + 208, 2);
    for (int g = 0; g < 16; ++g) out[kQ6KScales + 16 * g + l] = b[192 + g];
    for (int h = 0; h < 2; ++h) {
      for (int r = 0; r < 16; ++r) {
        std::memcpy(out + kQ6KLow + 64 * (16 * h + r) + 4 * l, b + 64 * h + 4 * r, 4);
      }
      for (int r = 0; r < 8; ++r) {
        std::memcpy(out + kQ6KHigh + 64 * (8 * h + r) + 4 * l, b + 128 + 32 * h + 4 * r, 4);
      }
    }
  }
}

void UnpackQ6K(const uint8_t* in, int l, uint8_t* b) {
  std::memcpy(b + 208, in + kQ6KD + 2 * l, 2);
  for (int g = 0; g < 16; ++g) b[192 + g] = in[kQ6KScales + 16 * g + l];
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < 16; ++r) {
      std::memcpy(b + 64 * h + 4 * r, in + kQ6KLow + 64 * (16 * h + r) + 4 * l, 4);
    }
    for (int r = 0; r < 8; ++r) {
      std::memcpy(b + 128 + 32 * h + 4 * r, in + kQ6KHigh + 64 * (8 * h + r) + 4 * l, 4);
    }
  }
}

// The 8 six-bit scales and mins of row l of a packed q4_k group-block.
inline void Q4KScalesOf(const uint8_t* gb, int l, int* sc, int* mn) {
  uint8_t s[12];
  for (int k = 0; k < 12; ++k) s[k] = gb[kQ4KScales + 16 * k + l];
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

inline int Q4KCode(const uint8_t* gb, int l, int e) {
  const int c = e / 64, r = (e % 32) / 4, t = e % 4;
  const uint8_t byte = gb[kQ4KCodes + 64 * (8 * c + r) + 4 * l + t];
  return (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
}

inline int Q6KCode(const uint8_t* gb, int l, int e) {
  const int h = e / 128, g = (e % 128) / 32, rr = (e % 32) / 4, t = e % 4;
  const uint8_t lo = gb[kQ6KLow + 64 * (16 * h + 8 * (g % 2) + rr) + 4 * l + t];
  const uint8_t hi = gb[kQ6KHigh + 64 * (8 * h + rr) + 4 * l + t];
  return ((lo >> (4 * (g / 2))) & 0xF) | (((hi >> (2 * g)) & 3) << 4);
}

// Activation row accessors.
struct ActRow {
  const int8_t* h;
  const int8_t* l;
  const int16_t* bh;
  const int16_t* bl;
  const float* d;
  ActRow(const uint8_t* row, const ActLayout& L)
      : h(reinterpret_cast<const int8_t*>(row)),
        l(reinterpret_cast<const int8_t*>(row + L.l_off)),
        bh(reinterpret_cast<const int16_t*>(row + L.bsums_off)),
        bl(reinterpret_cast<const int16_t*>(row + L.bsums_l_off)),
        d(reinterpret_cast<const float*>(row + L.d_off)) {}
  // Sum of a over the 32 elements of sub-block s of super-block b.
  int Sum32(int b, int s) const {
    const int g = 16 * b + 2 * s;
    return 128 * (bh[g] + bh[g + 1]) + bl[g] + bl[g + 1];
  }
};

// ---- Portable ----
void GenericQ4K(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  const int nb = a.k / 256;
  for (int i = 0; i < a.m; ++i) {
    const ActRow x(a.act + i * a.act_stride, L);
    for (int j = a.n0; j < a.n1; ++j) {
      const uint8_t* group = a.w + static_cast<size_t>(j / kGroup) * nb * kQ4KGroup;
      const int l = j % kGroup;
      float acc = 0;
      for (int b = 0; b < nb; ++b) {
        const uint8_t* gb = group + static_cast<size_t>(b) * kQ4KGroup;
        int sc[8], mn[8];
        Q4KScalesOf(gb, l, sc, mn);
        int ih = 0, il = 0, ms = 0;
        for (int s = 0; s < 8; ++s) {
          int ph = 0, pl = 0;
          for (int e = 32 * s; e < 32 * s + 32; ++e) {
            const int q = Q4KCode(gb, l, e);
            ph += q * x.h[256 * b + e];
            pl += q * x.l[256 * b + e];
          }
          ih += sc[s] * ph;
          il += sc[s] * pl;
          ms += mn[s] * x.Sum32(b, s);
        }
        const float dw = F16(gb + kQ4KD + 2 * l), dm = F16(gb + kQ4KDmin + 2 * l);
        const float dx = x.d[b];
        acc = std::fma(static_cast<float>(ih), dw * (128.0f * dx), acc);
        acc = std::fma(static_cast<float>(il), dw * dx, acc);
        acc = std::fma(-static_cast<float>(ms), dm * dx, acc);
      }
      float* out = a.y + static_cast<size_t>(i) * a.ldy + j;
      *out = a.accumulate ? *out + acc : acc;
    }
  }
}

void GenericQ6K(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  const int nb = a.k / 256;
  for (int i = 0; i < a.m; ++i) {
    const ActRow x(a.act + i * a.act_stride, L);
    for (int j = a.n0; j < a.n1; ++j) {
      const uint8_t* group = a.w + static_cast<size_t>(j / kGroup) * nb * kQ6KGroup;
      const int l = j % kGroup;
      float acc = 0;
      for (int b = 0; b < nb; ++b) {
        const uint8_t* gb = group + static_cast<size_t>(b) * kQ6KGroup;
        int ih = 0, il = 0;
        for (int g = 0; g < 16; ++g) {
          int ph = -32 * x.bh[16 * b + g], pl = -32 * x.bl[16 * b + g];
          for (int e = 16 * g; e < 16 * g + 16; ++e) {
            const int u = Q6KCode(gb, l, e);
            ph += u * x.h[256 * b + e];
            pl += u * x.l[256 * b + e];
          }
          const int sc = static_cast<int8_t>(gb[kQ6KScales + 16 * g + l]);
          ih += sc * ph;
          il += sc * pl;
        }
        const float dw = F16(gb + kQ6KD + 2 * l), dx = x.d[b];
        acc = std::fma(static_cast<float>(ih), dw * (128.0f * dx), acc);
        acc = std::fma(static_cast<float>(il), dw * dx, acc);
      }
      float* out = a.y + static_cast<size_t>(i) * a.ldy + j;
      *out = a.accumulate ? *out + acc : acc;
    }
  }
}

// Stores lanes [lo, hi) of a group's 16 outputs (row j0 + lane) of activation row i.
inline void StoreLanes(const Args& a, int i, int j0, const float* v) {
  float* out = a.y + static_cast<size_t>(i) * a.ldy;
  for (int l = 0; l < kGroup; ++l) {
    const int j = j0 + l;
    if (j < a.n0 || j >= a.n1) continue;
    out[j] = a.accumulate ? out[j] + v[l] : v[l];
  }
}

// ---- AVX-512 + VNNI ----
#define GEM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,f16c")))

GEM_AVX512 inline __m512i Bcast(const int8_t* p) {
  return _mm512_set1_epi32(static_cast<int>(U32At(reinterpret_cast<const uint8_t*>(p))));
}

// The 16 rows' 6-bit scales (sc) and mins (mn) of sub-block s, as int32 lanes.
GEM_AVX512 inline void Q4KScaleVectors(const uint8_t* gb, __m512i* sc, __m512i* mn) {
  __m128i s[12];
  for (int k = 0; k < 12; ++k) {
    s[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kQ4KScales + 16 * k));
  }
  const __m128i m63 = _mm_set1_epi8(63), m15 = _mm_set1_epi8(15), m3 = _mm_set1_epi8(3);
  for (int j = 0; j < 4; ++j) {
    sc[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j], m63));
    mn[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j + 4], m63));
  }
  for (int j = 4; j < 8; ++j) {
    const __m128i top_sc = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(s[j - 4], 6), m3), 4);
    const __m128i top_mn = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(s[j], 6), m3), 4);
    sc[j] = _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(s[j + 4], m15), top_sc));
    mn[j] =
        _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(s[j + 4], 4), m15), top_mn));
  }
}

template <int RM>
GEM_AVX512 void TileQ4K512(const Args& a, const ActLayout& L, int i0, int g) {
  const int nb = a.k / 256;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * kQ4KGroup;
  __m512 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * kQ4KGroup;
    __m512i sc[8], mn[8];
    Q4KScaleVectors(gb, sc, mn);
    __m512i ih[RM], il[RM], ms[RM];
    for (int i = 0; i < RM; ++i) {
      ih[i] = il[i] = ms[i] = _mm512_setzero_si512();
    }
    for (int s = 0; s < 8; ++s) {
      const int c = s / 2, shift = 4 * (s % 2);
      // The next super-block's 36 cache lines, a few per sub-block: the stream is too short per
      // group for the hardware prefetcher to run ahead on its own.
      for (int p = 5 * s; p < std::min(36, 5 * s + 5); ++p) {
        _mm_prefetch(reinterpret_cast<const char*>(gb + kQ4KGroup + 64 * p), _MM_HINT_T0);
      }
      __m512i w[8];
      for (int r = 0; r < 8; ++r) {
        const __m512i v = _mm512_loadu_si512(gb + kQ4KCodes + 64 * (8 * c + r));
        w[r] = _mm512_and_si512(shift ? _mm512_srli_epi16(v, 4) : v, m4);
      }
      for (int i = 0; i < RM; ++i) {
        const ActRow x(a.act + (i0 + i) * a.act_stride, L);
        const int8_t* hp = x.h + 256 * b + 32 * s;
        const int8_t* lp = x.l + 256 * b + 32 * s;
        // Four independent chains (two per plane), summed exactly: half the latency of two.
        __m512i ph = _mm512_setzero_si512(), pl = _mm512_setzero_si512();
        __m512i ph2 = _mm512_setzero_si512(), pl2 = _mm512_setzero_si512();
        for (int r = 0; r < 8; r += 2) {
          ph = _mm512_dpbusd_epi32(ph, w[r], Bcast(hp + 4 * r));
          pl = _mm512_dpbusd_epi32(pl, w[r], Bcast(lp + 4 * r));
          ph2 = _mm512_dpbusd_epi32(ph2, w[r + 1], Bcast(hp + 4 * r + 4));
          pl2 = _mm512_dpbusd_epi32(pl2, w[r + 1], Bcast(lp + 4 * r + 4));
        }
        ph = _mm512_add_epi32(ph, ph2);
        pl = _mm512_add_epi32(pl, pl2);
        ih[i] = _mm512_add_epi32(ih[i], _mm512_mullo_epi32(ph, sc[s]));
        il[i] = _mm512_add_epi32(il[i], _mm512_mullo_epi32(pl, sc[s]));
        ms[i] =
            _mm512_add_epi32(ms[i], _mm512_mullo_epi32(mn[s], _mm512_set1_epi32(x.Sum32(b, s))));
      }
    }
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kQ4KD)));
    const __m512 dm =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kQ4KDmin)));
    for (int i = 0; i < RM; ++i) {
      const float dx = ActRow(a.act + (i0 + i) * a.act_stride, L).d[b];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih[i]),
                               _mm512_mul_ps(dw, _mm512_set1_ps(128.0f * dx)), acc[i]);
      acc[i] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(il[i]), _mm512_mul_ps(dw, _mm512_set1_ps(dx)), acc[i]);
      acc[i] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms[i]), _mm512_mul_ps(dm, _mm512_set1_ps(dx)),
                                acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    float v[16];
    _mm512_storeu_ps(v, acc[i]);
    StoreLanes(a, i0 + i, g * kGroup, v);
  }
}

template <int RM>
GEM_AVX512 void TileQ6K512(const Args& a, const ActLayout& L, int i0, int g) {
  const int nb = a.k / 256;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * kQ6KGroup;
  __m512 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * kQ6KGroup;
    __m512i ih[RM], il[RM];
    for (int i = 0; i < RM; ++i) ih[i] = il[i] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int q = 0; q < 4; ++q) {  // 32 elements: 128h + 32q ...
        // The next super-block's 53 cache lines, 7 per step (see TileQ4K512).
        const int step = 4 * h + q;
        for (int p = 7 * step; p < std::min(53, 7 * step + 7); ++p) {
          _mm_prefetch(reinterpret_cast<const char*>(gb + kQ6KGroup + 64 * p), _MM_HINT_T0);
        }
        __m512i w[8];
        for (int r = 0; r < 8; ++r) {
          const __m512i lo = _mm512_loadu_si512(gb + kQ6KLow + 64 * (16 * h + 8 * (q % 2) + r));
          const __m512i hi = _mm512_loadu_si512(gb + kQ6KHigh + 64 * (8 * h + r));
          const __m512i nib = _mm512_and_si512(q / 2 ? _mm512_srli_epi16(lo, 4) : lo, m4);
          const __m512i top = _mm512_and_si512(_mm512_srli_epi16(hi, 2 * q), m3);
          w[r] = _mm512_or_si512(nib, _mm512_slli_epi16(top, 4));
        }
        for (int half = 0; half < 2; ++half) {  // the two 16-element scale groups
          const int grp = 8 * h + 2 * q + half;
          const __m512i sc = _mm512_cvtepi8_epi32(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kQ6KScales + 16 * grp)));
          for (int i = 0; i < RM; ++i) {
            const ActRow x(a.act + (i0 + i) * a.act_stride, L);
            const int8_t* hp = x.h + 256 * b + 16 * grp;
            const int8_t* lp = x.l + 256 * b + 16 * grp;
            __m512i ph = _mm512_set1_epi32(-32 * x.bh[16 * b + grp]);
            __m512i pl = _mm512_set1_epi32(-32 * x.bl[16 * b + grp]);
            for (int r = 0; r < 4; ++r) {
              ph = _mm512_dpbusd_epi32(ph, w[4 * half + r], Bcast(hp + 4 * r));
              pl = _mm512_dpbusd_epi32(pl, w[4 * half + r], Bcast(lp + 4 * r));
            }
            ih[i] = _mm512_add_epi32(ih[i], _mm512_mullo_epi32(ph, sc));
            il[i] = _mm512_add_epi32(il[i], _mm512_mullo_epi32(pl, sc));
          }
        }
      }
    }
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kQ6KD)));
    for (int i = 0; i < RM; ++i) {
      const float dx = ActRow(a.act + (i0 + i) * a.act_stride, L).d[b];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih[i]),
                               _mm512_mul_ps(dw, _mm512_set1_ps(128.0f * dx)), acc[i]);
      acc[i] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(il[i]), _mm512_mul_ps(dw, _mm512_set1_ps(dx)), acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    float v[16];
    _mm512_storeu_ps(v, acc[i]);
    StoreLanes(a, i0 + i, g * kGroup, v);
  }
}

// ---- AVX2: the 16 lanes as two halves of 8 ----
#define GEM_AVX2 __attribute__((target("avx2,fma,f16c")))

GEM_AVX2 inline __m256i Dot4(__m256i w, const int8_t* p, __m256i ones) {
  const __m256i av =
      _mm256_set1_epi32(static_cast<int>(U32At(reinterpret_cast<const uint8_t*>(p))));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, av), ones);
}

GEM_AVX2 void Q4KScaleVectors256(const uint8_t* gb, int half, __m256i* sc, __m256i* mn) {
  // Scalar decode of the 8 lanes (cheap next to the 2 x 256 x 8 multiply-adds it serves).
  alignas(32) int32_t s[8][8], m[8][8];
  for (int l = 0; l < 8; ++l) {
    int scl[8], mnl[8];
    Q4KScalesOf(gb, 8 * half + l, scl, mnl);
    for (int j = 0; j < 8; ++j) {
      s[j][l] = scl[j];
      m[j][l] = mnl[j];
    }
  }
  for (int j = 0; j < 8; ++j) {
    sc[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(s[j]));
    mn[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(m[j]));
  }
}

template <int RM>
GEM_AVX2 void TileQ4K256(const Args& a, const ActLayout& L, int i0, int g, int half) {
  const int nb = a.k / 256;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * kQ4KGroup;
  const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * kQ4KGroup;
    __m256i sc[8], mn[8];
    Q4KScaleVectors256(gb, half, sc, mn);
    __m256i ih[RM], il[RM], ms[RM];
    for (int i = 0; i < RM; ++i) ih[i] = il[i] = ms[i] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const int c = s / 2, shift = 4 * (s % 2);
      __m256i w[8];
      for (int r = 0; r < 8; ++r) {
        const __m256i v = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(gb + kQ4KCodes + 64 * (8 * c + r) + 32 * half));
        w[r] = _mm256_and_si256(shift ? _mm256_srli_epi16(v, 4) : v, m4);
      }
      for (int i = 0; i < RM; ++i) {
        const ActRow x(a.act + (i0 + i) * a.act_stride, L);
        const int8_t* hp = x.h + 256 * b + 32 * s;
        const int8_t* lp = x.l + 256 * b + 32 * s;
        __m256i ph = _mm256_setzero_si256(), pl = _mm256_setzero_si256();
        for (int r = 0; r < 8; ++r) {
          ph = _mm256_add_epi32(ph, Dot4(w[r], hp + 4 * r, ones));
          pl = _mm256_add_epi32(pl, Dot4(w[r], lp + 4 * r, ones));
        }
        ih[i] = _mm256_add_epi32(ih[i], _mm256_mullo_epi32(ph, sc[s]));
        il[i] = _mm256_add_epi32(il[i], _mm256_mullo_epi32(pl, sc[s]));
        ms[i] =
            _mm256_add_epi32(ms[i], _mm256_mullo_epi32(mn[s], _mm256_set1_epi32(x.Sum32(b, s))));
      }
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kQ4KD + 16 * half)));
    const __m256 dm = _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kQ4KDmin + 16 * half)));
    for (int i = 0; i < RM; ++i) {
      const float dx = ActRow(a.act + (i0 + i) * a.act_stride, L).d[b];
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih[i]),
                               _mm256_mul_ps(dw, _mm256_set1_ps(128.0f * dx)), acc[i]);
      acc[i] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(il[i]), _mm256_mul_ps(dw, _mm256_set1_ps(dx)), acc[i]);
      acc[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms[i]), _mm256_mul_ps(dm, _mm256_set1_ps(dx)),
                                acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    float v[16] = {};
    _mm256_storeu_ps(v + 8 * half, acc[i]);
    float* out = a.y + static_cast<size_t>(i0 + i) * a.ldy;
    for (int l = 8 * half; l < 8 * half + 8; ++l) {
      const int j = g * kGroup + l;
      if (j < a.n0 || j >= a.n1) continue;
      out[j] = a.accumulate ? out[j] + v[l] : v[l];
    }
  }
}

template <int RM>
GEM_AVX2 void TileQ6K256(const Args& a, const ActLayout& L, int i0, int g, int half) {
  const int nb = a.k / 256;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * kQ6KGroup;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * kQ6KGroup;
    __m256i ih[RM], il[RM];
    for (int i = 0; i < RM; ++i) ih[i] = il[i] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      for (int q = 0; q < 4; ++q) {
        __m256i w[8];
        for (int r = 0; r < 8; ++r) {
          const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
              gb + kQ6KLow + 64 * (16 * h + 8 * (q % 2) + r) + 32 * half));
          const __m256i hi = _mm256_loadu_si256(
              reinterpret_cast<const __m256i*>(gb + kQ6KHigh + 64 * (8 * h + r) + 32 * half));
          const __m256i nib = _mm256_and_si256(q / 2 ? _mm256_srli_epi16(lo, 4) : lo, m4);
          const __m256i top = _mm256_and_si256(_mm256_srl_epi16(hi, _mm_cvtsi32_si128(2 * q)), m3);
          w[r] = _mm256_or_si256(nib, _mm256_slli_epi16(top, 4));
        }
        for (int hf = 0; hf < 2; ++hf) {
          const int grp = 8 * h + 2 * q + hf;
          const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(
              reinterpret_cast<const __m128i*>(gb + kQ6KScales + 16 * grp + 8 * half)));
          for (int i = 0; i < RM; ++i) {
            const ActRow x(a.act + (i0 + i) * a.act_stride, L);
            const int8_t* hp = x.h + 256 * b + 16 * grp;
            const int8_t* lp = x.l + 256 * b + 16 * grp;
            __m256i ph = _mm256_set1_epi32(-32 * x.bh[16 * b + grp]);
            __m256i pl = _mm256_set1_epi32(-32 * x.bl[16 * b + grp]);
            for (int r = 0; r < 4; ++r) {
              ph = _mm256_add_epi32(ph, Dot4(w[4 * hf + r], hp + 4 * r, ones));
              pl = _mm256_add_epi32(pl, Dot4(w[4 * hf + r], lp + 4 * r, ones));
            }
            ih[i] = _mm256_add_epi32(ih[i], _mm256_mullo_epi32(ph, sc));
            il[i] = _mm256_add_epi32(il[i], _mm256_mullo_epi32(pl, sc));
          }
        }
      }
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kQ6KD + 16 * half)));
    for (int i = 0; i < RM; ++i) {
      const float dx = ActRow(a.act + (i0 + i) * a.act_stride, L).d[b];
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih[i]),
                               _mm256_mul_ps(dw, _mm256_set1_ps(128.0f * dx)), acc[i]);
      acc[i] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(il[i]), _mm256_mul_ps(dw, _mm256_set1_ps(dx)), acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    float v[16] = {};
    _mm256_storeu_ps(v + 8 * half, acc[i]);
    float* out = a.y + static_cast<size_t>(i0 + i) * a.ldy;
    for (int l = 8 * half; l < 8 * half + 8; ++l) {
      const int j = g * kGroup + l;
      if (j < a.n0 || j >= a.n1) continue;
      out[j] = a.accumulate ? out[j] + v[l] : v[l];
    }
  }
}

template <bool kQ4>
void Run512(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  constexpr int kRM = 4;
  for (int i = 0; i < a.m; i += kRM) {
    const int rm = std::min(kRM, a.m - i);
    for (int g = a.n0 / kGroup; g < (a.n1 + kGroup - 1) / kGroup; ++g) {
      switch (rm) {
        case 1:
          kQ4 ? TileQ4K512<1>(a, L, i, g) : TileQ6K512<1>(a, L, i, g);
          break;
        case 2:
          kQ4 ? TileQ4K512<2>(a, L, i, g) : TileQ6K512<2>(a, L, i, g);
          break;
        case 3:
          kQ4 ? TileQ4K512<3>(a, L, i, g) : TileQ6K512<3>(a, L, i, g);
          break;
        default:
          kQ4 ? TileQ4K512<4>(a, L, i, g) : TileQ6K512<4>(a, L, i, g);
          break;
      }
    }
  }
}

template <bool kQ4>
void Run256(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  constexpr int kRM = 2;
  for (int i = 0; i < a.m; i += kRM) {
    const int rm = std::min(kRM, a.m - i);
    for (int g = a.n0 / kGroup; g < (a.n1 + kGroup - 1) / kGroup; ++g) {
      for (int half = 0; half < 2; ++half) {
        if (g * kGroup + 8 * half >= a.n1) continue;
        if (rm == 1) {
          kQ4 ? TileQ4K256<1>(a, L, i, g, half) : TileQ6K256<1>(a, L, i, g, half);
        } else {
          kQ4 ? TileQ4K256<2>(a, L, i, g, half) : TileQ6K256<2>(a, L, i, g, half);
        }
      }
    }
  }
}

bool HaveVnni512() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
  }();
  return ok;
}

}  // namespace

void PackRowsK(WeightType type, const void* rows, int64_t n, int64_t k, void* out) {
  const bool q4 = type == WeightType::kQ4_K;
  const int bytes = q4 ? kQ4KBytes : kQ6KBytes, gbytes = q4 ? kQ4KGroup : kQ6KGroup;
  const int64_t nb = k / 256, groups = (n + kGroup - 1) / kGroup;
  const auto* in = static_cast<const uint8_t*>(rows);
  auto* o = static_cast<uint8_t*>(out);
  std::memset(o, 0, static_cast<size_t>(groups * nb) * gbytes);
  const uint8_t* blk[kGroup];
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      for (int l = 0; l < kGroup; ++l) {
        const int64_t r = g * kGroup + l;
        blk[l] = r < n ? in + static_cast<size_t>(r) * nb * bytes + b * bytes : nullptr;
      }
      uint8_t* dst = o + static_cast<size_t>(g * nb + b) * gbytes;
      q4 ? PackQ4K(blk, dst) : PackQ6K(blk, dst);
    }
  }
}

void UnpackPackedRowK(WeightType type, const void* packed, int64_t k, int64_t r, void* out) {
  const bool q4 = type == WeightType::kQ4_K;
  const int bytes = q4 ? kQ4KBytes : kQ6KBytes, gbytes = q4 ? kQ4KGroup : kQ6KGroup;
  const int64_t nb = k / 256, g = r / kGroup;
  const auto* in = static_cast<const uint8_t*>(packed);
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* gb = in + static_cast<size_t>(g * nb + b) * gbytes;
    q4 ? UnpackQ4K(gb, static_cast<int>(r % kGroup), o + b * bytes)
       : UnpackQ6K(gb, static_cast<int>(r % kGroup), o + b * bytes);
  }
}

KernelFn QKKernel(Isa isa, WeightType type) {
  const bool q4 = type == WeightType::kQ4_K;
  if (!q4 && type != WeightType::kQ6_K) return nullptr;
  if (isa == Isa::kAvx512 && HaveVnni512()) return q4 ? Run512<true> : Run512<false>;
  if (isa == Isa::kAvx512 || isa == Isa::kAvx2) return q4 ? Run256<true> : Run256<false>;
  return q4 ? GenericQ4K : GenericQ6K;
}

}  // namespace gem::gemm
