// Copyright the gem authors. Lossless XOR delta apply; element math in
// libgem/src/kernel_math/delta_math.h, CPU twin gem::ops::XorApply
// (libgem/src/tree/ops/delta_ops.cc).
#include "common.cuh"
#include "delta_xor.cuh"
#include "delta_math.h"

template <int KIND>
static __global__ void delta_xor_apply_kernel(const float* __restrict__ base,
                                              const uint8_t* __restrict__ planes, size_t n,
                                              float* out) {
  constexpr int kBytes = KIND == gem::ops::kWordF32 ? 4 : 2;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    out[i] = gem::ops::xor_apply_elem(base[i], gem::ops::gather_word(planes, n, i, kBytes), KIND);
  }
}

static cudaError_t launch_delta_xor_apply(const float* base, const uint8_t* planes, size_t n,
                                          int kind, float* out, cudaStream_t stream) {
  const unsigned int blocks = gem_cuda_blocks(n);
  switch (kind) {
    case gem::ops::kWordBF16:
      delta_xor_apply_kernel<gem::ops::kWordBF16>
          <<<blocks, GEM_CUDA_BLOCK, 0, stream>>>(base, planes, n, out);
      break;
    case gem::ops::kWordF16:
      delta_xor_apply_kernel<gem::ops::kWordF16>
          <<<blocks, GEM_CUDA_BLOCK, 0, stream>>>(base, planes, n, out);
      break;
    default:
      delta_xor_apply_kernel<gem::ops::kWordF32>
          <<<blocks, GEM_CUDA_BLOCK, 0, stream>>>(base, planes, n, out);
      break;
  }
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_delta_xor_apply(const float* base, const uint8_t* planes, size_t n, int kind,
                                     float* out, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(kind == gem::ops::kWordBF16 || kind == gem::ops::kWordF16 ||
                   kind == gem::ops::kWordF32);
  if (n == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(base != nullptr && planes != nullptr && out != nullptr);
  return launch_delta_xor_apply(base, planes, n, kind, out, stream);
}
