// Copyright the gem authors. Matmul kernels for the K-quants q4_k and q6_k against Q8 activations
// in blocks of 256 (gemm_kernels.h), as ggml's vec_dot_q4_K_q8_K / vec_dot_q6_K_q8_K.
//
// Activations: ActQ8K (gemm_kernels.h), 15-bit integers a = 128 h + l as two int8 planes. Per
// super-block of 256, integer sums per plane with the sub-block scales applied in integers
// (exact; p = h or l, D = d_w * d_x):
//   q4_k: isum_p = sum_s sc_s * sum_{e in s} q_e p_e;  msum = sum_s mn_s * (bsum_2s + bsum_2s+1)
//         acc += isum_h * 128 D; acc += isum_l * D (vector lanes); macc += (dmin_w d_x) * msum;
//         y = acc - macc
//   q6_k: isum_p = sum_g sc_g * (sum_{e in g} u_e p_e - 32 * bsum_p,g);  acc as q4_k
// The f32 operations run in a fixed order per ISA, independent of m, the tile and the thread.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/gemm_kernels.h"
#include "gem/safetensors.h"

namespace gem::gemm {
namespace {

inline float F16At(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// The 8 six-bit scales and mins of a q4_k block.
inline void Q4KScales(const uint8_t* s, int* sc, int* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// q6_k code (0..63) of element e of a block.
inline int Q6Code(const uint8_t* blk, int e) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const int h = e / 128, r = e % 128, g = r / 32, l = r % 32;  // g = 2s + t
  const int s = g / 2, t = g % 2;
  const int lo = (ql[64 * h + 32 * t + l] >> (4 * s)) & 0xF;
  const int hi = (qh[32 * h + l] >> (2 * g)) & 3;
  return lo | hi << 4;
}

// ---- Portable ----
void GenericQ4K(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  const int nb = a.k / 256;
  for (int i = 0; i < a.m; ++i) {
    const uint8_t* row = a.act + i * a.act_stride;
    const auto* ha = reinterpret_cast<const int8_t*>(row);
    const auto* la = reinterpret_cast<const int8_t*>(row + L.l_off);
    const auto* bh = reinterpret_cast<const int16_t*>(row + L.bsums_off);
    const auto* bl = reinterpret_cast<const int16_t*>(row + L.bsums_l_off);
    const auto* dx = reinterpret_cast<const float*>(row + L.d_off);
    for (int j = a.n0; j < a.n1; ++j) {
      const uint8_t* wr = a.w + j * a.w_stride;
      float acc = 0, macc = 0;
      for (int b = 0; b < nb; ++b) {
        const uint8_t* blk = wr + 144 * b;
        int sc[8], mn[8];
        Q4KScales(blk + 4, sc, mn);
        const uint8_t* qs = blk + 16;
        int ih = 0, il = 0, msum = 0;
        for (int s = 0; s < 8; ++s) {
          int ph = 0, pl = 0;
          for (int l = 0; l < 32; ++l) {
            const int q = (s & 1) ? (qs[32 * (s / 2) + l] >> 4) : (qs[32 * (s / 2) + l] & 0xF);
            ph += q * ha[256 * b + 32 * s + l];
            pl += q * la[256 * b + 32 * s + l];
          }
          ih += sc[s] * ph;
          il += sc[s] * pl;
          const int pair = 128 * (bh[16 * b + 2 * s] + bh[16 * b + 2 * s + 1]) +
                           bl[16 * b + 2 * s] + bl[16 * b + 2 * s + 1];
          msum += mn[s] * pair;
        }
        const float d = F16At(blk) * dx[b];
        acc = std::fma(static_cast<float>(ih), 128.0f * d, acc);
        acc = std::fma(static_cast<float>(il), d, acc);
        macc = std::fma(F16At(blk + 2) * dx[b], static_cast<float>(msum), macc);
      }
      const float v = acc - macc;
      float* out = a.y + static_cast<size_t>(i) * a.ldy + j;
      *out = a.accumulate ? *out + v : v;
    }
  }
}

void GenericQ6K(const Args& a) {
  const ActLayout L = LayoutQ8K(a.k);
  const int nb = a.k / 256;
  for (int i = 0; i < a.m; ++i) {
    const uint8_t* row = a.act + i * a.act_stride;
    const auto* ha = reinterpret_cast<const int8_t*>(row);
    const auto* la = reinterpret_cast<const int8_t*>(row + L.l_off);
    const auto* bh = reinterpret_cast<const int16_t*>(row + L.bsums_off);
    const auto* bl = reinterpret_cast<const int16_t*>(row + L.bsums_l_off);
    const auto* dx = reinterpret_cast<const float*>(row + L.d_off);
    for (int j = a.n0; j < a.n1; ++j) {
      const uint8_t* wr = a.w + j * a.w_stride;
      float acc = 0;
      for (int b = 0; b < nb; ++b) {
        const uint8_t* blk = wr + 210 * b;
        const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
        int ih = 0, il = 0;
        for (int g = 0; g < 16; ++g) {
          int ph = 0, pl = 0;
          for (int l = 0; l < 16; ++l) {
            const int u = Q6Code(blk, 16 * g + l);
            ph += u * ha[256 * b + 16 * g + l];
            pl += u * la[256 * b + 16 * g + l];
          }
          ih += sc[g] * (ph - 32 * bh[16 * b + g]);
          il += sc[g] * (pl - 32 * bl[16 * b + g]);
        }
        const float d = F16At(blk + 208) * dx[b];
        acc = std::fma(static_cast<float>(ih), 128.0f * d, acc);
        acc = std::fma(static_cast<float>(il), d, acc);
      }
      float* out = a.y + static_cast<size_t>(i) * a.ldy + j;
      *out = a.accumulate ? *out + acc : acc;
    }
  }
}

// ---- AVX-512 (BW; no VNNI needed: vpmaddubsw + vpmaddwd apply the int16 scales) ----
#define GEM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c")))

GEM_AVX512 inline float Hsum512(__m512 v) {
  __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

GEM_AVX512 inline int HsumI256(__m256i v) {
  __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  a = _mm_add_epi32(a, _mm_unpackhi_epi64(a, a));
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 1));
  return _mm_cvtsi128_si32(a);
}

// Weights of one q4_k super-block, unpacked for a tile.
struct Q4KBlock512 {
  __m512i u[4];   // codes of elements 64c .. 64c+63
  __m512i sc[4];  // int16 scales: [sc_2c x 16 | sc_2c+1 x 16]
  __m256i mins;   // int16 [mn_0, mn_0, mn_1, mn_1, ...]
  float d, dmin;
};

GEM_AVX512 inline void LoadQ4K512(const uint8_t* blk, Q4KBlock512* o) {
  int sc[8], mn[8];
  Q4KScales(blk + 4, sc, mn);
  o->d = F16At(blk);
  o->dmin = F16At(blk + 2);
  const uint8_t* qs = blk + 16;
  for (int c = 0; c < 4; ++c) {
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1);
    o->u[c] = _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
    o->sc[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(sc[2 * c])),
                                  _mm256_set1_epi16(sc[2 * c + 1]), 1);
  }
  o->mins = _mm256_set_epi16(mn[7], mn[7], mn[6], mn[6], mn[5], mn[5], mn[4], mn[4], mn[3], mn[3],
                             mn[2], mn[2], mn[1], mn[1], mn[0], mn[0]);
}

