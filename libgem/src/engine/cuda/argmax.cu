// Copyright the gem authors. Arg-max, one block per row; CPU twin gem::ops::ArgmaxTwin. The
// "better" relation of engine_math.h is a strict total order on the candidates (value descending,
// then index ascending), so the reduction's result does not depend on its tree.
#include "common.cuh"
#include "engine/cuda/argmax.cuh"
#include "kernel_math/engine_math.h"

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    argmax_kernel(const float* __restrict__ logits, int vocab, int32_t* ids) {
  __shared__ float best_v[kThreads];
  __shared__ int best_i[kThreads];
  const int t = threadIdx.x;
  const float* v = logits + (size_t)blockIdx.x * vocab;
  float bv = 0.0f;
  int bi = -1;
  for (int i = t; i < vocab; i += kThreads) {
    if (gem::ops::argmax_better(v[i], i, bv, bi)) {
      bv = v[i];
      bi = i;
    }
  }
  best_v[t] = bv;
  best_i[t] = bi;
  __syncthreads();
  for (int off = kThreads / 2; off > 0; off /= 2) {
    if (t < off && best_i[t + off] >= 0 &&
        gem::ops::argmax_better(best_v[t + off], best_i[t + off], best_v[t], best_i[t])) {
      best_v[t] = best_v[t + off];
      best_i[t] = best_i[t + off];
    }
    __syncthreads();
  }
  if (t == 0) {
    const float v0 = v[0];
    // A NaN at index 0 is never replaced; all-NaN rows also give 0.
    ids[blockIdx.x] = (v0 != v0 || best_i[0] < 0) ? 0 : best_i[0];
  }
}

}  // namespace

cudaError_t gem_cuda_argmax(const float* logits, int rows, int vocab, int32_t* ids,
                            cudaStream_t stream) {
  GEM_CUDA_REQUIRE(rows >= 0 && vocab > 0);
  if (rows == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(logits != nullptr && ids != nullptr);
  argmax_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(logits, vocab, ids);
  return gem_cuda_launch_status();
}
