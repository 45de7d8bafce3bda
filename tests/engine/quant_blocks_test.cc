// Copyright the gem authors. Dequantisation of every ggml block type equals gguf-py's bit for bit
// (tests/fixtures/engine/quant_blocks: blocks and gguf-py's dequantisation of them, written by
// tools/make_quant_fixture.py), and the engine's quantisers round-trip through it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/engine_test_util.h"
#include "engine/gemm_kernels.h"
#include "gem/gguf.h"
#include "gem/weight_types.h"

namespace gem {
namespace {

std::string FixtureGguf() { return testing::FixtureDir("quant_blocks") + "/quant-blocks.gguf"; }

TEST(QuantBlocksTest, DequantisationEqualsGgufPyBitForBit) {
  auto opened = GgufFile::Open(FixtureGguf());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const GgufFile& g = **opened;
  int checked = 0;
  for (const char* name : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "bf16", "f16", "q4_k", "q6_k"}) {
    const GgufTensorInfo* q = g.FindTensor(std::string(name) + ".q");
    const GgufTensorInfo* ref = g.FindTensor(std::string(name) + ".ref");
    ASSERT_NE(q, nullptr) << name;
    ASSERT_NE(ref, nullptr) << name;
    ASSERT_EQ(q->numel(), ref->numel());
    auto type = WeightTypeOfGgml(q->type);
    ASSERT_TRUE(type.ok()) << type.status().ToString();
    EXPECT_STREQ(WeightTypeName(*type), name);
    std::vector<float> got(static_cast<size_t>(q->numel())), want(got.size());
    ASSERT_TRUE(g.ReadF32(*q, got.data()).ok());
    ASSERT_TRUE(g.ReadF32(*ref, want.data()).ok());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      uint32_t a, b;
      std::memcpy(&a, &got[i], 4);
      std::memcpy(&b, &want[i], 4);
      if (a != b && ++differ <= 3) {
        ADD_FAILURE() << name << " element " << i << ": " << got[i] << " vs gguf-py " << want[i];
      }
    }
    EXPECT_EQ(differ, 0u) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 9);
}

TEST(QuantBlocksTest, PackedLayoutKeepsTheBlocks) {
  // The CPU backend's packed layout of the 32-element types gives back the file's blocks.
  auto opened = GgufFile::Open(FixtureGguf());
  ASSERT_TRUE(opened.ok());
  for (const char* name : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}) {
    const GgufTensorInfo* q = (*opened)->FindTensor(std::string(name) + ".q");
    ASSERT_NE(q, nullptr);
    const WeightType t = *WeightTypeOfGgml(q->type);
    const int64_t rows = q->dims[1], cols = q->dims[0];
    std::vector<uint8_t> packed(gemm::PackedBytes(t, rows, cols));
    gemm::PackRows(t, (*opened)->TensorBytes(*q), rows, cols, packed.data());
    const size_t rb = WeightRowBytes(t, cols);
    std::vector<uint8_t> row(rb);
    for (int64_t r = 0; r < rows; ++r) {
      gemm::UnpackPackedRow(t, packed.data(), cols, r, row.data());
      EXPECT_EQ(0, std::memcmp(row.data(), (*opened)->TensorBytes(*q) + rb * r, rb)) << name;
    }
  }
}

TEST(QuantBlocksTest, ReferenceQuantisersRoundTrip) {
  // QuantizeRow then DequantizeRow stays within each type's step of the input.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(512), y(512);
  for (auto& v : x) v = dist(rng);
  for (int t = 0; t < kNumWeightTypes; ++t) {
    const WeightType type = static_cast<WeightType>(t);
    std::vector<uint8_t> q(WeightRowBytes(type, 512));
    QuantizeRow(type, x.data(), 512, q.data());
    DequantizeRow(type, q.data(), 512, y.data());
    double err = 0, norm = 0;
    for (int i = 0; i < 512; ++i) {
      err += (y[i] - x[i]) * (y[i] - x[i]);
      norm += x[i] * x[i];
    }
    const double rel = std::sqrt(err / norm);
    // 4-bit types: about 1/16 of the range per step; 8-bit and the float types far less.
    const double bound = type == WeightType::kF32 ? 0.0 : (WeightTypeBlock(type) > 1 ? 0.12 : 0.01);
    EXPECT_LE(rel, bound) << WeightTypeName(type);
  }
}

}  // namespace
}  // namespace gem
