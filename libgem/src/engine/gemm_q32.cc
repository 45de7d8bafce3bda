// Copyright the gem authors. Matmul kernels for the 32-element ggml blocks (q8_0, q4_0, q4_1,
// q5_0, q5_1) against Q8 activations, on the CPU backend's packed layout of those weights.
//
// Activations: ActQ8 (gemm_kernels.h), 15-bit integers as two int8 planes h, l.
//
// Packed layout ("x16", as llama.cpp's repacked CPU buffers): rows are taken in groups of 16
// (the last group padded with zero rows); for each group and each block b, in this order:
//   f16 d[16]                       the 16 rows' scales
//   f16 m[16]                       the 16 rows' mins (q4_1, q5_1)
//   u64 hmask[8]                    q5_0/q5_1: bit 4l+t of hmask[r] = high bit of row l's element
//                                   4r+t
//   codes                           4-bit: 4 chunks of 64 bytes, byte 4l+t of chunk c = byte 4c+t
//                                   of row l's qs (element 4c+t low, 4c+t+16 high nibble);
//                                   q8_0: 8 chunks of 64 bytes, byte 4l+t of chunk r = row l's
//                                   code of element 4r+t
// so a group-block has exactly the bytes of the 16 rows' ggml blocks, and one 512-bit register
// holds four codes of each of the 16 rows: vpdpbusd against a broadcast of four activation bytes
// advances 16 dot products at once, one per vector lane, with no horizontal sums.
//
// Per block b of weight row j (lane j) and activation row i:
//   isum = sum_e u_e * a_e - off * sum_e a_e      exact int32; u_e the weight's unsigned code,
//                                                  a_e = 128 h_e + l_e
//   acc += (d_w * d_x) * isum                      f32
//   acc += m_w * s_x                               q4_1 / q5_1 (s_x = d_x * sum_e a_e)
// Every ISA runs exactly these f32 operations in this order (the integer part is exact however
// it is computed), so results are the same on AVX-512, AVX2 and the portable path, and never
// depend on m, the other rows, the tile or the thread.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/gemm_kernels.h"
#include "gem/safetensors.h"

