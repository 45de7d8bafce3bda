// Copyright the gem authors. LoRA merge into a working buffer; element math in
// libgem/src/kernel_math/lora_math.h, CPU twin gem::ops::LoraMerge.
#include "common.cuh"
#include "lora_merge.cuh"
#include "lora_math.h"

static __global__ void lora_merge_kernel(const float* __restrict__ w, const float* __restrict__ a,
                                         const float* __restrict__ b, int out, int in, int rank,
                                         float scale, float* merged) {
  const size_t n = (size_t)out * in;
  for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
       idx += (size_t)gridDim.x * blockDim.x) {
    const int o = (int)(idx / in);
    const int i = (int)(idx - (size_t)o * in);
    merged[idx] = gem::ops::lora_merge_elem(w[idx], b + (size_t)o * rank, a, rank, in, i, scale);
  }
}

static cudaError_t launch_lora_merge(const float* w, const float* a, const float* b, int out,
                                     int in, int rank, float scale, float* merged,
                                     cudaStream_t stream) {
  lora_merge_kernel<<<gem_cuda_blocks((size_t)out * in), GEM_CUDA_BLOCK, 0, stream>>>(
      w, a, b, out, in, rank, scale, merged);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_lora_merge(const float* w, const float* a, const float* b, int out, int in,
                                int rank, float scale, float* merged, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(out >= 0 && in >= 0 && rank > 0);
  if (out == 0 || in == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(w != nullptr && a != nullptr && b != nullptr && merged != nullptr);
  return launch_lora_merge(w, a, b, out, in, rank, scale, merged, stream);
}
