// Copyright the gem authors. Batch-invariant matmul; CPU twin gem::ops::MatmulTwin.
//
// Each output element is reduced by 16 lanes of a half-warp: lane l accumulates k = l, l + 16,
// ... with one fma each (x and w staged through shared memory in chunks of 64 k), then a
// shuffle-down tree (8, 4, 2, 1) sums the lanes: the order of the CPU backend's AVX-512 GEMM, so
// with f32 weights the two agree bit for bit. The tile a row lands in changes which thread
// computes it, never the order, so the tile shape may follow m (a small tile for decoding) and
// the result still does not depend on the batch.
#include "common.cuh"
#include "engine/cuda/matmul.cuh"
#include "kernel_math/engine_math.h"

namespace {

using gem::ops::kMatmulLanes;

constexpr int kChunk = 64;       // k per shared-memory stage: 4 lane steps
constexpr int kLd = kChunk + 4;  // row pitch: RM or RN (4) rows apart land 16 banks apart

// Threads: 16 lanes x GM x GN groups; group (gm, gn) owns RM rows x RN columns of the
// (RM*GM) x (RN*GN) tile.
template <int WT, int RM, int RN, int GM, int GN>
__global__ void __launch_bounds__(kMatmulLanes* GM* GN)
    matmul_kernel(const float* __restrict__ x, const void* __restrict__ w, float* __restrict__ y,
                  int m, int n, int k, bool accumulate) {
  constexpr int kThreads = kMatmulLanes * GM * GN;
  constexpr int TM = RM * GM, TN = RN * GN;
  __shared__ float xs[TM][kLd];
  __shared__ float ws[TN][kLd];
  const int tid = threadIdx.x;
  const int lane = tid % kMatmulLanes, g = tid / kMatmulLanes;
  const int gm = g % GM, gn = g / GM;
  const int row0 = blockIdx.y * TM, col0 = blockIdx.x * TN;
  const int kpad = gem::ops::matmul_steps(k) * kMatmulLanes;

  float acc[RM][RN];
#pragma unroll
  for (int i = 0; i < RM; ++i) {
#pragma unroll
    for (int j = 0; j < RN; ++j) acc[i][j] = 0.0f;
  }
  for (int kc = 0; kc < kpad; kc += kChunk) {
    for (int idx = tid; idx < TM * kChunk; idx += kThreads) {
      const int i = idx / kChunk, c = idx % kChunk, r = row0 + i, p = kc + c;
      xs[i][c] = (r < m && p < k) ? x[(size_t)r * k + p] : 0.0f;
    }
    for (int idx = tid; idx < TN * kChunk; idx += kThreads) {
      const int j = idx / kChunk, c = idx % kChunk, col = col0 + j, p = kc + c;
      ws[j][c] = (col < n && p < k) ? gem::ops::weight_to_f32(w, (size_t)col * k + p, WT) : 0.0f;
    }
    __syncthreads();
    const int left = kpad - kc;
    const int steps = (left < kChunk ? left : kChunk) / kMatmulLanes;
    for (int s = 0; s < steps; ++s) {
      const int c = s * kMatmulLanes + lane;
      float xv[RM], wv[RN];
#pragma unroll
      for (int i = 0; i < RM; ++i) xv[i] = xs[gm * RM + i][c];
#pragma unroll
      for (int j = 0; j < RN; ++j) wv[j] = ws[gn * RN + j][c];
#pragma unroll
      for (int i = 0; i < RM; ++i) {
#pragma unroll
        for (int j = 0; j < RN; ++j) acc[i][j] = gem::ops::fma_f32(xv[i], wv[j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < RM; ++i) {
#pragma unroll
    for (int j = 0; j < RN; ++j) {
      float v = acc[i][j];
#pragma unroll
      for (int off = kMatmulLanes / 2; off > 0; off /= 2) {
        v = gem::ops::add_rn(v, __shfl_down_sync(0xffffffffu, v, off, kMatmulLanes));
      }
      const int r = row0 + gm * RM + i, col = col0 + gn * RN + j;
      if (lane == 0 && r < m && col < n) {
        float* out = y + (size_t)r * n + col;
        *out = accumulate ? gem::ops::add_rn(*out, v) : v;
      }
    }
  }
}

template <int WT, int RM, int RN, int GM, int GN>
cudaError_t launch_tile(const float* x, const void* w, float* y, int m, int n, int k,
                        bool accumulate, cudaStream_t stream) {
  constexpr int TM = RM * GM, TN = RN * GN;
  const dim3 grid((unsigned)((n + TN - 1) / TN), (unsigned)((m + TM - 1) / TM));
  matmul_kernel<WT, RM, RN, GM, GN>
      <<<grid, kMatmulLanes * GM * GN, 0, stream>>>(x, w, y, m, n, k, accumulate);
  return gem_cuda_launch_status();
}

template <int WT>
cudaError_t launch_matmul(const float* x, const void* w, float* y, int m, int n, int k,
                          bool accumulate, cudaStream_t stream) {
  // Decoding (a few rows): 4 x 64 tiles, one group per 4 columns, so a layer's weight is spread
  // over many blocks. Otherwise 16 x 32 tiles.
  if (m <= 4) return launch_tile<WT, 4, 4, 1, 16>(x, w, y, m, n, k, accumulate, stream);
  return launch_tile<WT, 4, 8, 4, 4>(x, w, y, m, n, k, accumulate, stream);
}

}  // namespace

cudaError_t gem_cuda_matmul(const float* x, const void* w, int wtype, float* y, int m, int n, int k,
                            bool accumulate, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(m >= 0 && n > 0 && k > 0 && m <= 65535 * 16);
  if (m == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(x != nullptr && w != nullptr && y != nullptr);
  switch (wtype) {
    case gem::ops::kWeightF32:
      return launch_matmul<gem::ops::kWeightF32>(x, w, y, m, n, k, accumulate, stream);
    case gem::ops::kWeightF16:
      return launch_matmul<gem::ops::kWeightF16>(x, w, y, m, n, k, accumulate, stream);
    case gem::ops::kWeightBF16:
      return launch_matmul<gem::ops::kWeightBF16>(x, w, y, m, n, k, accumulate, stream);
    default:
      return cudaErrorInvalidValue;
  }
}
