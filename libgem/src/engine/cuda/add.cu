// Copyright the gem authors. Element-wise adds (residual, row bias).
#include "common.cuh"
#include "engine/cuda/add.cuh"

namespace {

__global__ void add_kernel(float* y, const float* __restrict__ x, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    y[i] += x[i];
  }
}

__global__ void add_bias_kernel(float* y, const float* __restrict__ b, size_t total, int n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    y[i] += b[i % n];
  }
}

}  // namespace

cudaError_t gem_cuda_add(float* y, const float* x, size_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(y != nullptr && x != nullptr);
  add_kernel<<<gem_cuda_blocks(n), GEM_CUDA_BLOCK, 0, stream>>>(y, x, n);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_add_bias(float* y, const float* b, int m, int n, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(m >= 0 && n > 0);
  if (m == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(y != nullptr && b != nullptr);
  const size_t total = (size_t)m * n;
  add_bias_kernel<<<gem_cuda_blocks(total), GEM_CUDA_BLOCK, 0, stream>>>(y, b, total, n);
  return gem_cuda_launch_status();
}
