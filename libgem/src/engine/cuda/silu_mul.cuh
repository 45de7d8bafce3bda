// Copyright the gem authors. SwiGLU's gate: y = silu(gate) * up over n elements (y may alias
// gate or up). Device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>

cudaError_t gem_cuda_silu_mul(const float* gate, const float* up, float* y, size_t n,
                              cudaStream_t stream);
