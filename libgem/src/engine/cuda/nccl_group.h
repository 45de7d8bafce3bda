// Copyright the gem authors. The node's GPUs joined by NCCL: one process owns every local GPU
// and one communicator per GPU (ncclCommInitAll), the layout of a single-node gemd. Used to
// read the base from disk once and broadcast it to every GPU, and (tensor parallel, docs/
// ENGINE.md) to all-reduce partial activations.
//
// NCCL is loaded at run time (dlopen "libnccl.so.2", or the file $GEM_NCCL_LIBRARY names), so
// programs that never use it, and machines that lack it, do not need it: Create() then returns
// NotSupported naming what was tried.
//
// Thread-safety: a NcclGroup is used by one thread at a time. Every collective is issued on
// every member (a grouped call) and waited for before the method returns.
#ifndef GEM_ENGINE_CUDA_NCCL_GROUP_H_
#define GEM_ENGINE_CUDA_NCCL_GROUP_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem::cuda {

// "major.minor.patch" of the NCCL library this process can load; NotSupported naming the
// library paths tried when there is none.
Result<std::string> NcclVersion();

class NcclGroup {
 public:
  // Joins the CUDA devices `devices` (ordinals, distinct, at least one). InvalidArgument for an
  // empty or repeated list; NotSupported without NCCL; Unavailable when CUDA or NCCL fails
  // (the message carries their error strings, e.g. "no CUDA-capable device is detected").
  static Result<std::unique_ptr<NcclGroup>> Create(const std::vector<int>& devices);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  int size() const;
  const std::vector<int>& devices() const;

  // Copies `bytes` bytes from buffers[root] (on devices()[root]) into buffers[i] on every other
  // member: one device pointer per member, each on its own device, non-overlapping. Returns
  // when every copy is done. InvalidArgument for a bad root or buffer count; Unavailable with
  // NCCL's or CUDA's message on failure (the group should then be destroyed).
  Status Broadcast(int root, const std::vector<void*>& buffers, size_t bytes);

  // In place: every buffers[i] (count f32 on member i) becomes the element-wise sum over all
  // members. The tensor-parallel reduction; same errors as Broadcast.
  Status AllReduceSum(const std::vector<float*>& buffers, size_t count);

 private:
  struct Impl;
  explicit NcclGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_NCCL_GROUP_H_