template <int RM, int RN>
GEM_AVX512 void TileQ4K512(const uint8_t* act, size_t as, const uint8_t* w, size_t ws, float* y,
                           int ldy, int k, bool accumulate) {
  const ActLayout L = LayoutQ8K(k);
  const int nb = k / 256;
  __m512 acc[RM][RN];
  float macc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      acc[i][j] = _mm512_setzero_ps();
      macc[i][j] = 0;
    }
  }
  Q4KBlock512 wb[RN];
  for (int b = 0; b < nb; ++b) {
    for (int j = 0; j < RN; ++j) LoadQ4K512(w + j * ws + 144 * b, &wb[j]);
    for (int i = 0; i < RM; ++i) {
      const uint8_t* row = act + i * as;
      const uint8_t* qh = row + 256 * b;
      const uint8_t* ql = row + L.l_off + 256 * b;
      const __m256i bh = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(row + L.bsums_off + static_cast<size_t>(b) * 32));
      const __m256i bl = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(row + L.bsums_l_off + static_cast<size_t>(b) * 32));
      const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
      for (int j = 0; j < RN; ++j) {
        const Q4KBlock512& q = wb[j];
        __m512i ih = _mm512_setzero_si512(), il = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c) {
          ih = _mm512_add_epi32(
              ih, _mm512_madd_epi16(_mm512_maddubs_epi16(q.u[c], _mm512_loadu_si512(qh + 64 * c)),
                                    q.sc[c]));
          il = _mm512_add_epi32(
              il, _mm512_madd_epi16(_mm512_maddubs_epi16(q.u[c], _mm512_loadu_si512(ql + 64 * c)),
                                    q.sc[c]));
        }
        const float d = q.d * dx;
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih), _mm512_set1_ps(128.0f * d), acc[i][j]);
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(il), _mm512_set1_ps(d), acc[i][j]);
        const int msum =
            128 * HsumI256(_mm256_madd_epi16(bh, q.mins)) + HsumI256(_mm256_madd_epi16(bl, q.mins));
        macc[i][j] = std::fma(q.dmin * dx, static_cast<float>(msum), macc[i][j]);
      }
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      const float s = Hsum512(acc[i][j]) - macc[i][j];
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

