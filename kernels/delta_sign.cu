// Copyright the gem authors. 1-bit sign * per-row scale delta add; element math in
// libgem/src/kernel_math/delta_math.h, CPU twin gem::ops::SignApply.
#include "common.cuh"
#include "delta_sign.cuh"
#include "delta_math.h"

static __global__ void delta_sign_apply_kernel(const float* __restrict__ base,
                                               const uint32_t* __restrict__ bits,
                                               const float* __restrict__ row_scales, size_t rows,
                                               size_t cols, float* out) {
  const size_t n = rows * cols;
  const size_t wpr = gem::ops::sign_words_per_row(cols);
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    const size_t r = i / cols;
    out[i] = gem::ops::sign_apply_elem(base[i], bits + r * wpr, i - r * cols, row_scales[r]);
  }
}

static cudaError_t launch_delta_sign_apply(const float* base, const uint32_t* bits,
                                           const float* row_scales, size_t rows, size_t cols,
                                           float* out, cudaStream_t stream) {
  delta_sign_apply_kernel<<<gem_cuda_blocks(rows * cols), GEM_CUDA_BLOCK, 0, stream>>>(
      base, bits, row_scales, rows, cols, out);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_delta_sign_apply(const float* base, const uint32_t* bits,
                                      const float* row_scales, size_t rows, size_t cols,
                                      float* out, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(base != nullptr && bits != nullptr && row_scales != nullptr && out != nullptr);
  return launch_delta_sign_apply(base, bits, row_scales, rows, cols, out, stream);
}
