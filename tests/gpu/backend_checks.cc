// Copyright the gem authors. The whole engine through the CUDA backend's table
// (engine/cuda/backend_cuda.h): each engine fixture model loaded with LoadOptions::backend =
// CudaBackend(0) and with the CPU backend; every prompt's logits at every position compared, and
// greedy generation compared with the CPU's ids and with transformers' (reference.json). The
// backend must not have fallen back to the CPU for any op (quantised matrices excepted: they
// always run on the CPU backend).
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cuda/backend_cuda.h"
#include "gem/generate.h"
#include "gem/model.h"
#include "gpu/check.h"

namespace gem::gpucheck {
namespace {

// The fixtures with a reference.json (tests/fixtures/engine/README.md).
const char* const kFixtures[] = {"llama",   "llama_bf16", "llama_f16", "llama3",
                                 "mistral", "qwen2",      "tiny_gguf", "tiny_gguf_k"};

struct Reference {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> greedy;
};

bool ReadReference(const std::string& path, Reference* r) {
  std::ifstream in(path);
  if (!in) return false;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("prompts") || !j.contains("greedy")) return false;
  r->prompts = j["prompts"].get<std::vector<std::vector<int32_t>>>();
  r->greedy = j["greedy"].get<std::vector<std::vector<int32_t>>>();
  return !r->prompts.empty() && r->prompts.size() == r->greedy.size();
}

Result<std::vector<GenerateResult>> Greedy(Model& model, const Reference& ref) {
  std::vector<GenerateRequest> reqs;
  for (const auto& prompt : ref.prompts) {
    GenerateRequest r;
    r.prompt = prompt;
    r.max_new_tokens = static_cast<int>(ref.greedy[0].size());
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> out;
  GEM_RETURN_IF_ERROR(Generate(model, reqs, {}, &out));
  return out;
}

Outcome FixtureThroughBackend(const Env& env, const std::string& name) {
  const std::string dir = env.fixtures + "/" + name;
  Reference ref;
  if (!ReadReference(dir + "/reference.json", &ref)) {
    return NotRun("no readable " + dir + "/reference.json");
  }
  LoadOptions cpu_lo;
  cpu_lo.threads = env.cpu_threads;
  LoadOptions gpu_lo = cpu_lo;
  gpu_lo.backend = cuda::CudaBackend(0);
  auto cpu = Model::Load(dir, cpu_lo);
  if (!cpu.ok()) return Fail("CPU load: " + cpu.status().ToString());
  auto gpu = Model::Load(dir, gpu_lo);
  if (!gpu.ok()) return Fail("CUDA load: " + gpu.status().ToString());
  const uint64_t fallbacks_before = cuda::CudaBackendFallbacks(0);

  Diff d;
  for (const auto& prompt : ref.prompts) {
    auto want = (*cpu)->Logits(prompt);
    auto got = (*gpu)->Logits(prompt);
    if (!want.ok() || !got.ok()) {
      return Fail("Logits: " + (want.ok() ? got.status() : want.status()).ToString());
    }
    if (got->size() != want->size()) return Fail("logits of different sizes");
    d.Add(got->data(), want->data(), got->size());
  }
  auto want_ids = Greedy(**cpu, ref);
  auto got_ids = Greedy(**gpu, ref);
  if (!want_ids.ok() || !got_ids.ok()) {
    return Fail("Generate: " + (want_ids.ok() ? got_ids.status() : want_ids.status()).ToString());
  }
  int ids_differ_cpu = 0, ids_differ_ref = 0;
  for (size_t p = 0; p < ref.prompts.size(); ++p) {
    ids_differ_cpu += (*got_ids)[p].tokens != (*want_ids)[p].tokens;
    ids_differ_ref += (*got_ids)[p].tokens != ref.greedy[p];
  }
  const Status device = cuda::CudaBackendStatus(0);
  const uint64_t fallbacks = cuda::CudaBackendFallbacks(0) - fallbacks_before;
  const std::string detail =
      "logits vs CPU backend: " + d.Summary() + "; greedy ids: " + std::to_string(ids_differ_cpu) +
      " of " + std::to_string(ref.prompts.size()) + " prompts differ from the CPU's, " +
      std::to_string(ids_differ_ref) + " from transformers'; " + std::to_string(fallbacks) +
      " ops fell back to the CPU" + (device.ok() ? "" : "; device: " + device.ToString());
  const bool ok = device.ok() && fallbacks == 0 && d.max_rel <= 1e-4 && ids_differ_cpu == 0 &&
                  ids_differ_ref == 0;
  return ok ? Pass(detail) : Fail(detail);
}

// The first .gguf file in `dir`, or "".
std::string GgufIn(const std::string& dir) {
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

// SmolLM2-135M-Instruct (the bundle's 6-layer slice, or the whole model with --smollm2) with its
// Q4_1/Q8_0 matrices dequantised to f32 (so that every matmul runs on the device: quantised ones
// would stay on the CPU backend), through the CUDA backend and the CPU backend: real shapes (9
// query heads over 3 kv heads, the 49152-row head). Logits within 1e-3 relative (deeper than the
// fixtures: errors add up over the layers), greedy ids equal.
Outcome SmolLM2ThroughBackend(const std::string& path) {
  LoadOptions cpu_lo;
  cpu_lo.load_tokenizer = false;
  cpu_lo.weights = "f32";
  LoadOptions gpu_lo = cpu_lo;
  gpu_lo.backend = cuda::CudaBackend(0);
  auto cpu = Model::Load(path, cpu_lo);
  if (!cpu.ok()) return Fail("CPU load: " + cpu.status().ToString());
  auto gpu = Model::Load(path, gpu_lo);
  if (!gpu.ok()) return Fail("CUDA load: " + gpu.status().ToString());
  Reference ref;
  ref.prompts = {{1, 9690, 198, 2683, 359, 253, 5356, 5646, 11, 5248, 982, 28},
                 {1, 504, 3458, 282, 4649, 314, 216}};
  ref.greedy = {std::vector<int32_t>(8), std::vector<int32_t>(8)};  // lengths only
  const uint64_t fallbacks_before = cuda::CudaBackendFallbacks(0);
  Diff d;
  for (const auto& prompt : ref.prompts) {
    auto want = (*cpu)->Logits(prompt);
    auto got = (*gpu)->Logits(prompt);
    if (!want.ok() || !got.ok()) {
      return Fail("Logits: " + (want.ok() ? got.status() : want.status()).ToString());
    }
    d.Add(got->data(), want->data(), std::min(got->size(), want->size()));
  }
  auto want_ids = Greedy(**cpu, ref);
  auto got_ids = Greedy(**gpu, ref);
  if (!want_ids.ok() || !got_ids.ok()) {
    return Fail("Generate: " + (want_ids.ok() ? got_ids.status() : want_ids.status()).ToString());
  }
  int differ = 0;
  for (size_t p = 0; p < ref.prompts.size(); ++p) {
    differ += (*got_ids)[p].tokens != (*want_ids)[p].tokens;
  }
  const Status device = cuda::CudaBackendStatus(0);
  const uint64_t fallbacks = cuda::CudaBackendFallbacks(0) - fallbacks_before;
  const std::string detail =
      path.substr(path.rfind('/') + 1) + ", f32: logits vs CPU backend: " + d.Summary() +
      "; greedy ids of " + std::to_string(differ) + " of " + std::to_string(ref.prompts.size()) +
      " prompts differ; " + std::to_string(fallbacks) + " ops fell back to the CPU" +
      (device.ok() ? "" : "; device: " + device.ToString());
  const bool ok = device.ok() && fallbacks == 0 && d.max_rel <= 1e-3 && differ == 0;
  return ok ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddBackendChecks(std::vector<Check>* out) {
  out->push_back({"backend.model.smollm2_slice", [](const Env& env) {
                    if (env.smollm2_slice.empty()) {
                      return NotRun("no --smollm2-slice (the bundle has one)");
                    }
                    const std::string path = GgufIn(env.smollm2_slice);
                    return path.empty() ? Fail("no .gguf in " + env.smollm2_slice)
                                        : SmolLM2ThroughBackend(path);
                  }});
  out->push_back({"backend.model.smollm2", [](const Env& env) {
                    return env.smollm2_full.empty() ? NotRun("no --smollm2 GGUF given")
                                                    : SmolLM2ThroughBackend(env.smollm2_full);
                  }});
  for (const char* name : kFixtures) {
    const std::string n = name;
    out->push_back(
        {"backend.model." + n, [n](const Env& env) { return FixtureThroughBackend(env, n); }});
  }
}

}  // namespace gem::gpucheck
