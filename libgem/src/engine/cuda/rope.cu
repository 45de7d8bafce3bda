// Copyright the gem authors. RoPE; CPU twin gem::ops::RopeTwin. One thread per (row, frequency)
// computes cos/sin once (in double, rounded to f32, as engine_math.h says) and rotates every head.
#include "common.cuh"
#include "engine/cuda/rope.cuh"
#include "kernel_math/engine_math.h"

namespace {

__global__ void rope_kernel(float* x, int m, int heads, int head_dim,
                            const int32_t* __restrict__ pos, const float* __restrict__ inv_freq) {
  const int half = head_dim / 2;
  const size_t total = (size_t)m * half;
  for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total;
       idx += (size_t)gridDim.x * blockDim.x) {
    const int i = (int)(idx / half), f = (int)(idx - (size_t)i * half);
    float c, s;
    gem::ops::rope_cos_sin(pos[i], inv_freq[f], &c, &s);
    for (int h = 0; h < heads; ++h) {
      float* v = x + ((size_t)i * heads + h) * head_dim;
      gem::ops::rope_rotate(&v[f], &v[f + half], c, s);
    }
  }
}

}  // namespace

cudaError_t gem_cuda_rope(float* x, int m, int heads, int head_dim, const int32_t* pos,
                          const float* inv_freq, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(m >= 0 && heads > 0 && head_dim > 0 && head_dim % 2 == 0);
  if (m == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(x != nullptr && pos != nullptr && inv_freq != nullptr);
  rope_kernel<<<gem_cuda_blocks((size_t)m * (head_dim / 2)), GEM_CUDA_BLOCK, 0, stream>>>(
      x, m, heads, head_dim, pos, inv_freq);
  return gem_cuda_launch_status();
}
