// Copyright the gem authors. The resident base on a node's GPUs: every tensor at the same offset
// of one allocation per GPU, so that the base, read from disk once and uploaded to one GPU, is
// copied onto all the others by a single NCCL broadcast of the whole arena (NcclGroup), instead
// of being read and uploaded once per GPU.
//
// Ownership: the arena owns its device allocations (freed by the destructor). Thread-safety:
// one thread at a time.
#ifndef GEM_ENGINE_CUDA_DEVICE_ARENA_H_
#define GEM_ENGINE_CUDA_DEVICE_ARENA_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/nccl_group.h"
#include "gem/status.h"

namespace gem::cuda {

struct ArenaTensor {
  std::string name;
  size_t bytes = 0;
  size_t offset = 0;  // set by Layout: a multiple of kArenaAlign
};

inline constexpr size_t kArenaAlign = 256;  // cudaMalloc's alignment; vector loads never straddle

// Assigns offsets in order, each aligned to kArenaAlign; returns the arena's size.
size_t LayoutArena(std::vector<ArenaTensor>* tensors);

class DeviceArena {
 public:
  // Allocates `total` bytes on each of `devices` (CUDA ordinals, in NcclGroup order).
  // ResourceExhausted naming the device when one has too little memory; Unavailable for other
  // CUDA errors.
  static Result<std::unique_ptr<DeviceArena>> Create(const std::vector<int>& devices,
                                                     std::vector<ArenaTensor> layout, size_t total);
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  const std::vector<int>& devices() const { return devices_; }
  const std::vector<ArenaTensor>& tensors() const { return layout_; }
  size_t bytes() const { return total_; }

  // Copies tensors()[i].bytes bytes from host memory into tensor i on devices()[member].
  Status Upload(int member, size_t i, const void* host);
  // Copies every byte of the arena of devices()[root] onto every other member (one broadcast).
  // REQUIRES: group->devices() == devices().
  Status Broadcast(NcclGroup* group, int root);
  // Tensor i on devices()[member] (a device pointer).
  void* Tensor(int member, size_t i) const;
  void* Base(int member) const { return bases_[member]; }

 private:
  DeviceArena(std::vector<int> devices, std::vector<ArenaTensor> layout, size_t total);
  std::vector<int> devices_;
  std::vector<ArenaTensor> layout_;
  size_t total_ = 0;
  std::vector<void*> bases_;  // one allocation per member
};

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_DEVICE_ARENA_H_
