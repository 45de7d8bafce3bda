// Copyright the gem authors. RMSNorm per row: y = x * rsqrt(mean(x^2) + eps) * w, x and y
// [m x n] (y may equal x), w [n] f32. Device pointers.
#pragma once
#include <cuda_runtime.h>

cudaError_t gem_cuda_rms_norm(const float* x, const float* w, float* y, int m, int n, float eps,
                              cudaStream_t stream);
