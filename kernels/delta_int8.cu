// Copyright the gem authors. Per-row int8 delta dequantise-and-add; element math in
// libgem/src/kernel_math/delta_math.h, CPU twin gem::ops::Int8Apply.
#include "common.cuh"
#include "delta_int8.cuh"
#include "delta_math.h"

static __global__ void delta_int8_apply_kernel(const float* __restrict__ base,
                                               const int8_t* __restrict__ q,
                                               const float* __restrict__ row_scales, size_t rows,
                                               size_t cols, float* out) {
  const size_t n = rows * cols;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    out[i] = gem::ops::int8_apply_elem(base[i], q[i], row_scales[i / cols]);
  }
}

static cudaError_t launch_delta_int8_apply(const float* base, const int8_t* q,
                                           const float* row_scales, size_t rows, size_t cols,
                                           float* out, cudaStream_t stream) {
  delta_int8_apply_kernel<<<gem_cuda_blocks(rows * cols), GEM_CUDA_BLOCK, 0, stream>>>(
      base, q, row_scales, rows, cols, out);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_delta_int8_apply(const float* base, const int8_t* q, const float* row_scales,
                                      size_t rows, size_t cols, float* out, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(base != nullptr && q != nullptr && row_scales != nullptr && out != nullptr);
  return launch_delta_int8_apply(base, q, row_scales, rows, cols, out, stream);
}
