// Copyright the gem authors. Batch-invariant matmul: y[m x n] (+)= x[m x k] * w[n x k]^T with x
// f32 and w a PyTorch Linear weight of type wtype (gem::ops::WeightType: f32, f16, bf16), all
// device pointers, f32 accumulation in the fixed per-element order of kernel_math/engine_math.h (no
// split-K, no order that depends on m): a row's result never depends on the other rows.
#pragma once
#include <cuda_runtime.h>

cudaError_t gem_cuda_matmul(const float* x, const void* w, int wtype, float* y, int m, int n, int k,
                            bool accumulate, cudaStream_t stream);
