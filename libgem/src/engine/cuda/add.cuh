// Copyright the gem authors. Residual add y += x over n elements, and the row bias
// y[i, :] += b for m rows of n. Device pointers. Exact (one f32 add per element), so the CPU
// backend's add and add_bias are their reference.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>

cudaError_t gem_cuda_add(float* y, const float* x, size_t n, cudaStream_t stream);
cudaError_t gem_cuda_add_bias(float* y, const float* b, int m, int n, cudaStream_t stream);