namespace gem::gemm {
namespace {

constexpr int kGroup = 16;

inline uint32_t U32At(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Block geometry per type (ggml's layout): kBytes per block; byte offsets of d, m, qh, qs (-1:
// absent); kShift: log2 of the offset subtracted from the unsigned codes (-1: none, the affine
// types); kQ8: 8-bit signed codes.
struct Q4_0T {
  static constexpr int kBytes = 18, kBits = 4, kShift = 3, kD = 0, kM = -1, kQh = -1, kQs = 2;
  static constexpr bool kQ8 = false, kMin = false;
};
struct Q4_1T {
  static constexpr int kBytes = 20, kBits = 4, kShift = -1, kD = 0, kM = 2, kQh = -1, kQs = 4;
  static constexpr bool kQ8 = false, kMin = true;
};
struct Q5_0T {
  static constexpr int kBytes = 22, kBits = 5, kShift = 4, kD = 0, kM = -1, kQh = 2, kQs = 6;
  static constexpr bool kQ8 = false, kMin = false;
};
struct Q5_1T {
  static constexpr int kBytes = 24, kBits = 5, kShift = -1, kD = 0, kM = 2, kQh = 4, kQs = 8;
  static constexpr bool kQ8 = false, kMin = true;
};
struct Q8_0T {
  static constexpr int kBytes = 34, kBits = 8, kShift = 7, kD = 0, kM = -1, kQh = -1, kQs = 2;
  static constexpr bool kQ8 = true, kMin = false;
};

// Offsets within a packed group-block.
template <class T>
struct Packed {
  static constexpr int kD = 0;
  static constexpr int kM = 32;
  static constexpr int kMask = T::kMin ? 64 : 32;
  static constexpr int kCodes = kMask + (T::kBits == 5 ? 64 : 0);
  static constexpr int kBytes = kGroup * T::kBytes;
  static_assert(kCodes + (T::kQ8 ? 512 : 256) == kBytes);
};

template <class T>
void PackGroupBlock(const uint8_t* const* blk, uint8_t* out) {
  using P = Packed<T>;
  for (int l = 0; l < kGroup; ++l) {
    const uint8_t* b = blk[l];
    if (b == nullptr) continue;  // a padding row: zero scales and codes
    std::memcpy(out + P::kD + 2 * l, b + T::kD, 2);
    if constexpr (T::kMin) std::memcpy(out + P::kM + 2 * l, b + T::kM, 2);
    if constexpr (T::kBits == 5) {
      const uint32_t qh = U32At(b + T::kQh);
      for (int r = 0; r < 8; ++r) {
        for (int t = 0; t < 4; ++t) {
          if ((qh >> (4 * r + t)) & 1)
            out[P::kMask + 8 * r + (4 * l + t) / 8] |= 1 << ((4 * l + t) % 8);
        }
      }
    }
    const int chunks = T::kQ8 ? 8 : 4;
    for (int c = 0; c < chunks; ++c) {
      std::memcpy(out + P::kCodes + 64 * c + 4 * l, b + T::kQs + 4 * c, 4);
    }
  }
}

template <class T>
void UnpackGroupBlockRow(const uint8_t* in, int l, uint8_t* b) {
  using P = Packed<T>;
  std::memset(b, 0, T::kBytes);
  std::memcpy(b + T::kD, in + P::kD + 2 * l, 2);
  if constexpr (T::kMin) std::memcpy(b + T::kM, in + P::kM + 2 * l, 2);
  if constexpr (T::kBits == 5) {
    uint32_t qh = 0;
    for (int r = 0; r < 8; ++r) {
      for (int t = 0; t < 4; ++t) {
        const int bit = 4 * l + t;
        if ((in[P::kMask + 8 * r + bit / 8] >> (bit % 8)) & 1) qh |= 1u << (4 * r + t);
      }
    }
    std::memcpy(b + T::kQh, &qh, 4);
  }
  const int chunks = T::kQ8 ? 8 : 4;
  for (int c = 0; c < chunks; ++c)
    std::memcpy(b + T::kQs + 4 * c, in + P::kCodes + 64 * c + 4 * l, 4);
}

// Signed code (value / d, before the min) of row l's element e in a packed group-block.
template <class T>
int CodeAt(const uint8_t* gb, int l, int e) {
  using P = Packed<T>;
  if constexpr (T::kQ8) {
    return static_cast<int8_t>(gb[P::kCodes + 64 * (e / 4) + 4 * l + e % 4]);
  } else {
    const int lo = e % 16;
    const uint8_t byte = gb[P::kCodes + 64 * (lo / 4) + 4 * l + lo % 4];
    int u = e < 16 ? (byte & 0xF) : (byte >> 4);
    if constexpr (T::kBits == 5) {
      const int r = e / 4, bit = 4 * l + e % 4;
      u |= ((gb[P::kMask + 8 * r + bit / 8] >> (bit % 8)) & 1) << 4;
    }
    return T::kShift >= 0 ? u - (1 << T::kShift) : u;
  }
}

inline float F16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// ---- Portable ----
template <class T>
void Generic(const Args& a) {
  using P = Packed<T>;
  const ActLayout L = LayoutQ8(a.k);
  const int nb = a.k / 32;
  for (int i = 0; i < a.m; ++i) {
    const uint8_t* row = a.act + i * a.act_stride;
    const auto* ha = reinterpret_cast<const int8_t*>(row);
    const auto* la = reinterpret_cast<const int8_t*>(row + L.l_off);
    const auto* dx = reinterpret_cast<const float*>(row + L.d_off);
    const auto* sx = reinterpret_cast<const float*>(row + L.s_off);
    for (int j = a.n0; j < a.n1; ++j) {
      const uint8_t* group = a.w + static_cast<size_t>(j / kGroup) * nb * P::kBytes;
      const int l = j % kGroup;
      float acc = 0;
      for (int b = 0; b < nb; ++b) {
        const uint8_t* gb = group + static_cast<size_t>(b) * P::kBytes;
        int isum = 0;
        for (int e = 0; e < 32; ++e) {
          isum += CodeAt<T>(gb, l, e) * (128 * ha[32 * b + e] + la[32 * b + e]);
        }
        // The vector kernels' operations, one lane: a product, then fused multiply-adds.
        acc = std::fma(F16(gb + P::kD + 2 * l) * dx[b], static_cast<float>(isum), acc);
        if constexpr (T::kMin) acc = std::fma(F16(gb + P::kM + 2 * l), sx[b], acc);
      }
      float* out = a.y + static_cast<size_t>(i) * a.ldy + j;
      *out = a.accumulate ? *out + acc : acc;
    }
  }
}

// Group range [g0, g1) of the weight rows [n0, n1) (n0 is a multiple of 16 by construction).
inline void Groups(const Args& a, int* g0, int* g1) {
  *g0 = a.n0 / kGroup;
  *g1 = (a.n1 + kGroup - 1) / kGroup;
}

// ---- AVX-512 + VNNI ----
#define GEM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,f16c")))

template <class T>
GEM_AVX512 inline void Codes512(const uint8_t* gb, __m512i* w) {
  using P = Packed<T>;
  if constexpr (T::kQ8) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int r = 0; r < 8; ++r)
      w[r] = _mm512_xor_si512(_mm512_loadu_si512(gb + P::kCodes + 64 * r), flip);
  } else {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(gb + P::kCodes + 64 * c);
      w[c] = _mm512_and_si512(v, m4);
      w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
    if constexpr (T::kBits == 5) {
      const __m512i b4 = _mm512_set1_epi8(0x10);
      for (int r = 0; r < 8; ++r) {
        __mmask64 mk;
        std::memcpy(&mk, gb + P::kMask + 8 * r, 8);
        w[r] = _mm512_or_si512(w[r], _mm512_maskz_mov_epi8(mk, b4));
      }
    }
  }
}

template <class T, int RM>
GEM_AVX512 void Tile512(const Args& a, const ActLayout& L, int i0, int g) {
  using P = Packed<T>;
  const int nb = a.k / 32;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * P::kBytes;
  __m512 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * P::kBytes;
    __m512i w[8];
    Codes512<T>(gb, w);
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + P::kD)));
    __m512 mw = _mm512_setzero_ps();
    if constexpr (T::kMin) {
      mw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + P::kM)));
    }
    for (int i = 0; i < RM; ++i) {
      const uint8_t* row = a.act + (i0 + i) * a.act_stride;
      const uint8_t* qh = row + 32 * b;
      const uint8_t* ql = row + L.l_off + 32 * b;
      // The two planes as two chains: sum u*a = 128 * sum u*h + sum u*l, offset on the second.
      __m512i ih = _mm512_setzero_si512(), il = _mm512_setzero_si512();
      if constexpr (T::kShift >= 0) {
        const int sum = reinterpret_cast<const int32_t*>(row + L.sum_off)[b];
        il = _mm512_set1_epi32(-sum * (1 << T::kShift));
      }
      for (int r = 0; r < 8; ++r) {
        ih = _mm512_dpbusd_epi32(ih, w[r], _mm512_set1_epi32(static_cast<int>(U32At(qh + 4 * r))));
        il = _mm512_dpbusd_epi32(il, w[r], _mm512_set1_epi32(static_cast<int>(U32At(ql + 4 * r))));
      }
      const __m512i is = _mm512_add_epi32(_mm512_slli_epi32(ih, 7), il);
      const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
      acc[i] =
          _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(dx)), _mm512_cvtepi32_ps(is), acc[i]);
      if constexpr (T::kMin) {
        const float sx = reinterpret_cast<const float*>(row + L.s_off)[b];
        acc[i] = _mm512_fmadd_ps(mw, _mm512_set1_ps(sx), acc[i]);
      }
    }
  }
  // Lanes are rows 16g .. 16g+15; write those inside [n0, n1).
  const int j0 = g * kGroup;
  const int lo = std::max(a.n0, j0) - j0, hi = std::min(a.n1, j0 + kGroup) - j0;
  const __mmask16 mk = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
  for (int i = 0; i < RM; ++i) {
    float* out = a.y + static_cast<size_t>(i0 + i) * a.ldy + j0;
    __m512 v = acc[i];
    if (a.accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, out), v);
    _mm512_mask_storeu_ps(out, mk, v);
  }
}

