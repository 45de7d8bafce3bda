// Copyright the gem authors. XOR delta on stored words; element math in
// libgem/src/kernel_math/delta_math.h (gather_word), CPU twin gem::ops::XorApplyWords.
#include "common.cuh"
#include "delta_math.h"
#include "delta_xor_words.cuh"

template <typename W>
static __global__ void delta_xor_words_kernel(const W* __restrict__ base,
                                              const uint8_t* __restrict__ planes, size_t n,
                                              W* out) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    out[i] = (W)(base[i] ^ (W)gem::ops::gather_word(planes, n, i, (int)sizeof(W)));
  }
}

cudaError_t gem_cuda_delta_xor_words(const void* base, const uint8_t* planes, size_t n, int kind,
                                     void* out, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(kind == gem::ops::kWordBF16 || kind == gem::ops::kWordF16 ||
                   kind == gem::ops::kWordF32);
  if (n == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(base != nullptr && planes != nullptr && out != nullptr);
  if (kind == gem::ops::kWordF32) {
    delta_xor_words_kernel<<<gem_cuda_blocks(n), GEM_CUDA_BLOCK, 0, stream>>>(
        (const uint32_t*)base, planes, n, (uint32_t*)out);
  } else {
    delta_xor_words_kernel<<<gem_cuda_blocks(n), GEM_CUDA_BLOCK, 0, stream>>>(
        (const uint16_t*)base, planes, n, (uint16_t*)out);
  }
  return gem_cuda_launch_status();
}