struct Q6KBlock512 {
  __m512i u[4];   // codes of elements 64c .. 64c+63
  __m512i sc[4];  // int16 scales, each repeated 8 times (16 elements = 8 int16 pairs)
  __m256i sc16;   // the 16 scales as int16
  float d;
};

GEM_AVX512 inline void LoadQ6K512(const uint8_t* blk, Q6KBlock512* o) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  for (int h = 0; h < 2; ++h) {
    const __m512i l64 = _mm512_loadu_si512(ql + 64 * h);
    const __m256i h32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h));
    // Elements 128h + j (j < 64) take qh bits 2(j/32) .. +1; 128h + 64 + j bits 4 + 2(j/32).
    const __m512i qa =
        _mm512_inserti64x4(_mm512_castsi256_si512(h32), _mm256_srli_epi16(h32, 2), 1);
    o->u[2 * h] =
        _mm512_or_si512(_mm512_and_si512(l64, m4), _mm512_and_si512(_mm512_slli_epi16(qa, 4), m30));
    o->u[2 * h + 1] =
        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l64, 4), m4), _mm512_and_si512(qa, m30));
  }
  o->sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
  const __m512i s512 = _mm512_castsi256_si512(o->sc16);
  for (int c = 0; c < 4; ++c) {
    const __m512i idx =
        _mm512_add_epi16(_mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1,
                                          1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                         _mm512_set1_epi16(static_cast<int16_t>(4 * c)));
    o->sc[c] = _mm512_permutexvar_epi16(idx, s512);
  }
  o->d = F16At(blk + 208);
}

template <int RM, int RN>
GEM_AVX512 void TileQ6K512(const uint8_t* act, size_t as, const uint8_t* w, size_t ws, float* y,
                           int ldy, int k, bool accumulate) {
  const ActLayout L = LayoutQ8K(k);
  const int nb = k / 256;
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  Q6KBlock512 wb[RN];
  for (int b = 0; b < nb; ++b) {
    for (int j = 0; j < RN; ++j) LoadQ6K512(w + j * ws + 210 * b, &wb[j]);
    for (int i = 0; i < RM; ++i) {
      const uint8_t* row = act + i * as;
      const uint8_t* qh = row + 256 * b;
      const uint8_t* ql = row + L.l_off + 256 * b;
      const __m256i bh = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(row + L.bsums_off + static_cast<size_t>(b) * 32));
      const __m256i bl = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(row + L.bsums_l_off + static_cast<size_t>(b) * 32));
      const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
      for (int j = 0; j < RN; ++j) {
        const Q6KBlock512& q = wb[j];
        // -32 * sum_g sc_g * bsum_g per plane, in the low eight lanes.
        __m512i ih = _mm512_sub_epi32(
            _mm512_setzero_si512(),
            _mm512_zextsi256_si512(_mm256_slli_epi32(_mm256_madd_epi16(bh, q.sc16), 5)));
        __m512i il = _mm512_sub_epi32(
            _mm512_setzero_si512(),
            _mm512_zextsi256_si512(_mm256_slli_epi32(_mm256_madd_epi16(bl, q.sc16), 5)));
        for (int c = 0; c < 4; ++c) {
          ih = _mm512_add_epi32(
              ih, _mm512_madd_epi16(_mm512_maddubs_epi16(q.u[c], _mm512_loadu_si512(qh + 64 * c)),
                                    q.sc[c]));
          il = _mm512_add_epi32(
              il, _mm512_madd_epi16(_mm512_maddubs_epi16(q.u[c], _mm512_loadu_si512(ql + 64 * c)),
                                    q.sc[c]));
        }
        const float d = q.d * dx;
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih), _mm512_set1_ps(128.0f * d), acc[i][j]);
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(il), _mm512_set1_ps(d), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      const float s = Hsum512(acc[i][j]);
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

