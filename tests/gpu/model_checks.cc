// Copyright the gem authors. Checks on real weights: every matrix of the SmolLM2 slice
// (SmolLM2-135M-Instruct's first layers, dequantised from its Q4_1/Q8_0 GGUF as the engine loads
// it), multiplied on the device by activations of the model's own scale, against the CPU backend:
// real shapes (the 49152 x 576 head included) and real weight distributions.
#include <dirent.h>

#include <cmath>
#include <cstring>
#include <string>

#include "engine/cuda/device_arena.h"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/nccl_group.h"
#include "engine/gemm.h"
#include "gem/backend.h"
#include "gem/model.h"
#include "gpu/check.h"
#include "gpu/typed_weights.h"
#include "kernel_math/engine_math.h"

namespace gem::gpucheck {
namespace {

// The first .gguf file in `dir`, or "".
std::string FindGguf(const std::string& dir) {
  std::string found;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") {
        found = dir + "/" + n;
        break;
      }
    }
    closedir(d);
  }
  return found;
}

Outcome SliceMatmuls(const Env& env) {
  if (env.smollm2_slice.empty()) return NotRun("no --smollm2-slice (the bundle has one)");
  const std::string path = FindGguf(env.smollm2_slice);
  if (path.empty()) return Fail("no .gguf in " + env.smollm2_slice);
  LoadOptions lo;
  lo.load_tokenizer = false;
  lo.weights = "f32";  // the slice dequantised as a whole (BaseTensor: f32 tensors)
  lo.threads = env.cpu_threads;
  auto model = Model::Load(path, lo);
  if (!model.ok()) return Fail(model.status().ToString());
  const bool cpu_exact = CpuMatmulIsExact();
  BackendContext ctx;
  ctx.threads = env.cpu_threads;
  std::mt19937 rng(env.seed + 300);
  Diff d;
  int matrices = 0;
  const int m = 7;  // rows: a few sequences' worth
  for (const TensorDesc& t : (*model)->Tensors()) {
    if (t.shape.size() != 2) continue;
    const int n = static_cast<int>(t.shape[0]), k = static_cast<int>(t.shape[1]);
    const float* w = (*model)->BaseTensor(t.name);
    const auto x = RandomFloats(static_cast<size_t>(m) * k, rng);
    std::vector<float> wv(w, w + static_cast<size_t>(n) * k);
    DeviceArray<float> dx(x), dw(wv), dy(static_cast<size_t>(m) * n);
    CudaOk(gem_cuda_matmul(dx.get(), dw.get(), ops::kWeightF32, dy.get(), m, n, k, false, nullptr),
           "gem_cuda_matmul");
    const auto got = dy.Download();
    std::vector<float> cpu(got.size());
    CpuMatmul(&ctx, x.data(), w, ops::kWeightF32, cpu.data(), m, n, k, false);
    d.Add(got.data(), cpu.data(), got.size());
    ++matrices;
  }
  const std::string detail = std::to_string(matrices) + " matrices of " +
                             path.substr(path.rfind('/') + 1) + " vs CPU backend (" +
                             GemmKernelName() + "): " + d.Summary();
  const bool ok = cpu_exact ? d.differing == 0 : d.max_rel <= 1e-5;
  return ok && matrices > 0 ? Pass(detail) : Fail(detail);
}

// The base read from disk once, uploaded to GPU 0 and broadcast to every GPU by NCCL as one
// arena: every tensor arrives bit for bit on every GPU.
Outcome SliceBroadcast(const Env& env) {
  if (env.smollm2_slice.empty()) return NotRun("no --smollm2-slice (the bundle has one)");
  Result<std::string> version = cuda::NcclVersion();
  if (!version.ok()) return NotRun(version.status().ToString());
  const std::string path = FindGguf(env.smollm2_slice);
  LoadOptions lo;
  lo.load_tokenizer = false;
  lo.weights = "f32";  // the slice dequantised as a whole (BaseTensor: f32 tensors)
  auto model = Model::Load(path, lo);
  if (!model.ok()) return Fail(model.status().ToString());
  std::vector<cuda::ArenaTensor> layout;
  std::vector<const float*> host;
  for (const TensorDesc& t : (*model)->Tensors()) {
    layout.push_back({t.name, static_cast<size_t>(t.numel()) * sizeof(float)});
    host.push_back((*model)->BaseTensor(t.name));
  }
  const size_t total = cuda::LayoutArena(&layout);
  int count = 0;
  CudaOk(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  std::vector<int> devices;
  for (int d = 0; d < count; ++d) devices.push_back(d);
  auto group = cuda::NcclGroup::Create(devices);
  if (!group.ok()) return Fail(group.status().ToString());
  auto arena = cuda::DeviceArena::Create(devices, layout, total);
  if (!arena.ok()) return Fail(arena.status().ToString());
  for (size_t i = 0; i < layout.size(); ++i) {
    if (Status st = (*arena)->Upload(0, i, host[i]); !st.ok()) return Fail(st.ToString());
  }
  if (Status st = (*arena)->Broadcast(group->get(), 0); !st.ok()) return Fail(st.ToString());
  size_t wrong = 0;
  std::vector<float> back;
  for (int d = 0; d < count; ++d) {
    CudaOk(cudaSetDevice(d), "cudaSetDevice");
    for (size_t i = 0; i < layout.size(); ++i) {
      back.resize(layout[i].bytes / sizeof(float));
      CudaOk(
          cudaMemcpy(back.data(), (*arena)->Tensor(d, i), layout[i].bytes, cudaMemcpyDeviceToHost),
          "D2H");
      wrong += std::memcmp(back.data(), host[i], layout[i].bytes) != 0;
    }
  }
  CudaOk(cudaSetDevice(0), "cudaSetDevice");
  const std::string detail = std::to_string(layout.size()) + " tensors (" +
                             std::to_string(total >> 20) + " MiB, f32) to " +
                             std::to_string(count) + " GPU(s): " + std::to_string(wrong) +
                             " tensor copies differ";
  return wrong == 0 ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddModelChecks(std::vector<Check>* out) {
  out->push_back({"model.smollm2_slice.matmuls", SliceMatmuls});
  out->push_back({"model.smollm2_slice.broadcast", SliceBroadcast});
}

}  // namespace gem::gpucheck
