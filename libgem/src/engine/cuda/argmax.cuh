// Copyright the gem authors. Greedy arg-max per row on the device: ids[r] = the lowest index of
// the largest value of logits row r ([rows x vocab]), Generate's rule (kernel_math/engine_math.h:
// NaN never wins, except at index 0). Device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

cudaError_t gem_cuda_argmax(const float* logits, int rows, int vocab, int32_t* ids,
                            cudaStream_t stream);
