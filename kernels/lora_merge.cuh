// Copyright the gem authors. LoRA merge: merged = w + scale * b * a, with w, merged [out, in],
// a [rank, in], b [out, rank] (PEFT layout). Device pointers; merged may alias w.
#pragma once
#include <cuda_runtime.h>

cudaError_t gem_cuda_lora_merge(const float* w, const float* a, const float* b, int out, int in,
                                int rank, float scale, float* merged, cudaStream_t stream);
