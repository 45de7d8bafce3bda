// Copyright the gem authors. GEM_HD marks element math shared by a CUDA kernel in kernels/ and
// its CPU twin here: the same inline function compiles for host and device, so the twin the
// tests run computes what the kernel computes, element by element.
#ifndef GEM_TREE_OPS_HD_H_
#define GEM_TREE_OPS_HD_H_

#if defined(__CUDACC__)
#define GEM_HD __host__ __device__ __forceinline__
#else
#define GEM_HD inline
#endif

#endif  // GEM_TREE_OPS_HD_H_
