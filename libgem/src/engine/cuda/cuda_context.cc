// Copyright the gem authors. CudaContext (cuda_context.h).
#include "engine/cuda/cuda_context.h"

#include <algorithm>
#include <cstdint>

#include "engine/cuda/device.h"

namespace gem::cuda {

Result<std::unique_ptr<CudaContext>> CudaContext::Create(int device) {
  int count = 0;
  GEM_RETURN_IF_ERROR(CudaStatus(cudaGetDeviceCount(&count), "cudaGetDeviceCount"));
  if (device < 0 || device >= count) {
    return Status::InvalidArgument("cuda:" + std::to_string(device),
                                   "no such device (" + std::to_string(count) + " CUDA devices)");
  }
  std::unique_ptr<CudaContext> c(new CudaContext(device));
  GEM_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device), "cudaSetDevice"));
  GEM_RETURN_IF_ERROR(CudaStatus(cudaStreamCreateWithFlags(&c->stream_, cudaStreamNonBlocking),
                                 "cudaStreamCreate"));
  // Keep freed memory in the pool: a forward pass frees and re-allocates the same sizes.
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
    uint64_t keep = UINT64_MAX;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  return c;
}

CudaContext::~CudaContext() {
  cudaSetDevice(device_);
  for (void* p : staging_) {
    if (p != nullptr) cudaFreeAsync(p, stream_);
  }
  for (auto& [host, dev] : constants_) cudaFreeAsync(dev, stream_);
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

bool CudaContext::Record(cudaError_t e) {
  if (e != cudaSuccess && error_ == cudaSuccess) error_ = e;
  return e == cudaSuccess;
}

bool CudaContext::Use() { return !failed() && Record(cudaSetDevice(device_)); }

void* CudaContext::Alloc(size_t bytes) {
  if (bytes == 0 || !Use()) return nullptr;
  void* p = nullptr;
  return Record(cudaMallocAsync(&p, bytes, stream_)) ? p : nullptr;
}

void CudaContext::Free(void* p) {  // also after an error: memory goes back to the pool
  if (p != nullptr && cudaSetDevice(device_) == cudaSuccess) Record(cudaFreeAsync(p, stream_));
}

void CudaContext::Upload(void* dst, const void* host, size_t bytes) {
  if (bytes == 0 || !Use()) return;
  Record(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_));
}

void CudaContext::Download(void* host, const void* src, size_t bytes) {
  if (bytes == 0 || !Use()) return;
  if (Record(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_))) {
    Record(cudaStreamSynchronize(stream_));
  }
}

void CudaContext::Copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || !Use()) return;
  Record(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

const void* CudaContext::Stage(int slot, const void* host, size_t bytes) {
  if (failed() || slot < 0 || slot >= kStagingSlots) return nullptr;
  if (staging_bytes_[slot] < bytes) {
    Free(staging_[slot]);
    const size_t want = std::max<size_t>({bytes, 2 * staging_bytes_[slot], 4096});
    staging_[slot] = Alloc(want);
    staging_bytes_[slot] = staging_[slot] != nullptr ? want : 0;
    if (staging_[slot] == nullptr) return nullptr;
  }
  // A pageable source is copied before cudaMemcpyAsync returns; stream order keeps the previous
  // user of this slot ahead of the overwrite.
  Upload(staging_[slot], host, bytes);
  return failed() ? nullptr : staging_[slot];
}

const float* CudaContext::Constant(const float* host, size_t n) {
  auto it = constants_.find(host);
  if (it != constants_.end()) return it->second;
  auto* dev = static_cast<float*>(Alloc(n * sizeof(float)));
  if (dev == nullptr) return nullptr;
  Upload(dev, host, n * sizeof(float));
  constants_[host] = dev;
  return dev;
}

Status CudaContext::Sync() {
  cudaError_t e = cudaSetDevice(device_);  // waits also after an error: work may be in flight
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
  Record(e);
  const cudaError_t first = error_;
  if (!IsStickyCudaError(first)) error_ = cudaSuccess;
  return CudaStatus(first, "cuda:" + std::to_string(device_));
}

}  // namespace gem::cuda
