// Copyright the gem authors. Resident weights on the device (gem/backend.h weight_alloc, the CUDA
// backend's WeightAlloc): a model loaded with CudaBackend(0) holds every f32/f16/bf16 matrix in
// device memory from Load() on, so a forward pass uploads no weight ("uploaded once": both upload
// counts of CudaBackendWeightStats unchanged over Logits and Generate) and its logits and greedy
// ids match the CPU backend's; releasing the model releases its device copies. A candidate switch
// (the tree part's WorkingSet: xor deltas in bf16/f16, an int8 delta in f32, a merged LoRA)
// uploads exactly its changed matrices, and the logits follow the candidate as the CPU's do.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cuda/backend_cuda.h"
#include "gem/adapter.h"
#include "gem/delta.h"
#include "gem/generate.h"
#include "gem/model.h"
#include "gem/tree.h"
#include "gpu/check.h"

namespace gem::gpucheck {
namespace {

bool IsFloat(WeightType t) {
  return t == WeightType::kF32 || t == WeightType::kF16 || t == WeightType::kBF16;
}

// Matrices the CUDA backend keeps resident (f32, f16, bf16, row-major).
size_t FloatMatrices(const Model& m) {
  size_t n = 0;
  for (const TensorDesc& t : m.Tensors()) {
    WeightView v;
    n += t.shape.size() == 2 && m.BaseWeight(t.name, &v) && IsFloat(v.type) && v.data != nullptr;
  }
  return n;
}

std::vector<std::vector<int32_t>> ReadPrompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("prompts")) return {};
  return j["prompts"].get<std::vector<std::vector<int32_t>>>();
}

