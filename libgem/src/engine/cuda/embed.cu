// Copyright the gem authors. Embedding lookup; CPU twin gem::ops::EmbedTwin.
#include <math.h>

#include "common.cuh"
#include "engine/cuda/embed.cuh"
#include "kernel_math/engine_math.h"

namespace {

__global__ void embed_kernel(const void* __restrict__ table, int wtype, int vocab,
                             const int32_t* __restrict__ ids, int rows, int hidden, float* x) {
  const size_t total = (size_t)rows * hidden;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
       i += (size_t)gridDim.x * blockDim.x) {
    const int r = (int)(i / hidden), j = (int)(i - (size_t)r * hidden);
    const int32_t id = ids[r];
    x[i] = (id >= 0 && id < vocab) ? gem::ops::weight_to_f32(table, (size_t)id * hidden + j, wtype)
                                   : NAN;
  }
}

}  // namespace

cudaError_t gem_cuda_embed(const void* table, int wtype, int vocab, const int32_t* ids, int rows,
                           int hidden, float* x, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(rows >= 0 && hidden > 0 && vocab > 0);
  GEM_CUDA_REQUIRE(wtype == gem::ops::kWeightF32 || wtype == gem::ops::kWeightF16 ||
                   wtype == gem::ops::kWeightBF16);
  if (rows == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(table != nullptr && ids != nullptr && x != nullptr);
  embed_kernel<<<gem_cuda_blocks((size_t)rows * hidden), GEM_CUDA_BLOCK, 0, stream>>>(
      table, wtype, vocab, ids, rows, hidden, x);
  return gem_cuda_launch_status();
}