template <class T>
void Run512(const Args& a) {
  const ActLayout L = LayoutQ8(a.k);
  int g0, g1;
  Groups(a, &g0, &g1);
  constexpr int kRM = 6;
  for (int i = 0; i < a.m; i += kRM) {
    const int rm = std::min(kRM, a.m - i);
    for (int g = g0; g < g1; ++g) {
      switch (rm) {
        case 1:
          Tile512<T, 1>(a, L, i, g);
          break;
        case 2:
          Tile512<T, 2>(a, L, i, g);
          break;
        case 3:
          Tile512<T, 3>(a, L, i, g);
          break;
        case 4:
          Tile512<T, 4>(a, L, i, g);
          break;
        case 5:
          Tile512<T, 5>(a, L, i, g);
          break;
        default:
          Tile512<T, 6>(a, L, i, g);
          break;
      }
    }
  }
}

// ---- AVX2: the 16 lanes as two halves of 8 ----
#define GEM_AVX2 __attribute__((target("avx2,fma,f16c")))

template <class T>
GEM_AVX2 inline void Codes256(const uint8_t* gb, int half, __m256i* w) {
  using P = Packed<T>;
  const int off = 32 * half;  // bytes of lanes 8*half .. 8*half+7 within each 64-byte chunk
  if constexpr (T::kQ8) {
    for (int r = 0; r < 8; ++r) {
      w[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + P::kCodes + 64 * r + off));
    }
  } else {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m256i v =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + P::kCodes + 64 * c + off));
      w[c] = _mm256_and_si256(v, m4);
      w[c + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
    if constexpr (T::kBits == 5) {
      // Byte k of the half gets 0x10 when bit 32*half + k of hmask[r] is set.
      const __m256i spread_idx =
          _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
      const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
      const __m256i b4 = _mm256_set1_epi8(0x10);
      for (int r = 0; r < 8; ++r) {
        const __m256i bits =
            _mm256_set1_epi32(static_cast<int>(U32At(gb + P::kMask + 8 * r + 4 * half)));
        const __m256i spread = _mm256_shuffle_epi8(bits, spread_idx);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        w[r] = _mm256_or_si256(w[r], _mm256_and_si256(set, b4));
      }
    }
  }
}

