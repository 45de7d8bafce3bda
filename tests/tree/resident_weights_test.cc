// Copyright the gem authors. Resident weights through the backend table (gem/backend.h,
// Backend::weight_alloc/weight_free), tested on the CPU with a backend whose "device memory" is
// separate host memory: it copies each weight it is handed at load, and its matmul/get_rows read
// only those copies (a weight without one makes the op write NaNs, as a device cannot read host
// memory). The model's host weights are poisoned after load, so its logits equal the CPU
// backend's only if every matmul and embedding lookup reads the resident copy, uploaded once.
// Candidates switched through the tree part's WorkingSet must reach the copies too (the changed
// tensors are uploaded on each switch), and an upload the backend refuses leaves that weight on
// the host path with unchanged results. The CUDA backend implements the same entries with device
// memory; gem-gpu-check's backend.resident.* checks run them on a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "gem/adapter.h"
#include "gem/backend.h"
#include "gem/delta.h"
#include "gem/generate.h"
#include "gem/model.h"
#include "gem/tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;
using testing::TreeFixture;

// The test backend's state: its copies and what it counts.
struct FakeDevice {
  int allocs = 0;      // copies made (weight_alloc calls that returned a handle)
  int frees = 0;       // copies released
  int live = 0;        // copies alive
  int refused = 0;     // weight_alloc calls answered with nullptr
  int host_reads = 0;  // matmul jobs / get_rows calls handed a weight without a copy
  int fail_every = 0;  // > 0: every fail_every-th weight_alloc call returns nullptr
  bool strict = true;  // a weight without a copy gives NaNs (else: read from host memory)
  int calls = 0;
};
FakeDevice g_dev;

struct Copy {
  std::vector<uint8_t> bytes;
};

size_t WeightBytes(const Weight& w) {
  return w.packed ? CpuBackend()->packed_bytes(w.type, w.rows, w.cols)
                  : static_cast<size_t>(w.rows) * WeightRowBytes(w.type, w.cols);
}

void* FakeAlloc(const Weight& w) {
  ++g_dev.calls;
  if (g_dev.fail_every > 0 && g_dev.calls % g_dev.fail_every == 0) {
    ++g_dev.refused;
    return nullptr;
  }
  auto* c = new Copy;
  const auto* p = static_cast<const uint8_t*>(w.data);
  c->bytes.assign(p, p + WeightBytes(w));
  ++g_dev.allocs;
  ++g_dev.live;
  return c;
}

void FakeFree(void* handle) {
  if (handle == nullptr) return;
  delete static_cast<Copy*>(handle);
  ++g_dev.frees;
  --g_dev.live;
}

// The weight as this backend reads it: its copy, or (no copy) nullptr in strict mode.
bool Resolve(const Weight& w, Weight* out) {
  *out = w;
  out->resident = nullptr;
  if (w.resident != nullptr) {
    out->data = static_cast<Copy*>(w.resident)->bytes.data();
    return true;
  }
  ++g_dev.host_reads;
  return !g_dev.strict;
}

void FakeMatmul(const BackendContext* ctx, const float* x, int m, const MatmulJob* jobs, int n) {
  std::vector<Weight> ws(n);
  std::vector<MatmulJob> run;
  for (int j = 0; j < n; ++j) {
    if (Resolve(*jobs[j].w, &ws[j])) {
      run.push_back(MatmulJob{&ws[j], jobs[j].y, jobs[j].accumulate});
    } else {
      std::fill(jobs[j].y, jobs[j].y + static_cast<size_t>(m) * jobs[j].w->rows,
                std::numeric_limits<float>::quiet_NaN());
    }
  }
  if (!run.empty()) CpuBackend()->matmul(ctx, x, m, run.data(), static_cast<int>(run.size()));
}

void FakeGetRows(const BackendContext* ctx, const Weight& w, const int32_t* ids, int m, float* y) {
  Weight r;
  if (Resolve(w, &r)) {
    CpuBackend()->get_rows(ctx, r, ids, m, y);
  } else {
    std::fill(y, y + static_cast<size_t>(m) * w.cols, std::numeric_limits<float>::quiet_NaN());
  }
}

