// Copyright the gem authors. The CUDA backend: gem/backend.h's op table filled by the kernels of
// this folder, one table per CUDA device.
//
// This first backend is a staging backend: the transformer's buffers stay in host memory (the
// table's contract today: the model allocates its activations and KV cache on the host), and each
// op copies its inputs to the device, runs its kernel and copies its outputs back; weight matrices
// are uploaded per call. It makes the whole engine (Model::Load with LoadOptions::backend,
// Generate, deltas, LoRA hooks, which all work on host memory) run its arithmetic on the GPU with
// the kernels' numerics, so a model's logits and greedy ids can be checked against the CPU backend;
// it is not the fast path (that needs device-resident weights, KV cache and activations: the
// transformer allocating through the backend; docs/GPU.md).
//
// What runs where: matmul and get_rows for f32, f16 and bf16 weights in the row-major layout, and
// every other op (add_bias, rms_norm, rope, silu_mul, add, attention) on the device. Quantised
// weight types keep the CPU backend's layout (packed_bytes, pack_weight and unpack_row are the CPU
// backend's) and their matmul/get_rows run on the CPU backend. A device that cannot be used (no
// GPU, an error) is never fatal to the caller: an op whose device work fails is computed again on
// the CPU backend (in-place outputs restored first), and the first error stays readable through
// CudaBackendStatus (a sticky error makes every later op of that device run on the CPU).
//
// Results are the kernels' (docs/GPU.md, "Numerics"): close to the CPU backend's but not bit for
// bit, so an engine evaluator keys them under numerics id kCudaNumericsId (cache sharing rule).
//
// Thread-safety: ops of one device are serialised by a per-device lock (several models may share
// a device); ops of different devices run concurrently.
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

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_BACKEND_CUDA_H_
