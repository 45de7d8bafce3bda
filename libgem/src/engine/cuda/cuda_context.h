// Copyright the gem authors. One device's execution context for the CUDA backend: its stream, a
// stream-ordered memory pool (cudaMallocAsync: a forward pass allocates and frees its activations
// without synchronising the device), staging memory for the small host arrays ops take (token
// ids, positions, attention descriptors), and the first error since the last Sync().
//
// The backend table's ops return nothing (gem/backend.h), but a device can fail: every CUDA call
// made through the context records its error, later calls become no-ops once one is recorded, and
// Sync() returns it as a Status (device.h: sticky errors are fatal) - the engine calls Sync() at
// the end of each forward pass.
//
// Ownership: the context owns its stream, staging and constant copies; memory from Alloc() is
// the caller's to Free(). Thread-safety: one thread at a time (the model's owning thread).
#ifndef GEM_ENGINE_CUDA_CUDA_CONTEXT_H_
#define GEM_ENGINE_CUDA_CUDA_CONTEXT_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <memory>

#include "gem/status.h"

namespace gem::cuda {

class CudaContext {
 public:
  // A context on CUDA device `device` (an ordinal). Unavailable (CUDA's message) when the device
  // cannot be used; InvalidArgument when there is no such device.
  static Result<std::unique_ptr<CudaContext>> Create(int device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  bool failed() const { return error_ != cudaSuccess; }

  // Stream-ordered device memory: usable by work issued after this call; nullptr (and the error
  // recorded) when the device is out of memory.
  void* Alloc(size_t bytes);
  void Free(void* p);  // stream-ordered; nullptr is a no-op
  // Copies, in stream order. Download waits for the stream (the host reads the result).
  void Upload(void* dst, const void* host, size_t bytes);
  void Download(void* host, const void* src, size_t bytes);
  void Copy(void* dst, const void* src, size_t bytes);
  // A device copy of `bytes` of host memory for the next kernel(s), in staging slot `slot`
  // (0..kStagingSlots-1): valid until the next Stage() of the same slot. nullptr on error.
  static constexpr int kStagingSlots = 4;
  const void* Stage(int slot, const void* host, size_t bytes);
  // A device copy of a constant host array (RoPE frequencies), uploaded once per host pointer
  // and kept for the context's life. REQUIRES: the host array never changes.
  const float* Constant(const float* host, size_t n);

  // Records `e` (the first error wins); returns whether it was cudaSuccess.
  bool Record(cudaError_t e);
  // Makes this context's device current on the calling thread (a kernel must be launched from
  // its stream's device; searches spread over devices run each on threads of their own). False
  // once an error is recorded: callers then skip their work.
  bool Use();
  // Waits for every operation issued; returns the first error since the last Sync (and clears
  // it unless it is sticky) as a Status.
  Status Sync();

 private:
  explicit CudaContext(int device) : device_(device) {}
  int device_;
  cudaStream_t stream_ = nullptr;
  cudaError_t error_ = cudaSuccess;
  void* staging_[kStagingSlots] = {};
  size_t staging_bytes_[kStagingSlots] = {};
  std::map<const float*, float*> constants_;
};

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_CUDA_CONTEXT_H_