Backend MakeFakeBackend() {
  Backend b = *CpuBackend();
  b.name = "fake-resident";
  b.matmul = FakeMatmul;
  b.get_rows = FakeGetRows;
  b.weight_alloc = FakeAlloc;
  b.weight_free = FakeFree;
  return b;
}
const Backend kFake = MakeFakeBackend();

class ResidentWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override { g_dev = FakeDevice(); }
};

std::unique_ptr<Model> Load(const std::string& dir, const std::string& weights,
                            const Backend* backend) {
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = weights;
  lo.backend = backend;
  auto m = Model::Load(dir, lo);
  EXPECT_TRUE(m.ok()) << dir << " " << weights << ": " << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<std::vector<int32_t>> Prompts(const std::string& dir) {
  // The tree fixtures' prompts sit beside the tree, the engine fixtures' in each model's folder.
  const std::string ref =
      dir == TreeFixture("base") ? TreeFixture("reference.json") : dir + "/reference.json";
  return testing::ReadJson(ref)["prompts"].get<std::vector<std::vector<int32_t>>>();
}

std::vector<std::vector<float>> AllLogits(Model& m, const std::string& dir) {
  std::vector<std::vector<float>> out;
  for (const auto& p : Prompts(dir)) {
    auto lg = m.Logits(p);
    EXPECT_TRUE(lg.ok());
    out.push_back(lg.ok() ? *lg : std::vector<float>{});
  }
  return out;
}

std::vector<std::vector<int32_t>> Greedy(Model& m, const std::string& dir) {
  std::vector<GenerateRequest> reqs;
  for (const auto& p : Prompts(dir)) {
    GenerateRequest r;
    r.prompt = p;
    r.max_new_tokens = 6;
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> res;
  EXPECT_TRUE(Generate(m, reqs, GenerateOptions(), &res).ok());
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : res) out.push_back(r.tokens);
  return out;
}

bool AnyNan(const std::vector<std::vector<float>>& v) {
  for (const auto& row : v) {
    for (float f : row) {
      if (std::isnan(f)) return true;
    }
  }
  return false;
}

int Matrices(const Model& m) {
  int n = 0;
  for (const TensorDesc& t : m.Tensors()) n += t.shape.size() == 2;
  return n;
}

// Overwrites every weight matrix the model holds in host memory with NaN words (0xff bytes: NaN
// in f32, f16 and bf16; garbage scales in the block types). REQUIRES: the model holds its own
// copies (a converted or quantised load), not the checkpoint's read-only mapping.
void PoisonHostMatrices(Model& m) {
  for (const TensorDesc& t : m.Tensors()) {
    if (t.shape.size() != 2) continue;
    WeightView v;
    ASSERT_TRUE(m.BaseWeight(t.name, &v));
    void* p = const_cast<void*>(v.data);
    if (p == nullptr) {  // packed: not exposed through the view; reach it through the model
      continue;
    }
    std::memset(p, 0xff, v.bytes);
  }
}

std::string EngineFixture(const std::string& name) {
  return std::string(GEM_SOURCE_DIR) + "/tests/fixtures/engine/" + name;
}

struct Case {
  std::string dir;
  const char* weights;  // a load that converts, so the model owns (and we may poison) its bytes
};

TEST_F(ResidentWeightsTest, ForwardPassesReadOnlyTheCopiesMadeAtLoad) {
  for (const Case& c :
       {Case{TreeFixture("base"), "f32"}, Case{TreeFixture("base"), "f16"},
        Case{EngineFixture("llama"), "bf16"}, Case{EngineFixture("qwen2"), "bf16"}}) {
    SCOPED_TRACE(c.dir + " " + c.weights);
    g_dev = FakeDevice();
    auto cpu = Load(c.dir, c.weights, nullptr);
    auto res = Load(c.dir, c.weights, &kFake);
    ASSERT_TRUE(cpu && res);
    EXPECT_EQ(cpu->resident_weights(), 0u) << "the CPU backend holds no copies";
    // Every matrix (the tied head has none of its own) was copied, once.
    ASSERT_EQ(g_dev.allocs, Matrices(*res));
    EXPECT_EQ(res->resident_weights(), static_cast<size_t>(Matrices(*res)));
    const auto want = AllLogits(*cpu, c.dir);
    const auto want_ids = Greedy(*cpu, c.dir);

    PoisonHostMatrices(*res);
    EXPECT_EQ(AllLogits(*res, c.dir), want);  // bit for bit: the same kernels on the same bytes
    EXPECT_EQ(Greedy(*res, c.dir), want_ids);
    EXPECT_EQ(g_dev.host_reads, 0);
    EXPECT_EQ(g_dev.allocs, Matrices(*res)) << "forward passes upload nothing";

    // The poison bites: the same treatment of a CPU model's weights shows in its logits.
    auto victim = Load(c.dir, c.weights, nullptr);
    ASSERT_TRUE(victim);
    PoisonHostMatrices(*victim);
    EXPECT_TRUE(AnyNan(AllLogits(*victim, c.dir)));

    res.reset();
    EXPECT_EQ(g_dev.live, 0) << "the copies are released with the model";
    EXPECT_EQ(g_dev.frees, g_dev.allocs);
  }
}

TEST_F(ResidentWeightsTest, QuantisedWeightsAreCopiedInTheBackendsLayout) {
  // q8_0 is packed in the CPU backend's layout; the copy holds those bytes, which the view does
  // not expose, so the check is the strict backend: a single host read would give NaNs.
  const std::string dir = TreeFixture("base");
  auto cpu = Load(dir, "q8_0", nullptr);
  auto res = Load(dir, "q8_0", &kFake);
  ASSERT_TRUE(cpu && res);
  EXPECT_EQ(res->resident_weights(), static_cast<size_t>(Matrices(*res)));
  EXPECT_EQ(AllLogits(*res, dir), AllLogits(*cpu, dir));
  EXPECT_EQ(g_dev.host_reads, 0);
}

std::unique_ptr<DeltaFile> MakeDelta(const std::string& ft, DeltaForm form, const TempDir& dir,
                                     const std::string& name) {
  auto base = SafetensorsSet::Open(TreeFixture("base"));
  auto fts = SafetensorsSet::Open(TreeFixture(ft));
  EXPECT_TRUE(base.ok() && fts.ok());
  EXPECT_TRUE(WriteDelta(**base, **fts, form, dir / name).ok());
  auto d = DeltaFile::Open(dir / name);
  EXPECT_TRUE(d.ok());
  return d.ok() ? std::move(d).value() : nullptr;
}

int DeltaMatrices(const DeltaFile& d) {
  int n = 0;
  for (const DeltaTensor& t : d.tensors()) n += t.shape.size() == 2;
  return n;
}

TEST_F(ResidentWeightsTest, CandidateSwitchesUploadTheChangedTensorsAndNothingElse) {
  const std::string dir = TreeFixture("base");
  // "stored": the bf16 base read in place from the checkpoint (the deltas' base values come from
  // it), the candidates' tensors in bf16, f16 or f32 working buffers.
  auto cpu = Load(dir, "stored", nullptr);
  auto res = Load(dir, "stored", &kFake);
  ASSERT_TRUE(cpu && res);
  const int base_copies = Matrices(*res);
  ASSERT_EQ(g_dev.allocs, base_copies);
  const auto base_logits = AllLogits(*cpu, dir);
  ASSERT_EQ(AllLogits(*res, dir), base_logits);

  TempDir tmp;
  std::vector<std::unique_ptr<DeltaFile>> deltas;
  deltas.push_back(MakeDelta("ft_math", DeltaForm::kXor, tmp, "math_xor"));
  deltas.push_back(MakeDelta("ft_code", DeltaForm::kXor, tmp, "code_xor"));
  deltas.push_back(MakeDelta("ft_chat_f16", DeltaForm::kXor, tmp, "chat_xor"));
  deltas.push_back(MakeDelta("ft_math", DeltaForm::kInt8, tmp, "math_int8"));  // f32 buffers
  WorkingSet ws_cpu, ws_res;
  // Twice round, so the working set's reused buffers hold another candidate's values before each
  // switch: a stale copy would show.
  for (int round = 0; round < 2; ++round) {
    for (const auto& d : deltas) {
      ASSERT_TRUE(d);
      SCOPED_TRACE(d->path());
      const int before = g_dev.allocs;
      ASSERT_TRUE(ws_cpu.ActivateDelta(cpu.get(), *d).ok());
      ASSERT_TRUE(ws_res.ActivateDelta(res.get(), *d).ok());
      EXPECT_EQ(g_dev.allocs - before, DeltaMatrices(*d)) << "one upload per changed matrix";
      EXPECT_EQ(res->resident_overrides(), static_cast<size_t>(DeltaMatrices(*d)));
      EXPECT_EQ(g_dev.live, base_copies + DeltaMatrices(*d)) << "the previous candidate's freed";
      const auto want = AllLogits(*cpu, dir);
      EXPECT_NE(want, base_logits) << "the candidate must change the output";
      const int after_switch = g_dev.allocs;
      EXPECT_EQ(AllLogits(*res, dir), want);
      EXPECT_EQ(g_dev.allocs, after_switch) << "forward passes upload nothing";
    }
  }
  // Merged LoRA goes through the same overrides.
  auto ad = LoraAdapter::Load(TreeFixture("lora_qv_r4"));
  ASSERT_TRUE(ad.ok());
  ASSERT_TRUE(ws_cpu.ActivateMergedLora(cpu.get(), **ad).ok());
  ASSERT_TRUE(ws_res.ActivateMergedLora(res.get(), **ad).ok());
  EXPECT_GT(res->resident_overrides(), 0u);
  EXPECT_EQ(AllLogits(*res, dir), AllLogits(*cpu, dir));

  ws_res.Deactivate(res.get());
  ws_cpu.Deactivate(cpu.get());
  EXPECT_EQ(res->resident_overrides(), 0u);
  EXPECT_EQ(g_dev.live, base_copies);
  EXPECT_EQ(AllLogits(*res, dir), base_logits) << "the base copies are untouched";
  EXPECT_EQ(g_dev.host_reads, 0);
  res.reset();
  EXPECT_EQ(g_dev.live, 0);
}

TEST_F(ResidentWeightsTest, AWeightTheBackendRefusesStaysOnTheHostPath) {
  const std::string dir = TreeFixture("base");
  g_dev.fail_every = 3;
  g_dev.strict = false;
  auto cpu = Load(dir, "stored", nullptr);
  auto res = Load(dir, "stored", &kFake);
  ASSERT_TRUE(cpu && res);
  ASSERT_GT(g_dev.refused, 0);
  EXPECT_EQ(res->resident_weights(), static_cast<size_t>(Matrices(*res) - g_dev.refused));
  EXPECT_EQ(AllLogits(*res, dir), AllLogits(*cpu, dir));
  EXPECT_GT(g_dev.host_reads, 0) << "the refused weights were read where they lie";

  // An override the backend refuses is read from the caller's buffer as before.
  TempDir tmp;
  auto d = MakeDelta("ft_code", DeltaForm::kInt8, tmp, "code_int8");
  ASSERT_TRUE(d);
  WorkingSet ws_cpu, ws_res;
  ASSERT_TRUE(ws_cpu.ActivateDelta(cpu.get(), *d).ok());
  ASSERT_TRUE(ws_res.ActivateDelta(res.get(), *d).ok());
  EXPECT_EQ(AllLogits(*res, dir), AllLogits(*cpu, dir));

  // And a strict backend shows that the host path was really taken for them.
  g_dev.strict = true;
  EXPECT_TRUE(AnyNan(AllLogits(*res, dir)));
}

}  // namespace
}  // namespace gem
