// Copyright the gem authors. Shared context of the gem CUDA kernels: error checks and launch
// helpers. Entry points never abort: they return a cudaError_t (cudaErrorInvalidValue for a
// bad shape or pointer), which the backend turns into a gem::Status at its boundary.
#pragma once

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

// Returns the CUDA error of `expr` from the enclosing function when it is not cudaSuccess.
#define GEM_CUDA_RETURN_IF_ERROR(expr)        \
  do {                                        \
    cudaError_t _gem_err = (expr);            \
    if (_gem_err != cudaSuccess) return _gem_err; \
  } while (0)

// Returns cudaErrorInvalidValue from the enclosing function unless `cond` holds.
#define GEM_CUDA_REQUIRE(cond)                              \
  do {                                                      \
    if (!(cond)) return cudaErrorInvalidValue;              \
  } while (0)

constexpr int GEM_CUDA_BLOCK = 256;
constexpr int GEM_WARP = 32;

// Blocks needed to cover n elements with GEM_CUDA_BLOCK threads each (grid-stride loops cap it).
inline unsigned int gem_cuda_blocks(size_t n) {
  size_t b = (n + GEM_CUDA_BLOCK - 1) / GEM_CUDA_BLOCK;
  if (b == 0) b = 1;
  return b > 65535u * 32u ? 65535u * 32u : (unsigned int)b;
}

// Kernel launch errors are reported by cudaGetLastError right after the launch.
inline cudaError_t gem_cuda_launch_status() { return cudaGetLastError(); }
