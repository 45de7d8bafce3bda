// Copyright the gem authors. CPU twins of the LoRA kernels; element math in lora_math.h.
#include "tree/ops/lora_ops.h"

#include <cstddef>

namespace gem::ops {

void LoraMerge(const float* w, const float* a, const float* b, int out, int in, int rank,
               float scale, float* merged) {
  for (int o = 0; o < out; ++o) {
    const float* b_row = b + static_cast<size_t>(o) * rank;
    const size_t off = static_cast<size_t>(o) * in;
    for (int i = 0; i < in; ++i)
      merged[off + i] = lora_merge_elem(w[off + i], b_row, a, rank, in, i, scale);
  }
}

void BgmvShrink(const float* x, int rows, int in, const int32_t* row_slot, const BgmvSlot* slots,
                int num_slots, int max_rank, float* v) {
  for (int r = 0; r < rows; ++r) {
    float* v_row = v + static_cast<size_t>(r) * max_rank;
    const int s = row_slot[r];
    const int rank = (s >= 0 && s < num_slots) ? slots[s].rank : 0;
    for (int k = 0; k < max_rank; ++k) {
      v_row[k] = k < rank ? lora_dot_partial(x + static_cast<size_t>(r) * in,
                                             slots[s].a + static_cast<size_t>(k) * in, in, 0, 1)
                          : 0.0f;
    }
  }
}

void BgmvExpand(const float* v, int rows, int out, const int32_t* row_slot, const BgmvSlot* slots,
                int num_slots, int max_rank, float* y) {
  for (int r = 0; r < rows; ++r) {
    const int s = row_slot[r];
    if (s < 0 || s >= num_slots) continue;
    const BgmvSlot& slot = slots[s];
    const float* v_row = v + static_cast<size_t>(r) * max_rank;
    float* y_row = y + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o)
      y_row[o] += lora_expand_elem(slot.b + static_cast<size_t>(o) * slot.rank, v_row, slot.rank,
                                   slot.scale);
  }
}

}  // namespace gem::ops
