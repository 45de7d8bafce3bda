// Copyright the gem authors. Unmerged, batched LoRA on a CUDA device: the model's LinearHook when
// the model runs on a GPU, so one batch mixes sequences of different adapters (Punica/S-LoRA's
// BGMV, kernels/bgmv_shrink.cu and bgmv_expand.cu). The device twin of gem::LoraSlots
// (gem/adapter.h): same slots, same contract, device activations.
//
// Set() uploads an adapter's A and B once (kept while a slot holds it); Apply() gets device
// pointers x and y from the model's forward pass and the host row_adapter span, builds the
// slot table of the (layer, module) with device pointers and runs shrink then expand on the
// model's stream. Apply cannot return an error (LinearHook): the first CUDA error is kept and
// reported by status() (the engine checks it after each forward pass).
//
// Ownership: the slots own their device copies; adapters are caller-owned and must outlive their
// slot. Thread-safety: like LoraSlots, used from the model's owning thread only.
#ifndef GEM_TREE_CUDA_DEVICE_LORA_SLOTS_H_
#define GEM_TREE_CUDA_DEVICE_LORA_SLOTS_H_

#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <vector>

#include "gem/adapter.h"
#include "gem/model.h"
#include "gem/status.h"
#include "kernel_math/lora_math.h"

namespace gem::cuda {

class DeviceLoraSlots final : public LinearHook {
 public:
  // Slots on CUDA device `device`, launching on `stream` (nullptr: the default stream).
  DeviceLoraSlots(int device, cudaStream_t stream, int num_slots = 64);
  ~DeviceLoraSlots() override;
  DeviceLoraSlots(const DeviceLoraSlots&) = delete;
  DeviceLoraSlots& operator=(const DeviceLoraSlots&) = delete;

  // Puts `adapter` in `slot` (nullptr empties it), uploading it the first time. InvalidArgument
  // for a slot out of range; ResourceExhausted / Unavailable from CUDA.
  Status Set(int slot, const LoraAdapter* adapter);
  int num_slots() const { return static_cast<int>(slots_.size()); }

  // LinearHook, on device memory: for each row i with row_adapter[i] naming a filled slot whose
  // adapter adapts (layer, module), y[i] += scale * B (A x[i]).
  void Apply(int layer, std::string_view module, const float* x, int rows, int in_features,
             float* y, int out_features, std::span<const int32_t> row_adapter) const override;

  // OK, or the first CUDA error any Apply met (then the forward pass's results are wrong).
  Status status() const;

 private:
  struct DeviceModule {
    float* a = nullptr;  // [rank, in]
    float* b = nullptr;  // [out, rank]
  };
  struct DeviceAdapter {
    std::map<const LoraModule*, DeviceModule> modules;
  };
  // Grows a device scratch buffer to `bytes` (stream-ordered).
  void* Scratch(int which, size_t bytes) const;
  void Record(cudaError_t e) const;

  int device_;
  cudaStream_t stream_;
  std::vector<const LoraAdapter*> slots_;
  std::map<const LoraAdapter*, DeviceAdapter> uploaded_;
  mutable void* scratch_[3] = {nullptr, nullptr, nullptr};  // slot table, row slots, v
  mutable size_t scratch_bytes_[3] = {0, 0, 0};
  mutable cudaError_t first_error_ = cudaSuccess;
};

}  // namespace gem::cuda

#endif  // GEM_TREE_CUDA_DEVICE_LORA_SLOTS_H_
