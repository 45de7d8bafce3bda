// Copyright the gem authors. CPU twins of the delta kernels; the element math is delta_math.h,
// shared with kernels/delta_*.cu. Loops are kept flat so the compiler vectorises them: these
// are memory-bound passes (bench/delta_bench.cc compares them with memcpy).
#include "tree/ops/delta_ops.h"

#include "kernel_math/delta_math.h"

namespace gem::ops {

void XorApply(const float* base, const uint8_t* planes, size_t n, int kind, float* out) {
  const int nbytes = word_bytes(kind);
  // One specialisation per kind so the inner loop has no branch on `kind`.
  switch (kind) {
    case kWordBF16:
      for (size_t i = 0; i < n; ++i)
        out[i] = xor_apply_elem(base[i], gather_word(planes, n, i, 2), kWordBF16);
      break;
    case kWordF16:
      for (size_t i = 0; i < n; ++i)
        out[i] = xor_apply_elem(base[i], gather_word(planes, n, i, 2), kWordF16);
      break;
    default:
      for (size_t i = 0; i < n; ++i)
        out[i] = xor_apply_elem(base[i], gather_word(planes, n, i, nbytes), kWordF32);
      break;
  }
}

void UlpApply(const float* base, const uint8_t* lo, const uint8_t* hi, size_t n, int kind,
              float* out) {
  switch (kind) {
    case kWordBF16:
      for (size_t i = 0; i < n; ++i)
        out[i] = ulp_apply_elem(base[i], lo[i] | uint32_t{hi[i]} << 8, kWordBF16);
      break;
    case kWordF16:
      for (size_t i = 0; i < n; ++i)
        out[i] = ulp_apply_elem(base[i], lo[i] | uint32_t{hi[i]} << 8, kWordF16);
      break;
    default:
      for (size_t i = 0; i < n; ++i) {
        const uint32_t z = lo[i] | uint32_t{hi[i]} << 8 | uint32_t{hi[n + i]} << 16 |
                           uint32_t{hi[2 * n + i]} << 24;
        out[i] = ulp_apply_elem(base[i], z, kWordF32);
      }
      break;
  }
}

void UlpApplyLow(const float* base, const uint8_t* lo, size_t n, int kind, float* out) {
  switch (kind) {
    case kWordBF16:
      for (size_t i = 0; i < n; ++i) out[i] = ulp_apply_elem(base[i], lo[i], kWordBF16);
      break;
    case kWordF16:
      for (size_t i = 0; i < n; ++i) out[i] = ulp_apply_elem(base[i], lo[i], kWordF16);
      break;
    default:
      for (size_t i = 0; i < n; ++i) out[i] = ulp_apply_elem(base[i], lo[i], kWordF32);
      break;
  }
}

void Int8Apply(const float* base, const int8_t* q, const float* row_scales, size_t rows,
               size_t cols, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float s = row_scales[r];
    const size_t off = r * cols;
    for (size_t c = 0; c < cols; ++c) out[off + c] = int8_apply_elem(base[off + c], q[off + c], s);
  }
}

void SignApply(const float* base, const uint32_t* bits, const float* row_scales, size_t rows,
               size_t cols, float* out) {
  const size_t wpr = sign_words_per_row(cols);
  for (size_t r = 0; r < rows; ++r) {
    const float s = row_scales[r];
    const size_t off = r * cols;
    const uint32_t* row_bits = bits + r * wpr;
    // Word by word, so the inner loop over 32 bits has no division and vectorises.
    size_t c = 0;
    for (size_t w = 0; c + 32 <= cols; ++w, c += 32) {
      const uint32_t word = row_bits[w];
      for (uint32_t j = 0; j < 32; ++j)
        out[off + c + j] = sign_apply_bit(base[off + c + j], (word >> j) & 1u, s);
    }
    for (; c < cols; ++c) out[off + c] = sign_apply_elem(base[off + c], row_bits, c, s);
  }
}

void XorApplyWords(const void* base, const uint8_t* planes, size_t n, int kind, void* out) {
  if (kind == kWordF32) {
    const auto* b = static_cast<const uint32_t*>(base);
    auto* o = static_cast<uint32_t*>(out);
    for (size_t i = 0; i < n; ++i) o[i] = b[i] ^ gather_word(planes, n, i, 4);
    return;
  }
  const auto* b = static_cast<const uint16_t*>(base);
  auto* o = static_cast<uint16_t*>(out);
  for (size_t i = 0; i < n; ++i) {
    o[i] = static_cast<uint16_t>(b[i] ^ gather_word(planes, n, i, 2));
  }
}

}  // namespace gem::ops
