// Copyright the gem authors. ggml block formats, dequantised to f32 at load.
//
// Block layouts follow ggml-common.h: Q8_0 {f16 d; int8 q[32]} -> d*q; Q4_0 {f16 d; u8 qs[16]}
// -> d*(nibble-8); Q4_1 {f16 d, m; u8 qs[16]} -> d*nibble + m. In Q4 blocks the low nibbles hold
// elements 0..15 and the high nibbles 16..31. The arithmetic (one f32 multiply, then one add)
// matches gguf-py's numpy dequantisation, which transformers' GGUF loader uses, bit for bit.
#include <cstring>

#include "gem/gguf.h"

namespace gem {
namespace {

struct TypeTraits {
  uint32_t block;  // elements per block
  uint32_t bytes;  // bytes per block
};

bool Traits(uint32_t type, TypeTraits* t) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      *t = {1, 4};
      return true;
    case GgmlType::kF16:
      *t = {1, 2};
      return true;
    case GgmlType::kBF16:
      *t = {1, 2};
      return true;
    case GgmlType::kQ4_0:
      *t = {32, 18};
      return true;
    case GgmlType::kQ4_1:
      *t = {32, 20};
      return true;
    case GgmlType::kQ5_0:
      *t = {32, 22};
      return true;
    case GgmlType::kQ5_1:
      *t = {32, 24};
      return true;
    case GgmlType::kQ8_0:
      *t = {32, 34};
      return true;
    case GgmlType::kQ8_1:
      *t = {32, 36};
      return true;
    case GgmlType::kQ2_K:
      *t = {256, 84};
      return true;
    case GgmlType::kQ3_K:
      *t = {256, 110};
      return true;
    case GgmlType::kQ4_K:
      *t = {256, 144};
      return true;
    case GgmlType::kQ5_K:
      *t = {256, 176};
      return true;
    case GgmlType::kQ6_K:
      *t = {256, 210};
      return true;
    case GgmlType::kQ8_K:
      *t = {256, 292};
      return true;
  }
  return false;
}

inline float F16At(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

}  // namespace

std::string GgmlTypeName(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kBF16:
      return "BF16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ4_1:
      return "Q4_1";
    case GgmlType::kQ5_0:
      return "Q5_0";
    case GgmlType::kQ5_1:
      return "Q5_1";
    case GgmlType::kQ8_0:
      return "Q8_0";
    case GgmlType::kQ8_1:
      return "Q8_1";
    case GgmlType::kQ2_K:
      return "Q2_K";
    case GgmlType::kQ3_K:
      return "Q3_K";
    case GgmlType::kQ4_K:
      return "Q4_K";
    case GgmlType::kQ5_K:
      return "Q5_K";
    case GgmlType::kQ6_K:
      return "Q6_K";
    case GgmlType::kQ8_K:
      return "Q8_K";
  }
  return "type" + std::to_string(type);
}

uint64_t GgmlRowBytes(uint32_t type, uint64_t count) {
  TypeTraits t;
  if (!Traits(type, &t) || count % t.block != 0) return 0;
  return count / t.block * t.bytes;
}

Status DequantizeGgml(uint32_t type, const void* src, size_t count, float* dst) {
  const auto* p = static_cast<const uint8_t*>(src);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      return ConvertToF32(DType::kF32, src, count, dst);
    case GgmlType::kF16:
      return ConvertToF32(DType::kF16, src, count, dst);
    case GgmlType::kBF16:
      return ConvertToF32(DType::kBF16, src, count, dst);
    case GgmlType::kQ8_0:
      for (size_t b = 0; b < count / 32; ++b, p += 34) {
        const float d = F16At(p);
        const auto* q = reinterpret_cast<const int8_t*>(p + 2);
        for (int j = 0; j < 32; ++j) dst[b * 32 + j] = d * static_cast<float>(q[j]);
      }
      return Status::OK();
    case GgmlType::kQ4_0:
      for (size_t b = 0; b < count / 32; ++b, p += 18) {
        const float d = F16At(p);
        const uint8_t* qs = p + 2;
        for (int j = 0; j < 16; ++j) {
          dst[b * 32 + j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
          dst[b * 32 + j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
        }
      }
      return Status::OK();
    case GgmlType::kQ4_1:
      for (size_t b = 0; b < count / 32; ++b, p += 20) {
        const float d = F16At(p);
        const float m = F16At(p + 2);
        const uint8_t* qs = p + 4;
        for (int j = 0; j < 16; ++j) {
          dst[b * 32 + j] = d * static_cast<float>(qs[j] & 0x0f) + m;
          dst[b * 32 + j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
        }
      }
      return Status::OK();
    default:
      return Status::NotSupported("cannot dequantise ggml type " + GgmlTypeName(type) +
                                  " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)");
  }
}

}  // namespace gem
