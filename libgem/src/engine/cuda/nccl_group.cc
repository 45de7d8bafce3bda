// Copyright the gem authors. NcclGroup over a run-time loaded NCCL (dlopen): the GPU check
// bundle and CPU-only machines never need libnccl at link time, and NCCL's 200 MB library is
// not copied into static programs.
#include "engine/cuda/nccl_group.h"

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace gem::cuda {
namespace {

// The NCCL entry points we use, resolved once per process.
struct NcclApi {
  void* handle = nullptr;
  std::string error;  // why loading failed
  ncclResult_t (*get_version)(int*) = nullptr;
  const char* (*error_string)(ncclResult_t) = nullptr;
  ncclResult_t (*comm_init_all)(ncclComm_t*, int, const int*) = nullptr;
  ncclResult_t (*comm_destroy)(ncclComm_t) = nullptr;
  ncclResult_t (*group_start)() = nullptr;
  ncclResult_t (*group_end)() = nullptr;
  ncclResult_t (*broadcast)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t,
                            cudaStream_t) = nullptr;
  ncclResult_t (*all_reduce)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                             cudaStream_t) = nullptr;
};

template <typename F>
bool Resolve(NcclApi* api, const char* name, F* fn) {
  *fn = reinterpret_cast<F>(dlsym(api->handle, name));
  if (*fn == nullptr) api->error = std::string("symbol ") + name + " missing from libnccl";
  return *fn != nullptr;
}

const NcclApi& Api() {
  static NcclApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> tried;
    if (const char* env = std::getenv("GEM_NCCL_LIBRARY"); env != nullptr && *env != '\0') {
      tried.push_back(env);
    }
    tried.push_back("libnccl.so.2");
    tried.push_back("/usr/local/cuda/lib64/libnccl.so.2");
    for (const std::string& path : tried) {
      api.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (api.handle != nullptr) break;
    }
    if (api.handle == nullptr) {
      api.error = "cannot load NCCL (tried";
      for (const std::string& p : tried) api.error += " " + p;
      api.error += "; set GEM_NCCL_LIBRARY to libnccl.so.2)";
      return;
    }
    if (!Resolve(&api, "ncclGetVersion", &api.get_version) ||
        !Resolve(&api, "ncclGetErrorString", &api.error_string) ||
        !Resolve(&api, "ncclCommInitAll", &api.comm_init_all) ||
        !Resolve(&api, "ncclCommDestroy", &api.comm_destroy) ||
        !Resolve(&api, "ncclGroupStart", &api.group_start) ||
        !Resolve(&api, "ncclGroupEnd", &api.group_end) ||
        !Resolve(&api, "ncclBroadcast", &api.broadcast) ||
        !Resolve(&api, "ncclAllReduce", &api.all_reduce)) {
      dlclose(api.handle);
      api.handle = nullptr;
    }
  });
  return api;
}

Status NcclError(const NcclApi& api, const char* what, ncclResult_t r) {
  return Status::Unavailable(std::string("NCCL ") + what, api.error_string(r));
}

Status CudaError(const char* what, cudaError_t e) {
  return Status::Unavailable(std::string("CUDA ") + what, cudaGetErrorString(e));
}

}  // namespace

