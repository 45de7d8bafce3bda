// Copyright the gem authors. The CUDA backend: gem/backend.h's op table filled by the kernels of
// this folder, one table per CUDA device.
//
// Weights are resident (gem/backend.h, Backend::weight_alloc): Model::Load places every f32, f16
// and bf16 matrix in device memory once, in its held type (a bf16 checkpoint stays bf16 there),
// and matmul/get_rows read that copy; a candidate's changed tensors (Model::SetTensorOverride,
// which the tree part's WorkingSet calls on every switch) are uploaded when they are set, so a
// switch re-uploads the changed tensors and nothing else. Everything else is still staged: the
// transformer's activations and KV cache are host memory (the table's contract), so each op
// copies its inputs to the device, runs its kernel and copies its outputs back. That is not the
// fast path yet (KV cache and activations in device memory: docs/GPU.md, "Not built").
//
// What runs where: matmul and get_rows for f32, f16 and bf16 weights in the row-major layout, and
// every other op (add_bias, rms_norm, rope, silu_mul, add, attention) on the device. Quantised
// weight types keep the CPU backend's layout (packed_bytes, pack_weight and unpack_row are the CPU
// backend's), are never resident, and their matmul/get_rows run on the CPU backend. A device that
// cannot be used (no GPU, an error) is never fatal to the caller: weight_alloc then returns
// nullptr (the weight is read from host memory, staged per op), an op whose device work fails is
// computed again on the CPU backend from the host weights (in-place outputs restored first), and
// the first error stays readable through CudaBackendStatus (a sticky error makes every later op
// of that device run on the CPU).
//
// Ownership: a resident copy belongs to whoever called weight_alloc (the Model) until it calls
// weight_free; the host weights are kept (the CPU recomputation reads them).
//
// Results are the kernels' (docs/GPU.md, "Numerics"): close to the CPU backend's but not bit for
// bit, so an engine evaluator keys them under numerics id kCudaNumericsId (cache sharing rule).
//
// Thread-safety: ops, weight_alloc and weight_free of one device are serialised by a per-device
// lock (several models may share a device); different devices run concurrently.
#ifndef GEM_ENGINE_CUDA_BACKEND_CUDA_H_
#define GEM_ENGINE_CUDA_BACKEND_CUDA_H_

#include "gem/backend.h"
#include "gem/status.h"

namespace gem::cuda {

// Devices a process can address through CudaBackend: cuda:0 .. cuda:15.
constexpr int kMaxBackendDevices = 16;

// The numerics id of results computed through the CUDA backend (EvalConfig::extra
// "numerics=cuda.v1"): bump it when a kernel's per-element arithmetic changes.
constexpr const char* kCudaNumericsId = "cuda.v1";

// The op table for CUDA device `device` (its name is "cuda"); nullptr when device is outside
// [0, kMaxBackendDevices). The device's context is created by its first op (or status query).
const Backend* CudaBackend(int device);

// OK while device `device`'s ops run on it; otherwise the first error (Unavailable: no such
// device, no driver; a CUDA error naming the call), after which its ops run on the CPU backend
// (for a sticky error: every later op). InvalidArgument for a device outside the range.
Status CudaBackendStatus(int device);

// Ops of device `device` that ran on the CPU backend because their device work failed (not
// counting quantised-weight matmuls, which always do). For checks: 0 on a working GPU.
uint64_t CudaBackendFallbacks(int device);

// Weight traffic of device `device` since the process started (all models on it). Checks read it
// before and after a forward pass: on a working GPU a forward over resident weights adds 0 to
// both upload counts ("uploaded once").
struct CudaWeightStats {
  uint64_t resident_uploads = 0;       // weight_alloc copies made (load, overrides)
  uint64_t staged_weight_uploads = 0;  // weight matrices copied for one op (not resident)
  uint64_t resident_weights = 0;       // copies alive now
  uint64_t resident_bytes = 0;         // their bytes
};
CudaWeightStats CudaBackendWeightStats(int device);

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_BACKEND_CUDA_H_
