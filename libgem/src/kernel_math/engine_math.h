// Copyright the gem authors. Element math of the transformer's ops, shared by the CUDA kernels
// of the engine (libgem/src/engine/cuda/*.cu) and their CPU twins (engine/ops/twins.h): the same
// inline function compiles for host and device, so the twin the CPU tests run computes what the
// kernel computes, in the same order.
//
// Rounding is pinned so that host and device agree bit for bit:
//   * products that feed an addition are either explicit fmaf (the matmul, as the CPU's
//     AVX-512 GEMM does) or explicit round-to-nearest multiplies (mul_rn) so that nvcc cannot
//     contract them into an FMA the host compiler would not use;
//   * reductions have a fixed order that depends only on the reduced length (never on the
//     number of rows in the call): that is what makes every op batch-invariant;
//   * exp, cos and sin are evaluated in double and rounded once to f32, which is what the CPU
//     backend's f32 results are within an ulp (glibc's expf is itself within 0.502 ulp); the
//     device's double exp/cos/sin differ from glibc's by at most a few double ulps, so the
//     rounded f32 agrees except on the rare value within that distance of a rounding boundary.
#ifndef GEM_KERNEL_MATH_ENGINE_MATH_H_
#define GEM_KERNEL_MATH_ENGINE_MATH_H_

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hd.h"
#include "word_math.h"

namespace gem::ops {

// Element types of a device weight (the resident base's stored type). Values are passed across
// the kernels' C entry points; do not renumber.
enum WeightType : int { kWeightF32 = 0, kWeightF16 = 1, kWeightBF16 = 2 };

GEM_HD size_t weight_type_bytes(int type) { return type == kWeightF32 ? 4 : 2; }

// One stored weight element as f32 (exact: f16 and bf16 are subsets of f32).
GEM_HD float weight_to_f32(const void* w, size_t i, int type) {
  if (type == kWeightBF16) return bf16_to_f32(static_cast<const uint16_t*>(w)[i]);
  if (type == kWeightF16) return f16_to_f32(static_cast<const uint16_t*>(w)[i]);
  return static_cast<const float*>(w)[i];
}

// Multiplication and addition that the device compiler may not fuse.
GEM_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

GEM_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

GEM_HD float fma_f32(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return fmaf(a, b, c);
#endif
}

// exp(x) rounded once to f32.
GEM_HD float exp_f32(float x) { return (float)exp((double)x); }

// ---- matmul: y[i, j] (+)= sum_k x[i, k] w[j, k] ----
// The order of the CPU backend's AVX-512 GEMM (engine/gemm.cc): 16 lanes, lane l accumulates
// k = l, l + 16, ... with one fused multiply-add each, over ceil(k / 16) steps (lanes past k add
// 0 * 0, as the masked tail does); then the lanes are summed by a fixed tree that halves the
// lane count (lane i += lane i + 8, then + 4, + 2, + 1) - a warp shuffle-down on the device.
// Accumulating adds the dot product to the old y (add_rn). The result of an output element
// depends only on its own x row, w row and k.
constexpr int kMatmulLanes = 16;

GEM_HD int matmul_steps(int k) { return (k + kMatmulLanes - 1) / kMatmulLanes; }

// Sums 16 lane partials in the fixed tree order (host side of the warp shuffle).
GEM_HD float matmul_lane_tree(float* lane) {
  for (int off = kMatmulLanes / 2; off > 0; off /= 2) {
    for (int i = 0; i < off; ++i) lane[i] = add_rn(lane[i], lane[i + off]);
  }
  return lane[0];
}

// ---- rms_norm: y = w * (x * (1 / sqrt(mean(x^2) + eps))) ----
// The sum of squares is accumulated in double (as the CPU backend does) by kNormThreads
// partial sums (partial t takes j = t, t + kNormThreads, ...), then a fixed halving tree.
constexpr int kNormThreads = 256;

GEM_HD float rms_norm_inv(double sum_sq, int n, float eps) {
  const float var = (float)(sum_sq / n);
  return 1.0f / sqrtf(add_rn(var, eps));
}

GEM_HD float rms_norm_elem(float x, float w, float inv) { return mul_rn(w, mul_rn(x, inv)); }

// ---- rope: rotate-half pairs (f, f + half) of one head by angle pos * inv_freq[f] ----
// As transformers and the CPU backend: the angle is rounded to f32 before cos/sin.
GEM_HD void rope_cos_sin(int32_t pos, float inv_freq, float* c, float* s) {
  const float angle = mul_rn((float)pos, inv_freq);
  *c = (float)cos((double)angle);
  *s = (float)sin((double)angle);
}

GEM_HD void rope_rotate(float* a, float* b, float c, float s) {
  const float x = *a, y = *b;
  *a = mul_rn(x, c) - mul_rn(y, s);
  *b = add_rn(mul_rn(y, c), mul_rn(x, s));
}

// ---- silu_mul: y = silu(gate) * up ----
GEM_HD float silu_mul_elem(float g, float up) { return mul_rn(g / add_rn(1.0f, exp_f32(-g)), up); }

// ---- attention over one row's cache ----
// Per (row, head): scores s_j = (q . k_j, an fma chain over head_dim in order) * scale for the
// positions j the row sees; m = max s_j; e_j = exp(s_j - m); sum = fixed-order sum of e_j
// (kAttnThreads partials, partial t takes j = lo + t, lo + t + kAttnThreads, ..., then a
// halving tree); out[e] = sum_j (e_j * (1 / sum)) * v_j[e], j ascending, unfused.
constexpr int kAttnThreads = 128;

GEM_HD float attn_score(const float* q, const float* k, int head_dim, float scale) {
  float d = 0.0f;
  for (int e = 0; e < head_dim; ++e) d = fma_f32(q[e], k[e], d);
  return mul_rn(d, scale);
}

// The first position row position p sees (window 0: the whole prefix).
GEM_HD int attn_first(int p, int window) {
  const int lo = p - window + 1;
  return window > 0 && lo > 0 ? lo : 0;
}

// ---- greedy arg-max: the generator's rule ----
// Generate's sequential scan keeps the first index and replaces it only with a strictly larger
// value, so: the lowest index among the maxima, a NaN never wins, and a NaN at index 0 wins.
// As a reduction: candidate (v, i) beats (best, bi) when v is not NaN and (v > best, or v ==
// best and i < bi); bi < 0 means "none yet". Index 0 is handled first by the caller.
GEM_HD bool argmax_better(float v, int i, float best, int bi) {
  if (v != v) return false;  // NaN
  if (bi < 0) return true;
  return v > best || (v == best && i < bi);
}

}  // namespace gem::ops

#endif  // GEM_KERNEL_MATH_ENGINE_MATH_H_
