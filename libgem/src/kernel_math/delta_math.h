// Copyright the gem authors. Element math of the three stored delta forms
// (docs/DELTA_FORMAT.md), shared by kernels/delta_*.cu and the CPU twins in
// libgem/src/tree/ops/delta_ops.cc.
#ifndef GEM_KERNEL_MATH_DELTA_MATH_H_
#define GEM_KERNEL_MATH_DELTA_MATH_H_

#include <stddef.h>
#include <stdint.h>

#include "hd.h"
#include "word_math.h"

namespace gem::ops {

// Lossless form. The XOR words are stored as byte planes (plane b holds byte b of every word,
// little-endian), which zstd compresses far better than interleaved words because fine-tuning
// leaves the high (sign/exponent) bytes almost always equal. Element i of a tensor of n words:
GEM_HD uint32_t gather_word(const uint8_t* planes, size_t n, size_t i, int nbytes) {
  uint32_t w = 0;
  for (int b = 0; b < nbytes; ++b) w |= (uint32_t)planes[(size_t)b * n + i] << (8 * b);
  return w;
}

// The fine-tune's value: its stored word is the base's stored word XOR the delta word. `base`
// is the base weight as f32 (exactly representable in `kind`).
GEM_HD float xor_apply_elem(float base, uint32_t xor_word, int kind) {
  // bf16 is the top half of an f32, and `base` came from a bf16 word (low half zero): plain
  // shifts, no rounding, so the loop vectorises.
  if (kind == kWordBF16) return bits_f32(((f32_bits(base) >> 16) ^ (xor_word & 0xffffu)) << 16);
  return word_to_f32(f32_to_word(base, kind) ^ xor_word, kind);
}

// Lossless "ulp" encoding (format version 3): the step from the base's word to the fine-tune's
// in units in the last place, zigzag-coded. bf16/f16/f32 words are sign-magnitude, so within one
// sign the word difference is the distance in ulps; it is negated for a negative base, so that
// the step's sign is the direction the value moved (up: positive). A fine-tune moves a weight by a
// few ulps: the zigzag word's high bytes are almost always zero (sparser than XOR's, which also
// flips on every carry into the exponent) and its low byte is small. Every pair of words has
// exactly one code: all arithmetic is modulo 2^bits, so signs crossing zero, infinities and NaNs
// round-trip too.
GEM_HD uint32_t word_mask(int nbytes) { return nbytes == 4 ? 0xffffffffu : 0xffffu; }

GEM_HD uint32_t ulp_encode_word(uint32_t base, uint32_t ft, int nbytes) {
  const uint32_t mask = word_mask(nbytes);
  const uint32_t neg = 0u - ((base >> (8 * nbytes - 1)) & 1u);  // all ones for a negative base
  const uint32_t d = (((ft - base) ^ neg) - neg) & mask;        // signed step, mod 2^bits
  const uint32_t sign = 0u - ((d >> (8 * nbytes - 1)) & 1u);
  return ((d << 1) ^ sign) & mask;
}

GEM_HD uint32_t ulp_decode_word(uint32_t base, uint32_t z, int nbytes) {
  const uint32_t mask = word_mask(nbytes);
  const uint32_t neg = 0u - ((base >> (8 * nbytes - 1)) & 1u);
  const uint32_t d = (z >> 1) ^ (0u - (z & 1u));
  return (base + ((d ^ neg) - neg)) & mask;
}

// The fine-tune's value from the base's (f32, exactly representable in `kind`) and the zigzag
// word.
GEM_HD float ulp_apply_elem(float base, uint32_t z, int kind) {
  if (kind == kWordBF16) return bits_f32(ulp_decode_word(f32_bits(base) >> 16, z, 2) << 16);
  return word_to_f32(ulp_decode_word(f32_to_word(base, kind), z, word_bytes(kind)), kind);
}

// An "ulp" frame of m elements (docs/DELTA_FORMAT.md, version 3) is m low bytes (byte 0 of each
// zigzag word), then a sparse list of entries for the elements whose word has non-zero bytes
// above byte 0, in increasing element order: a u16 element index (little-endian), then bytes
// 1 .. nbytes-1 of the word. These read one entry; the frame's checks (indices increasing and
// below m) are the reader's.
GEM_HD size_t ulp_entry_bytes(int nbytes) { return (size_t)(1 + nbytes); }

GEM_HD uint32_t ulp_entry_index(const uint8_t* entry) {
  return (uint32_t)entry[0] | (uint32_t)entry[1] << 8;
}

// Bytes 1 .. nbytes-1 of the entry's zigzag word, in place (byte 0 is the low plane's).
GEM_HD uint32_t ulp_entry_high(const uint8_t* entry, int nbytes) {
  uint32_t high = 0;
  for (int p = 1; p < nbytes; ++p) high |= (uint32_t)entry[1 + p] << (8 * p);
  return high;
}

// Lossy int8 form: delta ~= scale[row] * q.
GEM_HD float int8_apply_elem(float base, int8_t q, float row_scale) {
  return base + row_scale * (float)q;
}

// int8 quantisation of one delta element given its row's scale (0 scale: the row is unchanged).
GEM_HD int8_t int8_quantize_elem(float delta, float row_scale) {
  if (row_scale == 0.0f) return 0;
  float q = delta / row_scale;
  q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
  return (int8_t)(q >= 0.0f ? (int)(q + 0.5f) : -(int)(-q + 0.5f));
}

// Lossy 1-bit form (BitDelta): delta ~= scale[row] * sign, bit set = positive. Bit c of a row
// lives in word c/32, bit c%32.
GEM_HD float sign_apply_bit(float base, uint32_t bit, float row_scale) {
  // Branch-free (fine-tune signs are random, a branch would mispredict half the time): a clear
  // bit flips the sign of the scale.
  return base + bits_f32(f32_bits(row_scale) ^ ((~bit & 1u) << 31));
}

GEM_HD float sign_apply_elem(float base, const uint32_t* row_bits, size_t col, float row_scale) {
  return sign_apply_bit(base, (row_bits[col >> 5] >> (col & 31u)) & 1u, row_scale);
}

GEM_HD size_t sign_words_per_row(size_t cols) { return (cols + 31) / 32; }

}  // namespace gem::ops

#endif  // GEM_KERNEL_MATH_DELTA_MATH_H_
