// Copyright the gem authors. Element math of LoRA (merge, BGMV shrink and expand), shared by
// kernels/lora_merge.cu, kernels/bgmv_shrink.cu, kernels/bgmv_expand.cu and their CPU twins in
// libgem/src/tree/ops/lora_ops.cc.
//
// PEFT layout: A is [r, in] (lora_A.weight), B is [out, r] (lora_B.weight), W is [out, in];
// y = W x + scale * B (A x), scale = alpha / r, or alpha / sqrt(r) with rslora.
#ifndef GEM_KERNEL_MATH_LORA_MATH_H_
#define GEM_KERNEL_MATH_LORA_MATH_H_

#include <stddef.h>
#include <stdint.h>

#include "hd.h"

namespace gem::ops {

// One adapter slot of a batched (BGMV) call: its A [rank, in] and B [out, rank] (host pointers
// for the CPU twins, device pointers for the kernels) and its scale. Ranks may differ by slot.
struct BgmvSlot {
  const float* a;
  const float* b;
  int rank;
  float scale;
};

// Partial dot product over elements start, start+stride, ... < n: a GPU warp lane takes one
// residue class (stride = 32) and the CPU twin takes all (start 0, stride 1).
GEM_HD float lora_dot_partial(const float* a, const float* b, int n, int start, int stride) {
  float acc = 0.0f;
  for (int i = start; i < n; i += stride) acc += a[i] * b[i];
  return acc;
}

// Merged weight element (o, i): W[o,i] + scale * sum_k B[o,k] A[k,i].
GEM_HD float lora_merge_elem(float w, const float* b_row, const float* a, int rank, int in, int i,
                             float scale) {
  float acc = 0.0f;
  for (int k = 0; k < rank; ++k) acc += b_row[k] * a[(size_t)k * in + i];
  return w + scale * acc;
}

// Expand element (row, o): scale * sum_k B[o,k] v[k], added into y by the caller.
GEM_HD float lora_expand_elem(const float* b_row, const float* v, int rank, float scale) {
  return scale * lora_dot_partial(b_row, v, rank, 0, 1);
}

}  // namespace gem::ops

#endif  // GEM_KERNEL_MATH_LORA_MATH_H_
