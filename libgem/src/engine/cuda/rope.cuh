// Copyright the gem authors. Rotate-half RoPE in place: x is m rows of heads x head_dim; the
// pair (f, f + head_dim/2) of row i rotates by pos[i] * inv_freq[f]. Device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

cudaError_t gem_cuda_rope(float* x, int m, int heads, int head_dim, const int32_t* pos,
                          const float* inv_freq, cudaStream_t stream);
