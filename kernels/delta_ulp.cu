// Copyright the gem authors. "ulp" delta, one frame; element math in
// libgem/src/kernel_math/delta_math.h (ulp_apply_elem, ulp_decode_word, ulp_entry_*), CPU twins
// gem::ops::UlpApplyFrame / UlpApplyFrameWords (UlpApplyLow(Words) and the fix-ups).
//
// One block per tile of kUlpTile elements: the block reads its tile's base into shared memory
// and runs the low-byte pass into a shared result, finds its tile's range of the sparse list by
// binary search (the indices are increasing), rewrites those elements from their base value and
// full zigzag word, and only then writes the tile out. So out may alias base with no scratch
// buffer and one launch, and each element is written once.
#include "common.cuh"
#include "delta_math.h"
#include "delta_ulp.cuh"

namespace {

constexpr int kUlpTile = 1024;  // elements per block: 2 x 4 KiB of shared memory for f32

// Element math of the two variants: f32 values, or the stored words.
struct UlpF32 {
  using T = float;
  int kind;
  __device__ float operator()(float b, uint32_t z) const {
    return gem::ops::ulp_apply_elem(b, z, kind);
  }
};

template <typename W>
struct UlpWords {
  using T = W;
  int kind;
  __device__ W operator()(W b, uint32_t z) const {
    return (W)gem::ops::ulp_decode_word(b, z, (int)sizeof(W));
  }
};

// The first entry whose index is >= i (entries sorted by index).
__device__ uint32_t lower_entry(const uint8_t* entries, uint32_t count, size_t eb, uint32_t i) {
  uint32_t lo = 0, hi = count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (gem::ops::ulp_entry_index(entries + mid * eb) < i) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

template <typename Op>
__global__ void delta_ulp_kernel(const typename Op::T* base, const uint8_t* __restrict__ frame,
                                 uint32_t count, uint32_t m, int nbytes, Op op,
                                 typename Op::T* out) {
  using T = typename Op::T;
  __shared__ T sbase[kUlpTile];
  __shared__ T sout[kUlpTile];
  __shared__ uint32_t range[2];
  const uint32_t t0 = blockIdx.x * (uint32_t)kUlpTile;
  const uint32_t len = min((uint32_t)kUlpTile, m - t0);
  const size_t eb = gem::ops::ulp_entry_bytes(nbytes);
  const uint8_t* entries = frame + m;
  // The low-byte pass (every element; the listed ones are redone below).
  for (uint32_t j = threadIdx.x; j < len; j += blockDim.x) {
    const T b = base[t0 + j];
    sbase[j] = b;
    sout[j] = op(b, frame[t0 + j]);
  }
  if (threadIdx.x < 2) range[threadIdx.x] = lower_entry(entries, count, eb, t0 + threadIdx.x * len);
  __syncthreads();
  // The sparse fix-ups of this tile's entries.
  for (uint32_t e = range[0] + threadIdx.x; e < range[1]; e += blockDim.x) {
    const uint8_t* entry = entries + e * eb;
    const uint32_t i = gem::ops::ulp_entry_index(entry);
    if (i < t0 || i >= t0 + len) continue;  // only a malformed list (the reader refuses it)
    sout[i - t0] = op(sbase[i - t0], frame[i] | gem::ops::ulp_entry_high(entry, nbytes));
  }
  __syncthreads();
  for (uint32_t j = threadIdx.x; j < len; j += blockDim.x) out[t0 + j] = sout[j];
}

template <typename Op>
cudaError_t launch_ulp(const void* base, const uint8_t* frame, size_t frame_bytes, size_t m,
                       int nbytes, Op op, void* out, cudaStream_t stream) {
  using T = typename Op::T;
  const size_t count = (frame_bytes - m) / gem::ops::ulp_entry_bytes(nbytes);
  const unsigned int blocks = (unsigned int)((m + kUlpTile - 1) / kUlpTile);
  delta_ulp_kernel<Op><<<blocks, GEM_CUDA_BLOCK, 0, stream>>>(
      (const T*)base, frame, (uint32_t)count, (uint32_t)m, nbytes, op, (T*)out);
  return gem_cuda_launch_status();
}

// Shared checks of both entry points; cudaSuccess with *empty set when there is nothing to do.
cudaError_t check_ulp(const void* base, const uint8_t* frame, size_t frame_bytes, size_t m,
                      int kind, const void* out, bool* empty) {
  GEM_CUDA_REQUIRE(kind == gem::ops::kWordBF16 || kind == gem::ops::kWordF16 ||
                   kind == gem::ops::kWordF32);
  GEM_CUDA_REQUIRE(m <= 65536);
  const size_t eb = gem::ops::ulp_entry_bytes(gem::ops::word_bytes(kind));
  GEM_CUDA_REQUIRE(frame_bytes >= m && (frame_bytes - m) % eb == 0);
  *empty = m == 0;
  if (m > 0) GEM_CUDA_REQUIRE(base != nullptr && frame != nullptr && out != nullptr);
  return cudaSuccess;
}

}  // namespace

cudaError_t gem_cuda_delta_ulp_apply(const float* base, const uint8_t* frame, size_t frame_bytes,
                                     size_t m, int kind, float* out, cudaStream_t stream) {
  bool empty = false;
  GEM_CUDA_RETURN_IF_ERROR(check_ulp(base, frame, frame_bytes, m, kind, out, &empty));
  if (empty) return cudaSuccess;
  return launch_ulp(base, frame, frame_bytes, m, gem::ops::word_bytes(kind), UlpF32{kind}, out,
                    stream);
}

cudaError_t gem_cuda_delta_ulp_words(const void* base, const uint8_t* frame, size_t frame_bytes,
                                     size_t m, int kind, void* out, cudaStream_t stream) {
  bool empty = false;
  GEM_CUDA_RETURN_IF_ERROR(check_ulp(base, frame, frame_bytes, m, kind, out, &empty));
  if (empty) return cudaSuccess;
  if (kind == gem::ops::kWordF32) {
    return launch_ulp(base, frame, frame_bytes, m, 4, UlpWords<uint32_t>{kind}, out, stream);
  }
  return launch_ulp(base, frame, frame_bytes, m, 2, UlpWords<uint16_t>{kind}, out, stream);
}
