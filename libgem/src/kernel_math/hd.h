// Copyright the gem authors. GEM_HD marks element math shared by a CUDA kernel in kernels/ and
// its CPU twin in libgem (tree/ops/, engine/ops/): the same inline function compiles for host
// and device, so the twin the tests run computes what the kernel computes, element by element.
//
// libgem/src/kernel_math/ is the neutral place for that math (as ggml keeps ggml-common.h beside
// its CPU and CUDA backends): header-only, C-compatible types, no libgem types and no includes
// outside this folder, so kernels/ (include path: this folder only) and libgem both build it.
#ifndef GEM_KERNEL_MATH_HD_H_
#define GEM_KERNEL_MATH_HD_H_

#if defined(__CUDACC__)
#define GEM_HD __host__ __device__ __forceinline__
#else
#define GEM_HD inline
#endif

#endif  // GEM_KERNEL_MATH_HD_H_