template <class T, int RM>
GEM_AVX2 void Tile256(const Args& a, const ActLayout& L, int i0, int g, int half) {
  using P = Packed<T>;
  const int nb = a.k / 32;
  const uint8_t* group = a.w + static_cast<size_t>(g) * nb * P::kBytes;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* gb = group + static_cast<size_t>(b) * P::kBytes;
    __m256i w[8];
    Codes256<T>(gb, half, w);
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + P::kD + 16 * half)));
    __m256 mw = _mm256_setzero_ps();
    if constexpr (T::kMin) {
      mw = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + P::kM + 16 * half)));
    }
    for (int i = 0; i < RM; ++i) {
      const uint8_t* row = a.act + (i0 + i) * a.act_stride;
      const uint8_t* qh = row + 32 * b;
      const uint8_t* ql = row + L.l_off + 32 * b;
      __m256i ih = _mm256_setzero_si256(), il = _mm256_setzero_si256();
      if constexpr (T::kShift >= 0 && !T::kQ8) {
        const int sum = reinterpret_cast<const int32_t*>(row + L.sum_off)[b];
        il = _mm256_set1_epi32(-sum * (1 << T::kShift));
      }
      for (int r = 0; r < 8; ++r) {
        const __m256i hv = _mm256_set1_epi32(static_cast<int>(U32At(qh + 4 * r)));
        const __m256i lv = _mm256_set1_epi32(static_cast<int>(U32At(ql + 4 * r)));
        __m256i ph, pl;
        if constexpr (T::kQ8) {
          const __m256i au = _mm256_sign_epi8(w[r], w[r]);
          ph = _mm256_maddubs_epi16(au, _mm256_sign_epi8(hv, w[r]));
          pl = _mm256_maddubs_epi16(au, _mm256_sign_epi8(lv, w[r]));
        } else {
          ph = _mm256_maddubs_epi16(w[r], hv);
          pl = _mm256_maddubs_epi16(w[r], lv);
        }
        ih = _mm256_add_epi32(ih, _mm256_madd_epi16(ph, ones));
        il = _mm256_add_epi32(il, _mm256_madd_epi16(pl, ones));
      }
      const __m256i is = _mm256_add_epi32(_mm256_slli_epi32(ih, 7), il);
      const float dx = reinterpret_cast<const float*>(row + L.d_off)[b];
      acc[i] =
          _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx)), _mm256_cvtepi32_ps(is), acc[i]);
      if constexpr (T::kMin) {
        const float sx = reinterpret_cast<const float*>(row + L.s_off)[b];
        acc[i] = _mm256_fmadd_ps(mw, _mm256_set1_ps(sx), acc[i]);
      }
    }
  }
  const int j0 = g * kGroup + 8 * half;
  for (int i = 0; i < RM; ++i) {
    float v[8];
    _mm256_storeu_ps(v, acc[i]);
    float* out = a.y + static_cast<size_t>(i0 + i) * a.ldy;
    for (int l = 0; l < 8; ++l) {
      const int j = j0 + l;
      if (j < a.n0 || j >= a.n1) continue;
      out[j] = a.accumulate ? out[j] + v[l] : v[l];
    }
  }
}

