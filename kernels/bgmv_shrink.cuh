// Copyright the gem authors. Batched LoRA shrink (BGMV, Punica): v[row, k] = x[row] . A_s[k]
// for s = row_slot[row]; v is [rows, max_rank], zero past the slot's rank and for slot -1.
// Device pointers; `slots` is a device array of gem::ops::BgmvSlot holding device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

namespace gem::ops {
struct BgmvSlot;
}

cudaError_t gem_cuda_bgmv_shrink(const float* x, int rows, int in, const int32_t* row_slot,
                                 const gem::ops::BgmvSlot* slots, int num_slots, int max_rank,
                                 float* v, cudaStream_t stream);
