// Copyright the gem authors. CUDA device discovery and error mapping (device.h).
#include "engine/cuda/device.h"

namespace gem::cuda {
namespace {

constexpr std::string_view kFatalPrefix = "fatal (sticky) CUDA error: ";

std::string Version(int v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace

bool IsStickyCudaError(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
    case cudaErrorContextIsDestroyed:
      return true;
    default:
      return false;
  }
}

Status CudaStatus(cudaError_t e, std::string_view what) {
  if (e == cudaSuccess) return Status::OK();
  std::string msg = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  if (IsStickyCudaError(e)) msg = std::string(kFatalPrefix) + msg;
  return Status::Unavailable(what, msg);
}

bool IsFatalCudaStatus(const Status& s) {
  return !s.ok() && s.ToString().find(kFatalPrefix) != std::string::npos;
}

Result<std::vector<DeviceInfo>> ListDevices() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  int driver = 0;
  cudaDriverGetVersion(&driver);
  if (e == cudaErrorNoDevice || (e == cudaErrorInsufficientDriver && driver == 0)) {
    return std::vector<DeviceInfo>{};
  }
  if (e != cudaSuccess) return CudaStatus(e, "cudaGetDeviceCount");
  std::vector<DeviceInfo> out;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    if (cudaError_t pe = cudaGetDeviceProperties(&p, d); pe != cudaSuccess) {
      return CudaStatus(pe, "cudaGetDeviceProperties");
    }
    out.push_back({d, p.name, p.major * 10 + p.minor, p.totalGlobalMem, p.multiProcessorCount});
  }
  return out;
}

std::string CudaVersions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  return "CUDA " + Version(runtime) + " runtime, " +
         (driver > 0 ? "driver " + Version(driver) : std::string("no NVIDIA driver"));
}

}  // namespace gem::cuda
