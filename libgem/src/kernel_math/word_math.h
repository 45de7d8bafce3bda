// Copyright the gem authors. Bit-exact conversions between f32 and the stored weight words
// (bf16, f16, f32), shared by the delta kernels (kernels/delta_*.cu) and their CPU twins.
//
// The engine holds base weights as f32 converted from their stored words; a bf16 or f16 value
// is exactly representable in f32, so f32 -> word recovers the stored word bit for bit (NaN
// payloads included). Values that are not representable round to nearest even.
#ifndef GEM_KERNEL_MATH_WORD_MATH_H_
#define GEM_KERNEL_MATH_WORD_MATH_H_

#include <stdint.h>
#include <string.h>

#include "hd.h"

namespace gem::ops {

// Persisted in delta files (docs/DELTA_FORMAT.md): do not renumber.
enum WordKind : int { kWordBF16 = 0, kWordF16 = 1, kWordF32 = 2 };

GEM_HD int word_bytes(int kind) { return kind == kWordF32 ? 4 : 2; }

GEM_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
#endif
}

GEM_HD float bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  memcpy(&f, &u, 4);
  return f;
#endif
}

GEM_HD float bf16_to_f32(uint32_t h) { return bits_f32((h & 0xffffu) << 16); }

GEM_HD uint32_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0xffffu) == 0) return u >> 16;  // exact (covers values read from bf16)
  if ((u & 0x7f800000u) == 0x7f800000u) return (u >> 16) | 0x40u;  // NaN: stay NaN
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;                   // round to nearest even
}

GEM_HD float f16_to_f32(uint32_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1fu) return bits_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN payload
  if (exp == 0) {
    if (mant == 0) return bits_f32(sign);
    // Subnormal: normalise into an f32 normal.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400u) == 0);
    return bits_f32(sign | (uint32_t)(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13);
  }
  return bits_f32(sign | (exp + 112u) << 23 | mant << 13);
}

GEM_HD uint32_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t exp = (u >> 23) & 0xffu;
  uint32_t mant = u & 0x7fffffu;
  if (exp == 0xffu) {  // inf / NaN: keep the top payload bits, stay NaN
    uint32_t m = mant >> 13;
    if (mant != 0 && m == 0) m = 1;
    return sign | 0x7c00u | m;
  }
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00u;  // overflow -> inf
  if (e <= 0) {                          // subnormal or zero in f16
    if (e < -10) return sign;
    mant |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return sign | h;
  }
  uint32_t h = sign | (uint32_t)e << 10 | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into exp: correct
  return h;
}

GEM_HD uint32_t f32_to_word(float f, int kind) {
  return kind == kWordBF16 ? f32_to_bf16(f) : kind == kWordF16 ? f32_to_f16(f) : f32_bits(f);
}

GEM_HD float word_to_f32(uint32_t w, int kind) {
  return kind == kWordBF16 ? bf16_to_f32(w) : kind == kWordF16 ? f16_to_f32(w) : bits_f32(w);
}

}  // namespace gem::ops

#endif  // GEM_KERNEL_MATH_WORD_MATH_H_