// ---- AVX2: 32 elements per vector ----
#define GEM_AVX2 __attribute__((target("avx2,fma,f16c")))

GEM_AVX2 inline float Hsum256(__m256 v) {
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

GEM_AVX2 inline int HsumI256Avx2(__m256i v) {
  __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  a = _mm_add_epi32(a, _mm_unpackhi_epi64(a, a));
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 1));
  return _mm_cvtsi128_si32(a);
}

template <int RM, int RN>
GEM_AVX2 void TileQ4K256(const uint8_t* act, size_t as, const uint8_t* w, size_t ws, float* y,
                         int ldy, int k, bool accumulate) {
  const ActLayout L = LayoutQ8K(k);
  const int nb = k / 256;
  __m256 acc[RM][RN];
  float macc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      acc[i][j] = _mm256_setzero_ps();
      macc[i][j] = 0;
    }
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int b = 0; b < nb; ++b) {
    for (int j = 0; j < RN; ++j) {
      const uint8_t* blk = w + j * ws + 144 * b;
      int sc[8], mn[8];
      Q4KScales(blk + 4, sc, mn);
      const float d = F16At(blk), dmin = F16At(blk + 2);
      const __m256i mins = _mm256_set_epi16(mn[7], mn[7], mn[6], mn[6], mn[5], mn[5], mn[4], mn[4],
                                            mn[3], mn[3], mn[2], mn[2], mn[1], mn[1], mn[0], mn[0]);
      for (int i = 0; i < RM; ++i) {
        const uint8_t* row = act + i * as;
        const uint8_t* qh = row + 256 * b;
        const uint8_t* ql = row + L.l_off + 256 * b;
        __m256i ih = _mm256_setzero_si256(), il = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * c));
          const __m256i lo = _mm256_and_si256(q, m4);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
          const __m256i s0 = _mm256_set1_epi16(sc[2 * c]), s1 = _mm256_set1_epi16(sc[2 * c + 1]);
          ih = _mm256_add_epi32(
              ih, _mm256_madd_epi16(
                      _mm256_maddubs_epi16(
                          lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 64 * c))),
                      s0));
          ih = _mm256_add_epi32(
              ih,
              _mm256_madd_epi16(
                  _mm256_maddubs_epi16(
                      hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 64 * c + 32))),
                  s1));
          il = _mm256_add_epi32(
              il, _mm256_madd_epi16(
                      _mm256_maddubs_epi16(
                          lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * c))),
                      s0));
          il = _mm256_add_epi32(
              il,
              _mm256_madd_epi16(
                  _mm256_maddubs_epi16(
                      hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * c + 32))),
                  s1));
        }
        const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
        const float dd = d * dx;
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih), _mm256_set1_ps(128.0f * dd), acc[i][j]);
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(il), _mm256_set1_ps(dd), acc[i][j]);
        const __m256i bh = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(row + L.bsums_off + static_cast<size_t>(b) * 32));
        const __m256i bl = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(row + L.bsums_l_off + static_cast<size_t>(b) * 32));
        const int msum = 128 * HsumI256Avx2(_mm256_madd_epi16(bh, mins)) +
                         HsumI256Avx2(_mm256_madd_epi16(bl, mins));
        macc[i][j] = std::fma(dmin * dx, static_cast<float>(msum), macc[i][j]);
      }
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      const float s = Hsum256(acc[i][j]) - macc[i][j];
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

// Bits shift..shift+1 of each qh byte, moved to bits 4..5.
GEM_AVX2 inline __m256i HighBits(__m256i qh, int shift, __m256i m3) {
  return _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(shift)), m3), 4);
}