Result<std::string> NcclVersion() {
  const NcclApi& api = Api();
  if (api.handle == nullptr) return Status::NotSupported("nccl", api.error);
  int v = 0;
  if (ncclResult_t r = api.get_version(&v); r != ncclSuccess) {
    return NcclError(api, "ncclGetVersion", r);
  }
  // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

struct NcclGroup::Impl {
  std::vector<int> devices;
  std::vector<ncclComm_t> comms;
  std::vector<cudaStream_t> streams;
};

NcclGroup::NcclGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NcclGroup::~NcclGroup() {
  const NcclApi& api = Api();
  for (size_t i = 0; i < impl_->devices.size(); ++i) {
    cudaSetDevice(impl_->devices[i]);
    if (i < impl_->streams.size() && impl_->streams[i] != nullptr) {
      cudaStreamDestroy(impl_->streams[i]);
    }
    if (i < impl_->comms.size() && impl_->comms[i] != nullptr) api.comm_destroy(impl_->comms[i]);
  }
}

Result<std::unique_ptr<NcclGroup>> NcclGroup::Create(const std::vector<int>& devices) {
  if (devices.empty()) return Status::InvalidArgument("nccl", "no devices to join");
  std::vector<int> sorted = devices;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return Status::InvalidArgument("nccl", "a device is listed twice");
  }
  const NcclApi& api = Api();
  if (api.handle == nullptr) return Status::NotSupported("nccl", api.error);
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    return CudaError("cudaGetDeviceCount", e);
  }
  for (int d : devices) {
    if (d < 0 || d >= count) {
      return Status::InvalidArgument("nccl", "device " + std::to_string(d) + " does not exist (" +
                                                 std::to_string(count) + " CUDA devices)");
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->devices = devices;
  impl->comms.assign(devices.size(), nullptr);
  std::unique_ptr<NcclGroup> group(new NcclGroup(std::move(impl)));
  Impl& g = *group->impl_;
  if (ncclResult_t r =
          api.comm_init_all(g.comms.data(), static_cast<int>(devices.size()), devices.data());
      r != ncclSuccess) {
    g.comms.assign(devices.size(), nullptr);
    return NcclError(api, "ncclCommInitAll", r);
  }
  for (int d : devices) {
    cudaStream_t s = nullptr;
    if (cudaError_t e = cudaSetDevice(d); e != cudaSuccess) return CudaError("cudaSetDevice", e);
    if (cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking); e != cudaSuccess) {
      return CudaError("cudaStreamCreate", e);
    }
    g.streams.push_back(s);
  }
  return group;
}

int NcclGroup::size() const { return static_cast<int>(impl_->devices.size()); }
const std::vector<int>& NcclGroup::devices() const { return impl_->devices; }

namespace {

// Waits for every member's stream.
Status SyncAll(const std::vector<int>& devices, const std::vector<cudaStream_t>& streams) {
  for (size_t i = 0; i < devices.size(); ++i) {
    if (cudaError_t e = cudaSetDevice(devices[i]); e != cudaSuccess) {
      return CudaError("cudaSetDevice", e);
    }
    if (cudaError_t e = cudaStreamSynchronize(streams[i]); e != cudaSuccess) {
      return CudaError("cudaStreamSynchronize", e);
    }
  }
  return Status::OK();
}

}  // namespace

Status NcclGroup::Broadcast(int root, const std::vector<void*>& buffers, size_t bytes) {
  const Impl& g = *impl_;
  if (root < 0 || root >= size()) return Status::InvalidArgument("nccl broadcast", "bad root");
  if (buffers.size() != g.devices.size()) {
    return Status::InvalidArgument("nccl broadcast", "one buffer per member is required");
  }
  if (bytes == 0) return Status::OK();
  const NcclApi& api = Api();
  if (ncclResult_t r = api.group_start(); r != ncclSuccess) {
    return NcclError(api, "ncclGroupStart", r);
  }
  ncclResult_t first = ncclSuccess;
  for (size_t i = 0; i < g.devices.size(); ++i) {
    ncclResult_t r =
        api.broadcast(buffers[root], buffers[i], bytes, ncclChar, root, g.comms[i], g.streams[i]);
    if (r != ncclSuccess && first == ncclSuccess) first = r;
  }
  ncclResult_t end = api.group_end();
  if (first != ncclSuccess) return NcclError(api, "ncclBroadcast", first);
  if (end != ncclSuccess) return NcclError(api, "ncclGroupEnd", end);
  return SyncAll(g.devices, g.streams);
}

Status NcclGroup::AllReduceSum(const std::vector<float*>& buffers, size_t count) {
  const Impl& g = *impl_;
  if (buffers.size() != g.devices.size()) {
    return Status::InvalidArgument("nccl all-reduce", "one buffer per member is required");
  }
  if (count == 0) return Status::OK();
  const NcclApi& api = Api();
  if (ncclResult_t r = api.group_start(); r != ncclSuccess) {
    return NcclError(api, "ncclGroupStart", r);
  }
  ncclResult_t first = ncclSuccess;
  for (size_t i = 0; i < g.devices.size(); ++i) {
    ncclResult_t r = api.all_reduce(buffers[i], buffers[i], count, ncclFloat32, ncclSum, g.comms[i],
                                    g.streams[i]);
    if (r != ncclSuccess && first == ncclSuccess) first = r;
  }
  ncclResult_t end = api.group_end();
  if (first != ncclSuccess) return NcclError(api, "ncclAllReduce", first);
  if (end != ncclSuccess) return NcclError(api, "ncclGroupEnd", end);
  return SyncAll(g.devices, g.streams);
}

}  // namespace gem::cuda
