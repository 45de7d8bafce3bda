// Copyright the gem authors. Lossy int8 delta: out[r,c] = base[r,c] + scale[r] * q[r,c].
// Device pointers, row-major rows x cols.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

cudaError_t gem_cuda_delta_int8_apply(const float* base, const int8_t* q, const float* row_scales,
                                      size_t rows, size_t cols, float* out, cudaStream_t stream);
