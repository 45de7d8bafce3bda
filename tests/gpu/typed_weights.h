// Copyright the gem authors. Random weights in a stored type (f32, f16, bf16) for the GPU
// check, with their exact f32 values, and the CPU backend's matmul on them.
#ifndef GEM_TESTS_GPU_TYPED_WEIGHTS_H_
#define GEM_TESTS_GPU_TYPED_WEIGHTS_H_

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/gemm.h"
#include "gem/backend.h"
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

// The CPU backend's name for a kernel weight type.
inline WeightType CpuWeightType(int type) {
  return type == ops::kWeightF32   ? WeightType::kF32
         : type == ops::kWeightF16 ? WeightType::kF16
                                   : WeightType::kBF16;
}

// y[m x n] (+)= x[m x k] * w[n x k]^T on the CPU backend, w row-major of kernel type `type`.
inline void CpuMatmul(const BackendContext* ctx, const float* x, const void* w, int type, float* y,
                      int m, int n, int k, bool accumulate) {
  const Weight wt{CpuWeightType(type), w, n, k, false};
  const MatmulJob job{&wt, y, accumulate};
  CpuBackend()->matmul(ctx, x, m, &job, 1);
}

// Whether the CPU backend's f32/f16/bf16 matmul sums in the kernels' order (AVX-512: 16 lanes).
inline bool CpuMatmulIsExact() { return std::string(GemmKernelName()).rfind("avx512", 0) == 0; }

inline const char* WeightTypeName(int type) {
  return type == ops::kWeightF32 ? "f32" : type == ops::kWeightF16 ? "f16" : "bf16";
}

}  // namespace gem::gpucheck

#endif  // GEM_TESTS_GPU_TYPED_WEIGHTS_H_
