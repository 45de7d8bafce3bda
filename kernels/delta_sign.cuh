// Copyright the gem authors. Lossy 1-bit delta (BitDelta): out[r,c] = base[r,c] +/- scale[r]
// by bit c of row r (ceil(cols/32) uint32 words per row). Device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

cudaError_t gem_cuda_delta_sign_apply(const float* base, const uint32_t* bits,
                                      const float* row_scales, size_t rows, size_t cols,
                                      float* out, cudaStream_t stream);
