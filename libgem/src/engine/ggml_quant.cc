// Copyright the gem authors. ggml tensor types: names, sizes, and the mapping onto the engine's
// weight types (whose block formats, gem/weight_types.h, dequantise as gguf-py does, bit for
// bit).
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

Result<WeightType> WeightTypeOfGgml(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      return WeightType::kF32;
    case GgmlType::kF16:
      return WeightType::kF16;
    case GgmlType::kBF16:
      return WeightType::kBF16;
    case GgmlType::kQ8_0:
      return WeightType::kQ8_0;
    case GgmlType::kQ4_0:
      return WeightType::kQ4_0;
    case GgmlType::kQ4_1:
      return WeightType::kQ4_1;
    case GgmlType::kQ5_0:
      return WeightType::kQ5_0;
    case GgmlType::kQ5_1:
      return WeightType::kQ5_1;
    case GgmlType::kQ4_K:
      return WeightType::kQ4_K;
    case GgmlType::kQ6_K:
      return WeightType::kQ6_K;
    default:
      return Status::NotSupported("ggml type " + GgmlTypeName(type) +
                                  " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
                                  "Q4_K, Q6_K)");
  }
}

Status DequantizeGgml(uint32_t type, const void* src, size_t count, float* dst) {
  auto t = WeightTypeOfGgml(type);
  if (!t.ok()) return Status::NotSupported("cannot dequantise " + t.status().message());
  DequantizeRow(*t, src, static_cast<int64_t>(count), dst);
  return Status::OK();
}

}  // namespace gem
