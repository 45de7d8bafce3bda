// Copyright the gem authors. CPU twins of the delta kernels; the element math is delta_math.h,
// shared with kernels/delta_*.cu. Loops are kept flat so the compiler vectorises them: these
// are memory-bound passes (bench/delta_bench.cc compares them with memcpy).
#include "tree/ops/delta_ops.h"

#include <cstdint>
#include <vector>

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

void UlpApplyLowWords(const void* base, const uint8_t* lo, size_t n, int kind, void* out) {
  if (kind == kWordF32) {
    const auto* b = static_cast<const uint32_t*>(base);
    auto* o = static_cast<uint32_t*>(out);
    for (size_t i = 0; i < n; ++i) o[i] = ulp_decode_word(b[i], lo[i], 4);
    return;
  }
  const auto* b = static_cast<const uint16_t*>(base);
  auto* o = static_cast<uint16_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = static_cast<uint16_t>(ulp_decode_word(b[i], lo[i], 2));
}

namespace {

// The number of entries of a well-formed frame, or SIZE_MAX.
size_t UlpEntries(const uint8_t* frame, size_t frame_bytes, size_t m, int nbytes) {
  const size_t eb = ulp_entry_bytes(nbytes);
  if (frame_bytes < m || (frame_bytes - m) % eb != 0) return SIZE_MAX;
  const size_t count = (frame_bytes - m) / eb;
  size_t next = 0;  // the smallest index the next entry may have
  for (size_t e = 0; e < count; ++e) {
    const size_t i = ulp_entry_index(frame + m + e * eb);
    if (i < next || i >= m) return SIZE_MAX;
    next = i + 1;
  }
  return count;
}

// The frame's listed elements: fix(i, z) with z the whole zigzag word, computed from the base
// before the low pass runs (so that out may alias base), then stored after it.
template <typename T, typename Low, typename Fix>
bool UlpFrame(const T* base, const uint8_t* frame, size_t frame_bytes, size_t m, int nbytes, T* out,
              Low low, Fix fix) {
  const size_t count = UlpEntries(frame, frame_bytes, m, nbytes);
  if (count == SIZE_MAX) return false;
  const size_t eb = ulp_entry_bytes(nbytes);
  std::vector<T> listed(count);
  for (size_t e = 0; e < count; ++e) {
    const uint8_t* entry = frame + m + e * eb;
    const size_t i = ulp_entry_index(entry);
    listed[e] = fix(base[i], frame[i] | ulp_entry_high(entry, nbytes));
  }
  low();
  for (size_t e = 0; e < count; ++e) out[ulp_entry_index(frame + m + e * eb)] = listed[e];
  return true;
}

}  // namespace

bool UlpApplyFrame(const float* base, const uint8_t* frame, size_t frame_bytes, size_t m, int kind,
                   float* out) {
  return UlpFrame(
      base, frame, frame_bytes, m, word_bytes(kind), out,
      [&] { UlpApplyLow(base, frame, m, kind, out); },
      [&](float b, uint32_t z) { return ulp_apply_elem(b, z, kind); });
}

bool UlpApplyFrameWords(const void* base, const uint8_t* frame, size_t frame_bytes, size_t m,
                        int kind, void* out) {
  const auto low = [&] { UlpApplyLowWords(base, frame, m, kind, out); };
  if (kind == kWordF32) {
    return UlpFrame(static_cast<const uint32_t*>(base), frame, frame_bytes, m, 4,
                    static_cast<uint32_t*>(out), low,
                    [](uint32_t b, uint32_t z) { return ulp_decode_word(b, z, 4); });
  }
  return UlpFrame(
      static_cast<const uint16_t*>(base), frame, frame_bytes, m, 2, static_cast<uint16_t*>(out),
      low, [](uint16_t b, uint32_t z) { return static_cast<uint16_t>(ulp_decode_word(b, z, 2)); });
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