template <int RM, int RN>
GEM_AVX2 void TileQ6K256(const uint8_t* act, size_t as, const uint8_t* w, size_t ws, float* y,
                         int ldy, int k, bool accumulate) {
  const ActLayout L = LayoutQ8K(k);
  const int nb = k / 256;
  __m256 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
  for (int b = 0; b < nb; ++b) {
    for (int j = 0; j < RN; ++j) {
      const uint8_t* blk = w + j * ws + 210 * b;
      const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
      const float d = F16At(blk + 208);
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
      // Codes of the 8 runs of 32 elements.
      __m256i u[8];
      for (int h = 0; h < 2; ++h) {
        const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
        const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
        u[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), HighBits(qh, 0, m3));
        u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), HighBits(qh, 2, m3));
        u[4 * h + 2] =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), HighBits(qh, 4, m3));
        u[4 * h + 3] =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), HighBits(qh, 6, m3));
      }
      for (int i = 0; i < RM; ++i) {
        const uint8_t* row = act + i * as;
        const uint8_t* qh = row + 256 * b;
        const uint8_t* ql = row + L.l_off + 256 * b;
        const __m256i bh = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(row + L.bsums_off + static_cast<size_t>(b) * 32));
        const __m256i bl = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(row + L.bsums_l_off + static_cast<size_t>(b) * 32));
        __m256i ih = _mm256_sub_epi32(_mm256_setzero_si256(),
                                      _mm256_slli_epi32(_mm256_madd_epi16(bh, sc16), 5));
        __m256i il = _mm256_sub_epi32(_mm256_setzero_si256(),
                                      _mm256_slli_epi32(_mm256_madd_epi16(bl, sc16), 5));
        for (int r = 0; r < 8; ++r) {
          const __m256i s =
              _mm256_set_m128i(_mm_set1_epi16(sc[2 * r + 1]), _mm_set1_epi16(sc[2 * r]));
          ih = _mm256_add_epi32(
              ih, _mm256_madd_epi16(
                      _mm256_maddubs_epi16(
                          u[r], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * r))),
                      s));
          il = _mm256_add_epi32(
              il, _mm256_madd_epi16(
                      _mm256_maddubs_epi16(
                          u[r], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32 * r))),
                      s));
        }
        const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
        const float dd = d * dx;
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih), _mm256_set1_ps(128.0f * dd), acc[i][j]);
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(il), _mm256_set1_ps(dd), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      const float s = Hsum256(acc[i][j]);
      float* out = y + static_cast<size_t>(i) * ldy + j;
      *out = accumulate ? *out + s : s;
    }
  }
}

using TileFn = void (*)(const uint8_t*, size_t, const uint8_t*, size_t, float*, int, int, bool);

template <int RMAX, int RNAX>
void RunTiles(TileFn const (&f)[RMAX + 1][RNAX + 1], const Args& a) {
  for (int i = 0; i < a.m; i += RMAX) {
    const int rm = std::min(RMAX, a.m - i);
    for (int j = a.n0; j < a.n1; j += RNAX) {
      const int rn = std::min(RNAX, a.n1 - j);
      f[rm][rn](a.act + i * a.act_stride, a.act_stride, a.w + j * a.w_stride, a.w_stride,
                a.y + static_cast<size_t>(i) * a.ldy + j, a.ldy, a.k, a.accumulate);
    }
  }
}

#define GEM_TILES_2X4(FN)                                  \
  {                                                        \
    {nullptr, nullptr, nullptr, nullptr, nullptr},         \
        {nullptr, FN<1, 1>, FN<1, 2>, FN<1, 3>, FN<1, 4>}, \
        {nullptr, FN<2, 1>, FN<2, 2>, FN<2, 3>, FN<2, 4>}, \
  }

constexpr TileFn kQ4K512[3][5] = GEM_TILES_2X4(TileQ4K512);
constexpr TileFn kQ6K512[3][5] = GEM_TILES_2X4(TileQ6K512);
constexpr TileFn kQ4K256[3][5] = GEM_TILES_2X4(TileQ4K256);
constexpr TileFn kQ6K256[3][5] = GEM_TILES_2X4(TileQ6K256);

void RunQ4K512(const Args& a) { RunTiles<2, 4>(kQ4K512, a); }
void RunQ6K512(const Args& a) { RunTiles<2, 4>(kQ6K512, a); }
void RunQ4K256(const Args& a) { RunTiles<2, 4>(kQ4K256, a); }
void RunQ6K256(const Args& a) { RunTiles<2, 4>(kQ6K256, a); }

}  // namespace

KernelFn QKKernel(Isa isa, WeightType type) {
  const bool q4 = type == WeightType::kQ4_K;
  if (!q4 && type != WeightType::kQ6_K) return nullptr;
  switch (isa) {
    case Isa::kAvx512:
      return q4 ? RunQ4K512 : RunQ6K512;
    case Isa::kAvx2:
      return q4 ? RunQ4K256 : RunQ6K256;
    case Isa::kGeneric:
      return q4 ? GenericQ4K : GenericQ6K;
  }
  return nullptr;
}

}  // namespace gem::gemm
