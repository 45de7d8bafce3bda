// Copyright the gem authors. BGMV shrink: one warp per (row, k) output, lanes split the input
// dimension (lora_dot_partial with stride 32) and reduce by shuffle. Element math in
// libgem/src/kernel_math/lora_math.h, CPU twin gem::ops::BgmvShrink.
#include "bgmv_shrink.cuh"
#include "common.cuh"
#include "lora_math.h"

static __global__ void bgmv_shrink_kernel(const float* __restrict__ x, int rows, int in,
                                          const int32_t* __restrict__ row_slot,
                                          const gem::ops::BgmvSlot* __restrict__ slots,
                                          int num_slots, int max_rank, float* v) {
  const int lane = threadIdx.x % GEM_WARP;
  const size_t warps_per_block = blockDim.x / GEM_WARP;
  const size_t total = (size_t)rows * max_rank;
  for (size_t out_idx = blockIdx.x * warps_per_block + threadIdx.x / GEM_WARP; out_idx < total;
       out_idx += (size_t)gridDim.x * warps_per_block) {
    const int r = (int)(out_idx / max_rank);
    const int k = (int)(out_idx - (size_t)r * max_rank);
    const int s = row_slot[r];
    float acc = 0.0f;
    if (s >= 0 && s < num_slots && k < slots[s].rank) {
      acc = gem::ops::lora_dot_partial(x + (size_t)r * in, slots[s].a + (size_t)k * in, in, lane,
                                       GEM_WARP);
      for (int off = GEM_WARP / 2; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
    }
    if (lane == 0) v[out_idx] = acc;
  }
}

static cudaError_t launch_bgmv_shrink(const float* x, int rows, int in, const int32_t* row_slot,
                                      const gem::ops::BgmvSlot* slots, int num_slots,
                                      int max_rank, float* v, cudaStream_t stream) {
  const size_t warps = (size_t)rows * max_rank;
  const unsigned int blocks = gem_cuda_blocks(warps * GEM_WARP);
  bgmv_shrink_kernel<<<blocks, GEM_CUDA_BLOCK, 0, stream>>>(x, rows, in, row_slot, slots,
                                                            num_slots, max_rank, v);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_bgmv_shrink(const float* x, int rows, int in, const int32_t* row_slot,
                                 const gem::ops::BgmvSlot* slots, int num_slots, int max_rank,
                                 float* v, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(rows >= 0 && in > 0 && max_rank > 0 && num_slots >= 0);
  if (rows == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(x != nullptr && row_slot != nullptr && v != nullptr);
  GEM_CUDA_REQUIRE(num_slots == 0 || slots != nullptr);
  return launch_bgmv_shrink(x, rows, in, row_slot, slots, num_slots, max_rank, v, stream);
}
