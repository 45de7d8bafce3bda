// Copyright the gem authors. CPU twins of the LoRA kernels (kernels/lora_merge.cu,
// bgmv_shrink.cu, bgmv_expand.cu), sharing their element math (lora_math.h).
//
// Pure functions on host memory; thread-safe for distinct outputs.
#ifndef GEM_TREE_OPS_LORA_OPS_H_
#define GEM_TREE_OPS_LORA_OPS_H_

#include <cstdint>

#include "kernel_math/lora_math.h"

namespace gem::ops {

// merged[o, i] = w[o, i] + scale * sum_k b[o, k] a[k, i]; w, merged: [out, in]; a: [rank, in];
// b: [out, rank]. merged may alias w.
void LoraMerge(const float* w, const float* a, const float* b, int out, int in, int rank,
               float scale, float* merged);

// Shrink: v[row, k] = sum_i x[row, i] * A_s[k, i] for s = row_slot[row] and k < rank(s);
// v is [rows, max_rank]; entries k >= rank(s) and rows with slot -1 are set to 0.
// REQUIRES: every slot index in row_slot is -1 or < num_slots; rank(s) <= max_rank.
void BgmvShrink(const float* x, int rows, int in, const int32_t* row_slot, const BgmvSlot* slots,
                int num_slots, int max_rank, float* v);

// Expand: y[row, o] += scale(s) * sum_k B_s[o, k] v[row, k]; rows with slot -1 untouched.
void BgmvExpand(const float* v, int rows, int out, const int32_t* row_slot, const BgmvSlot* slots,
                int num_slots, int max_rank, float* y);

}  // namespace gem::ops

#endif  // GEM_TREE_OPS_LORA_OPS_H_