template <class T>
void Run256(const Args& a) {
  const ActLayout L = LayoutQ8(a.k);
  int g0, g1;
  Groups(a, &g0, &g1);
  constexpr int kRM = 3;
  for (int i = 0; i < a.m; i += kRM) {
    const int rm = std::min(kRM, a.m - i);
    for (int g = g0; g < g1; ++g) {
      for (int half = 0; half < 2; ++half) {
        if (g * kGroup + 8 * half >= a.n1) continue;
        switch (rm) {
          case 1:
            Tile256<T, 1>(a, L, i, g, half);
            break;
          case 2:
            Tile256<T, 2>(a, L, i, g, half);
            break;
          default:
            Tile256<T, 3>(a, L, i, g, half);
            break;
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

template <class T>
KernelFn For(Isa isa) {
  if (isa == Isa::kAvx512 && HaveVnni512()) return Run512<T>;
  if (isa == Isa::kAvx512 || isa == Isa::kAvx2) return Run256<T>;
  return Generic<T>;
}

template <class T>
void Pack(const uint8_t* rows, int64_t n, int64_t k, uint8_t* out) {
  const int64_t nb = k / 32, groups = (n + kGroup - 1) / kGroup;
  const size_t row_bytes = static_cast<size_t>(nb) * T::kBytes;
  std::memset(out, 0, static_cast<size_t>(groups * nb) * Packed<T>::kBytes);
  const uint8_t* blk[kGroup];
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      for (int l = 0; l < kGroup; ++l) {
        const int64_t r = g * kGroup + l;
        blk[l] = r < n ? rows + row_bytes * r + b * T::kBytes : nullptr;
      }
      PackGroupBlock<T>(blk, out + static_cast<size_t>(g * nb + b) * Packed<T>::kBytes);
    }
  }
}

template <class T>
void UnpackRow(const uint8_t* packed, int64_t k, int64_t r, uint8_t* out) {
  const int64_t nb = k / 32, g = r / kGroup;
  for (int64_t b = 0; b < nb; ++b) {
    UnpackGroupBlockRow<T>(packed + static_cast<size_t>(g * nb + b) * Packed<T>::kBytes,
                           static_cast<int>(r % kGroup), out + b * T::kBytes);
  }
}

}  // namespace

bool IsPacked(WeightType type) {
  switch (type) {
    case WeightType::kQ8_0:
    case WeightType::kQ4_0:
    case WeightType::kQ4_1:
    case WeightType::kQ5_0:
    case WeightType::kQ5_1:
    case WeightType::kQ4_K:
    case WeightType::kQ6_K:
      return true;
    default:
      return false;
  }
}

size_t PackedBytes(WeightType type, int64_t rows, int64_t cols) {
  const int64_t groups = (rows + kGroup - 1) / kGroup;
  return static_cast<size_t>(groups * kGroup) * WeightRowBytes(type, cols);
}

void PackRows(WeightType type, const void* rows, int64_t n, int64_t k, void* out) {
  const auto* in = static_cast<const uint8_t*>(rows);
  auto* o = static_cast<uint8_t*>(out);
  switch (type) {
    case WeightType::kQ8_0:
      return Pack<Q8_0T>(in, n, k, o);
    case WeightType::kQ4_0:
      return Pack<Q4_0T>(in, n, k, o);
    case WeightType::kQ4_1:
      return Pack<Q4_1T>(in, n, k, o);
    case WeightType::kQ5_0:
      return Pack<Q5_0T>(in, n, k, o);
    case WeightType::kQ5_1:
      return Pack<Q5_1T>(in, n, k, o);
    case WeightType::kQ4_K:
    case WeightType::kQ6_K:
      return PackRowsK(type, rows, n, k, out);
    default:
      return;
  }
}

void UnpackPackedRow(WeightType type, const void* packed, int64_t k, int64_t r, void* out) {
  const auto* in = static_cast<const uint8_t*>(packed);
  auto* o = static_cast<uint8_t*>(out);
  switch (type) {
    case WeightType::kQ8_0:
      return UnpackRow<Q8_0T>(in, k, r, o);
    case WeightType::kQ4_0:
      return UnpackRow<Q4_0T>(in, k, r, o);
    case WeightType::kQ4_1:
      return UnpackRow<Q4_1T>(in, k, r, o);
    case WeightType::kQ5_0:
      return UnpackRow<Q5_0T>(in, k, r, o);
    case WeightType::kQ5_1:
      return UnpackRow<Q5_1T>(in, k, r, o);
    case WeightType::kQ4_K:
    case WeightType::kQ6_K:
      return UnpackPackedRowK(type, packed, k, r, out);
    default:
      return;
  }
}

KernelFn Q32Kernel(Isa isa, WeightType type) {
  switch (type) {
    case WeightType::kQ8_0:
      return For<Q8_0T>(isa);
    case WeightType::kQ4_0:
      return For<Q4_0T>(isa);
    case WeightType::kQ4_1:
      return For<Q4_1T>(isa);
    case WeightType::kQ5_0:
      return For<Q5_0T>(isa);
    case WeightType::kQ5_1:
      return For<Q5_1T>(isa);
    default:
      return nullptr;
  }
}

}  // namespace gem::gemm
