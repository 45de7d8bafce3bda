// Copyright the gem authors. DeviceLoraSlots (device_lora_slots.h).
#include "tree/cuda/device_lora_slots.h"

#include <algorithm>

#include "bgmv_expand.cuh"
#include "bgmv_shrink.cuh"
#include "engine/cuda/device.h"

namespace gem::cuda {

DeviceLoraSlots::DeviceLoraSlots(int device, cudaStream_t stream, int num_slots)
    : device_(device), stream_(stream), slots_(std::max(num_slots, 0), nullptr) {}

DeviceLoraSlots::~DeviceLoraSlots() {
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  for (auto& [adapter, d] : uploaded_) {
    for (auto& [m, dm] : d.modules) {
      cudaFree(dm.a);
      cudaFree(dm.b);
    }
  }
  for (void* p : scratch_) cudaFree(p);
}

Status DeviceLoraSlots::Set(int slot, const LoraAdapter* adapter) {
  if (slot < 0 || slot >= num_slots()) {
    return Status::InvalidArgument("LoRA slot " + std::to_string(slot) + " out of range [0, " +
                                   std::to_string(num_slots()) + ")");
  }
  if (adapter != nullptr && !uploaded_.count(adapter)) {
    GEM_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device_), "cudaSetDevice"));
    DeviceAdapter d;
    for (const LoraModule& m : adapter->modules()) {
      DeviceModule dm;
      const size_t a_bytes = m.a.size() * sizeof(float), b_bytes = m.b.size() * sizeof(float);
      Status st = CudaStatus(cudaMalloc(&dm.a, a_bytes), "cudaMalloc (LoRA A)");
      if (st.ok()) st = CudaStatus(cudaMalloc(&dm.b, b_bytes), "cudaMalloc (LoRA B)");
      if (st.ok()) {
        st = CudaStatus(cudaMemcpy(dm.a, m.a.data(), a_bytes, cudaMemcpyHostToDevice), "LoRA A");
      }
      if (st.ok()) {
        st = CudaStatus(cudaMemcpy(dm.b, m.b.data(), b_bytes, cudaMemcpyHostToDevice), "LoRA B");
      }
      d.modules[&m] = dm;  // freed with the rest below on failure
      if (!st.ok()) {
        for (auto& [mm, x] : d.modules) {
          cudaFree(x.a);
          cudaFree(x.b);
        }
        return st.WithContext(adapter->dir());
      }
    }
    uploaded_[adapter] = std::move(d);
  }
  slots_[slot] = adapter;
  return Status::OK();
}

void DeviceLoraSlots::Record(cudaError_t e) const {
  if (e != cudaSuccess && first_error_ == cudaSuccess) first_error_ = e;
}

Status DeviceLoraSlots::status() const { return CudaStatus(first_error_, "LoRA on the device"); }

void* DeviceLoraSlots::Scratch(int which, size_t bytes) const {
  if (scratch_bytes_[which] < bytes) {
    if (scratch_[which] != nullptr) Record(cudaFreeAsync(scratch_[which], stream_));
    scratch_[which] = nullptr;
    const size_t want = std::max(bytes, 2 * scratch_bytes_[which]);
    Record(cudaMallocAsync(&scratch_[which], want, stream_));
    scratch_bytes_[which] = scratch_[which] != nullptr ? want : 0;
  }
  return scratch_[which];
}

void DeviceLoraSlots::Apply(int layer, std::string_view module, const float* x, int rows,
                            int in_features, float* y, int out_features,
                            std::span<const int32_t> row_adapter) const {
  // The slot table of this projection, with device pointers; as LoraSlots decides it.
  std::vector<ops::BgmvSlot> table(slots_.size(), ops::BgmvSlot{nullptr, nullptr, 0, 0.0f});
  int max_rank = 0;
  bool any = false;
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s] == nullptr) continue;
    const LoraModule* m = slots_[s]->Find(layer, module);
    if (m == nullptr || m->in_features != in_features || m->out_features != out_features) continue;
    const DeviceModule& dm = uploaded_.at(slots_[s]).modules.at(m);
    table[s] = ops::BgmvSlot{dm.a, dm.b, m->rank, m->scale};
    max_rank = std::max(max_rank, m->rank);
    any = true;
  }
  if (!any) return;
  std::vector<int32_t> row_slot(rows, -1);
  bool used = false;
  for (int r = 0; r < rows && r < static_cast<int>(row_adapter.size()); ++r) {
    const int32_t s = row_adapter[r];
    if (s >= 0 && s < static_cast<int32_t>(table.size()) && table[s].rank > 0) {
      row_slot[r] = s;
      used = true;
    }
  }
  if (!used) return;
  Record(cudaSetDevice(device_));
  auto* dtable = static_cast<ops::BgmvSlot*>(Scratch(0, table.size() * sizeof(ops::BgmvSlot)));
  auto* dslot = static_cast<int32_t*>(Scratch(1, row_slot.size() * sizeof(int32_t)));
  auto* dv = static_cast<float*>(Scratch(2, static_cast<size_t>(rows) * max_rank * sizeof(float)));
  if (first_error_ != cudaSuccess) return;
  // Pageable sources: each copy has read its source when it returns, so the host vectors may go.
  Record(cudaMemcpyAsync(dtable, table.data(), table.size() * sizeof(ops::BgmvSlot),
                         cudaMemcpyHostToDevice, stream_));
  Record(cudaMemcpyAsync(dslot, row_slot.data(), row_slot.size() * sizeof(int32_t),
                         cudaMemcpyHostToDevice, stream_));
  const int n = static_cast<int>(table.size());
  Record(gem_cuda_bgmv_shrink(x, rows, in_features, dslot, dtable, n, max_rank, dv, stream_));
  Record(gem_cuda_bgmv_expand(dv, rows, out_features, dslot, dtable, n, max_rank, y, stream_));
}

}  // namespace gem::cuda