// Logits of every prompt (appended) and greedy ids (6 new tokens each).
Status Run(Model& m, const std::vector<std::vector<int32_t>>& prompts, std::vector<float>* logits,
           std::vector<std::vector<int32_t>>* ids) {
  logits->clear();
  ids->clear();
  std::vector<GenerateRequest> reqs;
  for (const auto& p : prompts) {
    auto lg = m.Logits(p);
    if (!lg.ok()) return lg.status();
    logits->insert(logits->end(), lg->begin(), lg->end());
    GenerateRequest r;
    r.prompt = p;
    r.max_new_tokens = 6;
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> out;
  GEM_RETURN_IF_ERROR(Generate(m, reqs, {}, &out));
  for (const auto& r : out) ids->push_back(r.tokens);
  return Status::OK();
}

std::string Stats(const cuda::CudaWeightStats& a, const cuda::CudaWeightStats& b) {
  return std::to_string(b.resident_uploads - a.resident_uploads) + " resident uploads, " +
         std::to_string(b.staged_weight_uploads - a.staged_weight_uploads) + " staged weights";
}

Outcome FixtureResident(const Env& env, const std::string& name) {
  const std::string dir = env.fixtures + "/" + name;
  const auto prompts = ReadPrompts(dir + "/reference.json");
  if (prompts.empty()) return NotRun("no readable " + dir + "/reference.json");
  LoadOptions cpu_lo;
  cpu_lo.threads = env.cpu_threads;
  LoadOptions gpu_lo = cpu_lo;
  gpu_lo.backend = cuda::CudaBackend(0);
  auto cpu = Model::Load(dir, cpu_lo);
  if (!cpu.ok()) return Fail("CPU load: " + cpu.status().ToString());
  const cuda::CudaWeightStats at_start = cuda::CudaBackendWeightStats(0);
  auto gpu = Model::Load(dir, gpu_lo);
  if (!gpu.ok()) return Fail("CUDA load: " + gpu.status().ToString());
  const cuda::CudaWeightStats loaded = cuda::CudaBackendWeightStats(0);
  const size_t want_resident = FloatMatrices(**gpu);
  const size_t resident = (*gpu)->resident_weights();
  const uint64_t fallbacks_before = cuda::CudaBackendFallbacks(0);

  std::vector<float> want, got;
  std::vector<std::vector<int32_t>> want_ids, got_ids;
  if (Status st = Run(**cpu, prompts, &want, &want_ids); !st.ok()) return Fail(st.ToString());
  if (Status st = Run(**gpu, prompts, &got, &got_ids); !st.ok()) return Fail(st.ToString());
  const cuda::CudaWeightStats after = cuda::CudaBackendWeightStats(0);
  if (got.size() != want.size()) return Fail("logits of different sizes");
  Diff d;
  d.Add(got.data(), want.data(), got.size());
  const uint64_t fallbacks = cuda::CudaBackendFallbacks(0) - fallbacks_before;
  gpu->reset();
  const cuda::CudaWeightStats released = cuda::CudaBackendWeightStats(0);
  const Status device = cuda::CudaBackendStatus(0);

  const bool uploaded_once = loaded.resident_uploads - at_start.resident_uploads == want_resident &&
                             after.resident_uploads == loaded.resident_uploads &&
                             after.staged_weight_uploads == loaded.staged_weight_uploads;
  const std::string detail =
      std::to_string(resident) + " of " + std::to_string(want_resident) +
      " f32/f16/bf16 matrices resident; load: " + Stats(at_start, loaded) +
      "; forward passes: " + Stats(loaded, after) + "; logits vs CPU backend: " + d.Summary() +
      "; greedy ids equal: " + (got_ids == want_ids ? "yes" : "no") + "; " +
      std::to_string(fallbacks) +
      " ops fell back; device copies after release: " + std::to_string(released.resident_weights) +
      " (before load " + std::to_string(at_start.resident_weights) + ")" +
      (device.ok() ? "" : "; device: " + device.ToString());
  const bool ok = device.ok() && resident == want_resident && want_resident > 0 && uploaded_once &&
                  fallbacks == 0 && d.max_rel <= 1e-4 && got_ids == want_ids &&
                  released.resident_weights == at_start.resident_weights;
  return ok ? Pass(detail) : Fail(detail);
}

// A fresh directory, removed with the object.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gem-gpu-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

Outcome DeltaSwitches(const Env& env) {
  const std::string base_dir = env.tree_fixtures + "/base";
  const auto prompts = ReadPrompts(env.tree_fixtures + "/reference.json");
  if (prompts.empty()) return NotRun("no readable " + env.tree_fixtures + "/reference.json");
  TempDir tmp;
  if (tmp.path.empty()) return Fail("mkdtemp failed");
  auto base_set = SafetensorsSet::Open(base_dir);
  if (!base_set.ok()) return Fail(base_set.status().ToString());
  struct Cand {
    const char* ft;
    DeltaForm form;
  };
  std::vector<std::unique_ptr<DeltaFile>> deltas;
  for (const Cand& c : {Cand{"ft_math", DeltaForm::kXor}, Cand{"ft_chat_f16", DeltaForm::kXor},
                        Cand{"ft_math", DeltaForm::kInt8}, Cand{"ft_code", DeltaForm::kXor}}) {
    auto ft = SafetensorsSet::Open(env.tree_fixtures + "/" + c.ft);
    if (!ft.ok()) return Fail(ft.status().ToString());
    const std::string path = tmp.path + "/" + c.ft + "." + DeltaFormName(c.form);
    if (auto st = WriteDelta(**base_set, **ft, c.form, path); !st.ok()) {
      return Fail(st.status().ToString());
    }
    auto d = DeltaFile::Open(path);
    if (!d.ok()) return Fail(d.status().ToString());
    deltas.push_back(std::move(*d));
  }
  auto adapter = LoraAdapter::Load(env.tree_fixtures + "/lora_qv_r4");
  if (!adapter.ok()) return Fail(adapter.status().ToString());

  LoadOptions cpu_lo;
  cpu_lo.threads = env.cpu_threads;
  LoadOptions gpu_lo = cpu_lo;
  gpu_lo.backend = cuda::CudaBackend(0);
  auto cpu = Model::Load(base_dir, cpu_lo);
  auto gpu = Model::Load(base_dir, gpu_lo);
  if (!cpu.ok() || !gpu.ok()) {
    return Fail("load: " + (cpu.ok() ? gpu.status() : cpu.status()).ToString());
  }
  const uint64_t fallbacks_before = cuda::CudaBackendFallbacks(0);
  WorkingSet ws_cpu, ws_gpu;
  Diff d;
  int switches = 0, ids_differ = 0, wrong_uploads = 0, staged = 0;
  // Twice round: the working set's reused buffers hold another candidate before each switch.
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i <= deltas.size(); ++i) {
      const cuda::CudaWeightStats before = cuda::CudaBackendWeightStats(0);
      size_t changed = 0;
      if (i < deltas.size()) {
        for (const DeltaTensor& t : deltas[i]->tensors()) changed += t.shape.size() == 2;
        if (Status st = ws_cpu.ActivateDelta(cpu->get(), *deltas[i]); !st.ok()) {
          return Fail(st.ToString());
        }
        if (Status st = ws_gpu.ActivateDelta(gpu->get(), *deltas[i]); !st.ok()) {
          return Fail(st.ToString());
        }
      } else {
        if (Status st = ws_cpu.ActivateMergedLora(cpu->get(), **adapter); !st.ok()) {
          return Fail(st.ToString());
        }
        if (Status st = ws_gpu.ActivateMergedLora(gpu->get(), **adapter); !st.ok()) {
          return Fail(st.ToString());
        }
        changed = (*gpu)->num_overrides();
      }
      const cuda::CudaWeightStats switched = cuda::CudaBackendWeightStats(0);
      wrong_uploads += switched.resident_uploads - before.resident_uploads != changed ||
                       (*gpu)->resident_overrides() != changed;
      std::vector<float> want, got;
      std::vector<std::vector<int32_t>> want_ids, got_ids;
      if (Status st = Run(**cpu, prompts, &want, &want_ids); !st.ok()) return Fail(st.ToString());
      if (Status st = Run(**gpu, prompts, &got, &got_ids); !st.ok()) return Fail(st.ToString());
      const cuda::CudaWeightStats after = cuda::CudaBackendWeightStats(0);
      staged += static_cast<int>(after.staged_weight_uploads - switched.staged_weight_uploads);
      wrong_uploads += after.resident_uploads != switched.resident_uploads;
      if (got.size() != want.size()) return Fail("logits of different sizes");
      d.Add(got.data(), want.data(), got.size());
      ids_differ += got_ids != want_ids;
      ++switches;
    }
  }
  ws_gpu.Deactivate(gpu->get());
  const uint64_t fallbacks = cuda::CudaBackendFallbacks(0) - fallbacks_before;
  const Status device = cuda::CudaBackendStatus(0);
  const std::string detail =
      std::to_string(switches) +
      " switches (xor bf16/f16, int8, merged LoRA): " + std::to_string(wrong_uploads) +
      " with other than one upload per changed matrix, " + std::to_string(staged) +
      " weights staged in forward passes; logits vs CPU backend: " + d.Summary() +
      "; greedy ids differ for " + std::to_string(ids_differ) + " switches; " +
      std::to_string(fallbacks) + " ops fell back; overrides resident after deactivation: " +
      std::to_string((*gpu)->resident_overrides()) +
      (device.ok() ? "" : "; device: " + device.ToString());
  const bool ok = device.ok() && wrong_uploads == 0 && staged == 0 && ids_differ == 0 &&
                  d.max_rel <= 1e-4 && fallbacks == 0 && (*gpu)->resident_overrides() == 0;
  return ok ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddResidentChecks(std::vector<Check>* out) {
  for (const char* name : {"llama", "llama_bf16", "llama_f16", "qwen2"}) {
    const std::string n = name;
    out->push_back(
        {"backend.resident." + n, [n](const Env& env) { return FixtureResident(env, n); }});
  }
  out->push_back({"backend.resident.delta_switch", DeltaSwitches});
}

}  // namespace gem::gpucheck
