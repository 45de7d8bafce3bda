// Copyright the gem authors. SiLU-mul; CPU twin gem::ops::SiluMulTwin.
#include "common.cuh"
#include "engine/cuda/silu_mul.cuh"
#include "kernel_math/engine_math.h"

namespace {

__global__ void silu_mul_kernel(const float* gate, const float* up, float* y, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    y[i] = gem::ops::silu_mul_elem(gate[i], up[i]);
  }
}

}  // namespace

cudaError_t gem_cuda_silu_mul(const float* gate, const float* up, float* y, size_t n,
                              cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(gate != nullptr && up != nullptr && y != nullptr);
  silu_mul_kernel<<<gem_cuda_blocks(n), GEM_CUDA_BLOCK, 0, stream>>>(gate, up, y, n);
  return gem_cuda_launch_status();
}
