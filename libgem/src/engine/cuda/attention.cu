// Copyright the gem authors. Attention, one block of kAttnThreads per (row, head); CPU twin
// gem::ops::AttentionTwin.
//
// Three passes over the row's visible positions: the scores' max, the sum of exp(s - max) in
// kAttnThreads partials + a halving tree, and the weighted sum of values (thread d owns output
// element d, positions in order). Up to kTile positions the exponentials stay in shared memory;
// longer rows recompute the scores per tile in each pass, which yields the same values, so the
// result depends only on the row's own cache, never on the other rows or sequences of the call.
#include <math.h>

#include "common.cuh"
#include "engine/cuda/attention.cuh"
#include "kernel_math/engine_math.h"
#include "gem/backend.h"

namespace {

using gem::ops::kAttnThreads;
constexpr int kTile = 4096;
constexpr int kMaxHeadDim = 256;

__global__ void __launch_bounds__(kAttnThreads)
    attention_kernel(const gem::AttentionSeq* __restrict__ seqs, int num_seqs, int num_heads,
                     int group, int head_dim, float scale, int window) {
  __shared__ float e[kTile];
  __shared__ float red[kAttnThreads];
  __shared__ float qs[kMaxHeadDim];
  const int t = threadIdx.x;
  int row = blockIdx.x, s = 0;
  while (s < num_seqs && row >= seqs[s].rows) row -= seqs[s].rows, ++s;
  if (s >= num_seqs) return;  // uniform across the block
  const gem::AttentionSeq sq = seqs[s];
  const int h = blockIdx.y, kvh = h / group;
  const int q_stride = num_heads * head_dim, kv_stride = (num_heads / group) * head_dim;
  const int p = sq.kv_len - sq.rows + row;
  const int lo = gem::ops::attn_first(p, window);
  const int len = p - lo + 1;
  const bool kept = len <= kTile;  // exponentials stay in shared memory
  const float* kb = sq.k + (size_t)lo * kv_stride + kvh * head_dim;
  const float* vb = sq.v + (size_t)lo * kv_stride + kvh * head_dim;
  for (int d = t; d < head_dim; d += kAttnThreads) {
    qs[d] = sq.q[(size_t)row * q_stride + h * head_dim + d];
  }
  __syncthreads();

  // Pass 1: the max of the scores.
  float mx = -INFINITY;
  for (int j0 = 0; j0 < len; j0 += kTile) {
    const int n = min(kTile, len - j0);
    for (int jj = t; jj < n; jj += kAttnThreads) {
      const float sc =
          gem::ops::attn_score(qs, kb + (size_t)(j0 + jj) * kv_stride, head_dim, scale);
      if (kept) e[jj] = sc;
      mx = fmaxf(mx, sc);
    }
  }
  red[t] = mx;
  __syncthreads();
  for (int off = kAttnThreads / 2; off > 0; off /= 2) {
    if (t < off) red[t] = fmaxf(red[t], red[t + off]);
    __syncthreads();
  }
  mx = red[0];
  __syncthreads();

  // Pass 2: the sum of exponentials; thread t takes positions lo + t, lo + t + kAttnThreads, ...
  // (tiles are multiples of kAttnThreads, so this holds across tiles).
  float acc = 0.0f;
  for (int j0 = 0; j0 < len; j0 += kTile) {
    const int n = min(kTile, len - j0);
    for (int jj = t; jj < n; jj += kAttnThreads) {
      const float sc =
          kept ? e[jj]
               : gem::ops::attn_score(qs, kb + (size_t)(j0 + jj) * kv_stride, head_dim, scale);
      const float ev = gem::ops::exp_f32(sc - mx);
      if (kept) e[jj] = ev;
      acc = gem::ops::add_rn(acc, ev);
    }
  }
  red[t] = acc;
  __syncthreads();
  for (int off = kAttnThreads / 2; off > 0; off /= 2) {
    if (t < off) red[t] = gem::ops::add_rn(red[t], red[t + off]);
    __syncthreads();
  }
  const float inv = 1.0f / red[0];

  // Pass 3: out[d] = sum_j (e_j * inv) * v_j[d], j ascending.
  float out[kMaxHeadDim / kAttnThreads] = {};
  for (int j0 = 0; j0 < len; j0 += kTile) {
    const int n = min(kTile, len - j0);
    if (!kept) {
      __syncthreads();  // the previous tile's readers are done
      for (int jj = t; jj < n; jj += kAttnThreads) {
        e[jj] = gem::ops::exp_f32(
            gem::ops::attn_score(qs, kb + (size_t)(j0 + jj) * kv_stride, head_dim, scale) - mx);
      }
      __syncthreads();
    }
    for (int d = t, o = 0; d < head_dim; d += kAttnThreads, ++o) {
      float a = out[o];
      for (int jj = 0; jj < n; ++jj) {
        const float wj = gem::ops::mul_rn(e[jj], inv);
        a = gem::ops::add_rn(a, gem::ops::mul_rn(wj, vb[(size_t)(j0 + jj) * kv_stride + d]));
      }
      out[o] = a;
    }
  }
  float* dst = sq.out + (size_t)row * q_stride + h * head_dim;
  for (int d = t, o = 0; d < head_dim; d += kAttnThreads, ++o) dst[d] = out[o];
}

}  // namespace

cudaError_t gem_cuda_attention(const gem::AttentionSeq* seqs, int num_seqs, int total_rows,
                               int num_heads, int num_kv_heads, int head_dim, float scale,
                               int window, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(num_seqs >= 0 && total_rows >= 0 && num_heads > 0 && num_kv_heads > 0);
  GEM_CUDA_REQUIRE(num_heads % num_kv_heads == 0 && head_dim > 0 && head_dim <= kMaxHeadDim);
  GEM_CUDA_REQUIRE(num_heads <= 65535 && window >= 0);
  if (total_rows == 0 || num_seqs == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(seqs != nullptr);
  const dim3 grid((unsigned)total_rows, (unsigned)num_heads);
  attention_kernel<<<grid, kAttnThreads, 0, stream>>>(
      seqs, num_seqs, num_heads, num_heads / num_kv_heads, head_dim, scale, window);
  return gem_cuda_launch_status();
}
