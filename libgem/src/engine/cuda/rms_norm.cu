// Copyright the gem authors. RMSNorm, one block of kNormThreads per row: thread t sums the
// squares of j = t, t + kNormThreads, ... in double, a halving tree in shared memory adds the
// partials (the order the CPU twin gem::ops::RmsNormTwin replays), then each thread scales its
// elements.
#include "common.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "kernel_math/engine_math.h"

namespace {

using gem::ops::kNormThreads;

__global__ void __launch_bounds__(kNormThreads)
    rms_norm_kernel(const float* x, const float* __restrict__ w, float* y, int n, float eps) {
  __shared__ double part[kNormThreads];
  const int t = threadIdx.x;
  const float* xr = x + (size_t)blockIdx.x * n;
  float* yr = y + (size_t)blockIdx.x * n;
  double s = 0;
  for (int j = t; j < n; j += kNormThreads) s += (double)xr[j] * xr[j];  // exact products
  part[t] = s;
  __syncthreads();
  for (int off = kNormThreads / 2; off > 0; off /= 2) {
    if (t < off) part[t] += part[t + off];
    __syncthreads();
  }
  const float inv = gem::ops::rms_norm_inv(part[0], n, eps);
  for (int j = t; j < n; j += kNormThreads) yr[j] = gem::ops::rms_norm_elem(xr[j], w[j], inv);
}

}  // namespace

cudaError_t gem_cuda_rms_norm(const float* x, const float* w, float* y, int m, int n, float eps,
                              cudaStream_t stream) {
  GEM_CUDA_REQUIRE(m >= 0 && n > 0);
  if (m == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(x != nullptr && w != nullptr && y != nullptr);
  rms_norm_kernel<<<(unsigned)m, kNormThreads, 0, stream>>>(x, w, y, n, eps);
  return gem_cuda_launch_status();
}
