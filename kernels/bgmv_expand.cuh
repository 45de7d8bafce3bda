// Copyright the gem authors. Batched LoRA expand (BGMV, Punica):
// y[row, o] += scale_s * B_s[o] . v[row] for s = row_slot[row]; rows with slot -1 untouched.
// Device pointers; `slots` is a device array of gem::ops::BgmvSlot holding device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

namespace gem::ops {
struct BgmvSlot;
}

cudaError_t gem_cuda_bgmv_expand(const float* v, int rows, int out, const int32_t* row_slot,
                                 const gem::ops::BgmvSlot* slots, int num_slots, int max_rank,
                                 float* y, cudaStream_t stream);
