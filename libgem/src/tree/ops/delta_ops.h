// Copyright the gem authors. CPU twins of the delta kernels (kernels/delta_xor.cu,
// delta_xor_words.cu, delta_ulp.cu, delta_int8.cu, delta_sign.cu): same arguments, same element
// math (delta_math.h), host memory.
//
// All functions are pure: they read their inputs and write `out` only; `out` may alias `base`.
// Thread-safe for distinct outputs.
#ifndef GEM_TREE_OPS_DELTA_OPS_H_
#define GEM_TREE_OPS_DELTA_OPS_H_

#include <cstddef>
#include <cstdint>

namespace gem::ops {

// out[i] = fine-tune value of element i: word(base[i]) XOR word gathered from byte `planes`
// (word_bytes(kind) planes of n bytes each). kind is a WordKind.
void XorApply(const float* base, const uint8_t* planes, size_t n, int kind, float* out);

// The same on a base kept in its stored type (kernels/delta_xor_words.cu): out[i] = base[i] XOR
// the gathered word, over n words of word_bytes(kind) bytes (uint16_t for bf16/f16, uint32_t for
// f32); out may alias base.
void XorApplyWords(const void* base, const uint8_t* planes, size_t n, int kind, void* out);

// out[i] = fine-tune value of element i from the "ulp" encoding (delta_math.h): the zigzag word
// of element i has byte 0 in lo[i] and byte p (p >= 1) in hi[(p - 1) * n + i]. kind is a
// WordKind.
void UlpApply(const float* base, const uint8_t* lo, const uint8_t* hi, size_t n, int kind,
              float* out);

// UlpApply with every high byte zero (the common case of an "ulp" frame; the few elements with
// high bytes are then rewritten with ulp_apply_elem).
void UlpApplyLow(const float* base, const uint8_t* lo, size_t n, int kind, float* out);

// UlpApplyLow on a base kept in its stored type (words as in XorApplyWords): out[i] =
// ulp_decode_word(base[i], lo[i]); out may alias base.
void UlpApplyLowWords(const void* base, const uint8_t* lo, size_t n, int kind, void* out);

// One whole "ulp" frame of m elements (docs/DELTA_FORMAT.md, version 3: m low bytes, then the
// sparse (u16 index, high bytes) entries; `frame_bytes` in all): the low-byte pass (UlpApplyLow),
// then each listed element again from its base value with its high bytes. The CPU twins of
// kernels/delta_ulp.cu (f32 values, and the base's stored words). out may alias base (the
// listed elements are then computed before the pass overwrites their base). Returns false, and
// writes nothing, when the frame is malformed (shorter than m, a partial entry, indices not
// strictly increasing or not below m). m <= 65536.
bool UlpApplyFrame(const float* base, const uint8_t* frame, size_t frame_bytes, size_t m, int kind,
                   float* out);
bool UlpApplyFrameWords(const void* base, const uint8_t* frame, size_t frame_bytes, size_t m,
                        int kind, void* out);

// out[r, c] = base[r, c] + row_scales[r] * q[r, c], row-major rows x cols.
void Int8Apply(const float* base, const int8_t* q, const float* row_scales, size_t rows,
               size_t cols, float* out);

// out[r, c] = base[r, c] +/- row_scales[r] by bit c of row r (sign_words_per_row(cols) uint32
// words per row).
void SignApply(const float* base, const uint32_t* bits, const float* row_scales, size_t rows,
               size_t cols, float* out);

}  // namespace gem::ops

#endif  // GEM_TREE_OPS_DELTA_OPS_H_
