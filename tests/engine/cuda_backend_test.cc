// Copyright the gem authors. The CUDA backend's table (engine/cuda/backend_cuda.h) where it can
// be tested without a GPU: the table is complete, a model loads and runs through it, and a device
// that cannot be used is reported and never changes a result (every op is then the CPU
// backend's, so logits and greedy ids are bit for bit the CPU backend's). On a machine with a GPU
// the same model runs on it, which gem-gpu-check's backend.model.* checks compare.
#include <gtest/gtest.h>

#include "engine/cuda/backend_cuda.h"
#include "engine/cuda/device.h"
#include "engine/engine_test_util.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace gem::cuda {
namespace {

bool HasGpu() {
  auto d = ListDevices();
  return d.ok() && !d->empty();
}

TEST(CudaBackend, OneCompleteTablePerDevice) {
  EXPECT_EQ(CudaBackend(-1), nullptr);
  EXPECT_EQ(CudaBackend(kMaxBackendDevices), nullptr);
  const Backend* b0 = CudaBackend(0);
  const Backend* b1 = CudaBackend(1);
  ASSERT_NE(b0, nullptr);
  ASSERT_NE(b1, nullptr);
  EXPECT_NE(b0, b1);
  EXPECT_STREQ(b0->name, "cuda");
  for (const Backend* b : {b0, b1}) {
    EXPECT_TRUE(b->packed_bytes && b->pack_weight && b->unpack_row && b->matmul && b->get_rows &&
                b->add_bias && b->rms_norm && b->rope && b->silu_mul && b->add && b->attention &&
                b->weight_alloc && b->weight_free);
  }
  // Different devices, different ops (each table addresses its own device).
  EXPECT_NE(b0->matmul, b1->matmul);
  EXPECT_FALSE(CudaBackendStatus(kMaxBackendDevices).ok());
}

TEST(CudaBackend, WithoutAGpuTheDeviceIsReportedAndResultsAreTheCpuBackends) {
  if (HasGpu()) GTEST_SKIP() << "this machine has a GPU: gem-gpu-check compares the backends";
  const int device = 3;  // a device no other test uses: its counters start at zero
  const Status st = CudaBackendStatus(device);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("cuda"), std::string::npos) << st.ToString();

  for (const char* fixture : {"llama", "llama_bf16", "qwen2", "mistral"}) {
    SCOPED_TRACE(fixture);
    const std::string dir = testing::FixtureDir(fixture);
    LoadOptions lo;
    lo.threads = 1;
    auto cpu = Model::Load(dir, lo);
    lo.backend = CudaBackend(device);
    auto gpu = Model::Load(dir, lo);
    ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
    ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
    const uint64_t before = CudaBackendFallbacks(device);
    const auto ref = testing::LoadReference(dir + "/reference.json");
    for (const auto& prompt : ref.prompts) {
      auto want = (*cpu)->Logits(prompt);
      auto got = (*gpu)->Logits(prompt);
      ASSERT_TRUE(want.ok() && got.ok());
      ASSERT_EQ(*got, *want);  // bit for bit: every op ran on the CPU backend
    }
    std::vector<GenerateRequest> reqs;
    for (const auto& prompt : ref.prompts) {
      GenerateRequest r;
      r.prompt = prompt;
      r.max_new_tokens = static_cast<int>(ref.greedy[0].size());
      r.stop_at_eos = false;
      reqs.push_back(r);
    }
    std::vector<GenerateResult> out;
    ASSERT_TRUE(Generate(**gpu, reqs, {}, &out).ok());
    for (size_t p = 0; p < reqs.size(); ++p) EXPECT_EQ(out[p].tokens, ref.greedy[p]);
    // Every op of the forward passes was counted as fallen back: none was skipped.
    EXPECT_GT(CudaBackendFallbacks(device), before);
  }
  EXPECT_EQ(CudaBackendFallbacks(device + 1), 0u);  // per device
}

TEST(CudaBackend, WithoutAGpuNoWeightIsResidentAndNothingLeaks) {
  if (HasGpu()) GTEST_SKIP() << "this machine has a GPU: gem-gpu-check's backend.resident.*";
  const int device = 5;  // a device no other test uses
  const Backend* b = CudaBackend(device);
  // The device cannot take a weight: the model keeps every matrix on the host path.
  std::vector<float> w(6, 1.0f);
  const Weight f32{WeightType::kF32, w.data(), 2, 3, false};
  EXPECT_EQ(b->weight_alloc(f32), nullptr);
  b->weight_free(nullptr);  // a no-op
  LoadOptions lo;
  lo.threads = 1;
  lo.backend = b;
  auto m = Model::Load(testing::FixtureDir("llama_bf16"), lo);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->resident_weights(), 0u);
  const CudaWeightStats st = CudaBackendWeightStats(device);
  EXPECT_EQ(st.resident_uploads, 0u);
  EXPECT_EQ(st.resident_weights, 0u);
  EXPECT_EQ(st.staged_weight_uploads, 0u);  // no op reached the device
  EXPECT_EQ(CudaBackendWeightStats(-1).resident_uploads, 0u);
}

TEST(CudaBackend, QuantisedAndPackedWeightsAreNeverResident) {
  // Decided before the device is asked: true on any machine.
  const Backend* b = CudaBackend(6);
  std::vector<uint8_t> q(WeightRowBytes(WeightType::kQ8_0, 32) * 2);
  EXPECT_EQ(b->weight_alloc(Weight{WeightType::kQ8_0, q.data(), 2, 32, false}), nullptr);
  std::vector<float> w(64, 0.5f);
  EXPECT_EQ(b->weight_alloc(Weight{WeightType::kF32, w.data(), 2, 32, true}), nullptr);
  EXPECT_EQ(CudaBackendWeightStats(6).resident_uploads, 0u);
}

}  // namespace
}  // namespace gem::cuda
