// Copyright the gem authors. BGMV expand: one thread per (row, o) output; the rank is small
// (8-64), so each thread reads its B row and the row's v directly. Element math in
// libgem/src/kernel_math/lora_math.h, CPU twin gem::ops::BgmvExpand.
#include "bgmv_expand.cuh"
#include "common.cuh"
#include "lora_math.h"

static __global__ void bgmv_expand_kernel(const float* __restrict__ v, int rows, int out,
                                          const int32_t* __restrict__ row_slot,
                                          const gem::ops::BgmvSlot* __restrict__ slots,
                                          int num_slots, int max_rank, float* y) {
  const size_t n = (size_t)rows * out;
  for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
       idx += (size_t)gridDim.x * blockDim.x) {
    const int r = (int)(idx / out);
    const int o = (int)(idx - (size_t)r * out);
    const int s = row_slot[r];
    if (s < 0 || s >= num_slots) continue;
    const gem::ops::BgmvSlot slot = slots[s];
    y[idx] += gem::ops::lora_expand_elem(slot.b + (size_t)o * slot.rank, v + (size_t)r * max_rank,
                                         slot.rank, slot.scale);
  }
}

static cudaError_t launch_bgmv_expand(const float* v, int rows, int out, const int32_t* row_slot,
                                      const gem::ops::BgmvSlot* slots, int num_slots,
                                      int max_rank, float* y, cudaStream_t stream) {
  bgmv_expand_kernel<<<gem_cuda_blocks((size_t)rows * out), GEM_CUDA_BLOCK, 0, stream>>>(
      v, rows, out, row_slot, slots, num_slots, max_rank, y);
  return gem_cuda_launch_status();
}

cudaError_t gem_cuda_bgmv_expand(const float* v, int rows, int out, const int32_t* row_slot,
                                 const gem::ops::BgmvSlot* slots, int num_slots, int max_rank,
                                 float* y, cudaStream_t stream) {
  GEM_CUDA_REQUIRE(rows >= 0 && out > 0 && max_rank > 0 && num_slots >= 0);
  if (rows == 0) return cudaSuccess;
  GEM_CUDA_REQUIRE(v != nullptr && row_slot != nullptr && y != nullptr);
  GEM_CUDA_REQUIRE(num_slots == 0 || slots != nullptr);
  return launch_bgmv_expand(v, rows, out, row_slot, slots, num_slots, max_rank, y, stream);
}
