// Copyright the gem authors. DeviceArena (device_arena.h).
#include "engine/cuda/device_arena.h"

#include <cuda_runtime.h>

#include "engine/cuda/device.h"

namespace gem::cuda {

size_t LayoutArena(std::vector<ArenaTensor>* tensors) {
  size_t off = 0;
  for (ArenaTensor& t : *tensors) {
    t.offset = off;
    off += (t.bytes + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
  }
  return off;
}

DeviceArena::DeviceArena(std::vector<int> devices, std::vector<ArenaTensor> layout, size_t total)
    : devices_(std::move(devices)),
      layout_(std::move(layout)),
      total_(total),
      bases_(devices_.size(), nullptr) {}

DeviceArena::~DeviceArena() {
  for (size_t i = 0; i < devices_.size(); ++i) {
    if (bases_[i] == nullptr) continue;
    cudaSetDevice(devices_[i]);
    cudaFree(bases_[i]);
  }
}

Result<std::unique_ptr<DeviceArena>> DeviceArena::Create(const std::vector<int>& devices,
                                                         std::vector<ArenaTensor> layout,
                                                         size_t total) {
  if (devices.empty()) return Status::InvalidArgument("device arena", "no devices");
  std::unique_ptr<DeviceArena> a(new DeviceArena(devices, std::move(layout), total));
  for (size_t i = 0; i < devices.size(); ++i) {
    GEM_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(devices[i]), "cudaSetDevice"));
    const cudaError_t e = cudaMalloc(&a->bases_[i], total);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // not sticky: clear it
      size_t free = 0, all = 0;
      cudaMemGetInfo(&free, &all);
      return Status::ResourceExhausted("device arena", "cuda:" + std::to_string(devices[i]) +
                                                           " has " + std::to_string(free >> 20) +
                                                           " MiB free, the base needs " +
                                                           std::to_string(total >> 20) + " MiB");
    }
    GEM_RETURN_IF_ERROR(CudaStatus(e, "cudaMalloc"));
  }
  return a;
}

Status DeviceArena::Upload(int member, size_t i, const void* host) {
  if (member < 0 || member >= static_cast<int>(devices_.size()) || i >= layout_.size()) {
    return Status::InvalidArgument("device arena", "no such member or tensor");
  }
  GEM_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(devices_[member]), "cudaSetDevice"));
  return CudaStatus(cudaMemcpy(Tensor(member, i), host, layout_[i].bytes, cudaMemcpyHostToDevice),
                    "upload of " + layout_[i].name);
}

Status DeviceArena::Broadcast(NcclGroup* group, int root) {
  if (group->devices() != devices_) {
    return Status::InvalidArgument("device arena", "the NCCL group has other devices");
  }
  std::vector<void*> ptrs(bases_.begin(), bases_.end());
  return group->Broadcast(root, ptrs, total_);
}

void* DeviceArena::Tensor(int member, size_t i) const {
  return static_cast<char*>(bases_[member]) + layout_[i].offset;
}

}  // namespace gem::cuda
