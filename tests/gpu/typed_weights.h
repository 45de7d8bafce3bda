// Copyright the gem authors. Random weights in a stored type (f32, f16, bf16) for the GPU
// check, with the f32 values the CPU backend multiplies by.
#ifndef GEM_TESTS_GPU_TYPED_WEIGHTS_H_
#define GEM_TESTS_GPU_TYPED_WEIGHTS_H_

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gem/safetensors.h"
#include "kernel_math/engine_math.h"

namespace gem::gpucheck {

struct TypedWeights {
  std::vector<uint8_t> bytes;  // n words of the type
  std::vector<float> f32;      // their exact f32 values
};

// n weights drawn N(0, 0.1), rounded to `type`.
inline TypedWeights MakeTypedWeights(int type, size_t n, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.1f);
  TypedWeights w;
  w.f32.resize(n);
  w.bytes.resize(n * ops::weight_type_bytes(type));
  for (size_t i = 0; i < n; ++i) {
    float f = g(rng);
    if (type == ops::kWeightF32) {
      std::memcpy(&w.bytes[i * 4], &f, 4);
    } else {
      const uint16_t h = type == ops::kWeightBF16 ? FloatToBF16(f) : FloatToHalf(f);
      std::memcpy(&w.bytes[i * 2], &h, 2);
      f = type == ops::kWeightBF16 ? BF16ToFloat(h) : HalfToFloat(h);
    }
    w.f32[i] = f;
  }
  return w;
}

inline const char* WeightTypeName(int type) {
  return type == ops::kWeightF32 ? "f32" : type == ops::kWeightF16 ? "f16" : "bf16";
}

}  // namespace gem::gpucheck

#endif  // GEM_TESTS_GPU_TYPED_WEIGHTS_H_
