// Copyright the gem authors. NCCL over every local GPU: the broadcast that puts the base read
// from disk once on each GPU (from each root), and the all-reduce of tensor parallelism.
// Bandwidth is printed, never asserted.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "engine/cuda/nccl_group.h"
#include "gpu/check.h"

namespace gem::gpucheck {
namespace {

Outcome BroadcastCheck(const Env& env) {
  Result<std::string> version = cuda::NcclVersion();
  if (!version.ok()) return NotRun(version.status().ToString());
  int count = 0;
  CudaOk(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  std::vector<int> devices;
  for (int d = 0; d < count; ++d) devices.push_back(d);
  auto group = cuda::NcclGroup::Create(devices);
  if (!group.ok()) return Fail(group.status().ToString());

  const size_t n = size_t{64} << 18;  // f32 elements: 64 MiB
  std::vector<float> pattern(n);
  for (size_t i = 0; i < n; ++i)
    pattern[i] = static_cast<float>((i * 2654435761u + env.seed) % 1000);
  std::vector<std::unique_ptr<DeviceArray<float>>> bufs;
  std::vector<void*> ptrs;
  for (int d : devices) {
    CudaOk(cudaSetDevice(d), "cudaSetDevice");
    bufs.push_back(std::make_unique<DeviceArray<float>>(n));
    ptrs.push_back(bufs.back()->get());
  }
  std::string detail = std::to_string(count) + " GPU(s), NCCL " + version.value();
  const int roots = count > 1 ? 2 : 1;
  for (int root = 0; root < roots; ++root) {
    for (int d = 0; d < count; ++d) {
      CudaOk(cudaSetDevice(d), "cudaSetDevice");
      if (d == root) {
        bufs[d]->Upload(pattern);
      } else {
        CudaOk(cudaMemset(ptrs[d], 0, n * sizeof(float)), "cudaMemset");
      }
      CudaOk(cudaDeviceSynchronize(), "cudaMemset");
    }
    const auto t0 = std::chrono::steady_clock::now();
    Status st = group.value()->Broadcast(root, ptrs, n * sizeof(float));
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) return Fail(detail + ": " + st.ToString());
    for (int d = 0; d < count; ++d) {
      CudaOk(cudaSetDevice(d), "cudaSetDevice");
      const auto got = bufs[d]->Download();
      if (std::memcmp(got.data(), pattern.data(), n * sizeof(float)) != 0) {
        return Fail(detail + ": GPU " + std::to_string(d) + " did not receive root " +
                    std::to_string(root) + "'s 64 MiB");
      }
    }
    char buf[96];
    std::snprintf(buf, sizeof(buf), "; 64 MiB from GPU %d to all in %.1f ms", root, sec * 1e3);
    detail += buf;
  }
  // All-reduce: buffer d holds (d + 1) * small integers, so the sum is exact.
  std::vector<float*> fptrs;
  for (int d = 0; d < count; ++d) {
    std::vector<float> mine(n);
    for (size_t i = 0; i < n; ++i) mine[i] = static_cast<float>(d + 1) * (pattern[i] / 8);
    CudaOk(cudaSetDevice(d), "cudaSetDevice");
    bufs[d]->Upload(mine);
    fptrs.push_back(bufs[d]->get());
  }
  if (Status st = group.value()->AllReduceSum(fptrs, n); !st.ok()) {
    return Fail(detail + ": " + st.ToString());
  }
  const float factor = static_cast<float>(count * (count + 1) / 2);
  for (int d = 0; d < count; ++d) {
    CudaOk(cudaSetDevice(d), "cudaSetDevice");
    const auto got = bufs[d]->Download();
    for (size_t i = 0; i < n; ++i) {
      if (got[i] != factor * (pattern[i] / 8)) {
        return Fail(detail + ": all-reduce wrong on GPU " + std::to_string(d) + " at " +
                    std::to_string(i));
      }
    }
  }
  CudaOk(cudaSetDevice(0), "cudaSetDevice");
  return Pass(detail + "; all-reduce sum exact");
}

}  // namespace

void AddNcclChecks(std::vector<Check>* out) { out->push_back({"nccl.broadcast", BroadcastCheck}); }

}  // namespace gem::gpucheck
