// Copyright the gem authors. The CUDA devices of this machine, and CUDA errors as gem::Status.
//
// ggml aborts on a CUDA error; a daemon must not. At the backend boundary every CUDA error
// becomes a Status: Unavailable naming the call and CUDA's message. Some errors are "sticky"
// (an illegal address, a kernel that trapped or hit an ECC fault): the device's context is
// unusable afterwards and only a new process recovers it, so such a Status is marked fatal
// (IsFatalCudaStatus) and gemd exits non-zero for systemd to restart it.
//
// Thread-safety: all functions may be called from any thread.
#ifndef GEM_ENGINE_CUDA_DEVICE_H_
#define GEM_ENGINE_CUDA_DEVICE_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem::cuda {

// OK for cudaSuccess; else Unavailable("<what>", "<cudaErrorName>: <message>"), prefixed with
// "fatal (sticky) CUDA error" for errors that poison the context.
Status CudaStatus(cudaError_t e, std::string_view what);

// True for errors after which the CUDA context cannot be used again in this process.
bool IsStickyCudaError(cudaError_t e);

// True when `s` came from CudaStatus for a sticky error.
bool IsFatalCudaStatus(const Status& s);

struct DeviceInfo {
  int ordinal = 0;   // the CUDA device number; gemd calls it "cuda:<ordinal>"
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int sm = 0;        // compute capability as major * 10 + minor (90 for sm_90)
  size_t total_bytes = 0;
  int multiprocessors = 0;
};

// The CUDA devices this process can use (CUDA_VISIBLE_DEVICES applies). An empty list when the
// machine has no GPU or no NVIDIA driver: that is a fact, not an error. Unavailable when a
// driver is there but unusable (e.g. older than the CUDA runtime linked in), with CUDA's words.
Result<std::vector<DeviceInfo>> ListDevices();

// "CUDA 13.0 runtime, driver 13.0" / "CUDA 13.0 runtime, no NVIDIA driver".
std::string CudaVersions();

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_DEVICE_H_
