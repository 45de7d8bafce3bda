// Copyright the gem authors. Delta files on the fixture fine-tunes: the lossless form rebuilds
// every fine-tune bit for bit, the lossy forms stay within the error they report, unchanged
// tensors are not stored, and damaged files are refused.
#include "gem/delta.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gem/safetensors.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;
using testing::TreeFixture;

std::unique_ptr<SafetensorsSet> OpenSet(const std::string& dir) {
  auto s = SafetensorsSet::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::vector<float> F32(const SafetensorsSet& set, const std::string& name) {
  auto v = set.ReadF32(name);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : std::vector<float>{};
}

class DeltaFixtureTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    base_ = OpenSet(TreeFixture("base"));
    ft_ = OpenSet(TreeFixture(GetParam()));
    ASSERT_TRUE(base_ && ft_);
  }
  std::unique_ptr<DeltaFile> Write(DeltaForm form, DeltaStats* stats) {
    const std::string path = dir_ / (std::string(GetParam()) + "." + DeltaFormName(form));
    auto s = WriteDelta(*base_, *ft_, form, path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    *stats = *s;
    auto d = DeltaFile::Open(path);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : nullptr;
  }
  TempDir dir_;
  std::unique_ptr<SafetensorsSet> base_, ft_;
};

TEST_P(DeltaFixtureTest, LosslessRebuildsEveryTensorBitForBit) {
  DeltaStats stats;
  auto d = Write(DeltaForm::kXor, &stats);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tensors_total(), ft_->size());
  EXPECT_GT(stats.tensors_stored, 0u);
  EXPECT_LT(stats.file_bytes, stats.finetune_bytes) << "the lossless delta should compress";
  std::vector<uint8_t> rebuilt;
  for (const std::string& name : ft_->Names()) {
    const auto f = ft_->Find(name);
    const auto b = base_->Find(name);
    const auto want = f.file->Bytes(*f.info);
    const DeltaTensor* t = d->Find(name);
    if (t == nullptr) {  // not stored: must be unchanged
      if (f.info->dtype == b.info->dtype) {
        ASSERT_EQ(0, std::memcmp(want.data(), b.file->Bytes(*b.info).data(), want.size())) << name;
      } else {  // same values in another dtype: the base's values convert to the exact words
        const std::vector<float> bf = F32(*base_, name), ff = F32(*ft_, name);
        ASSERT_EQ(0, std::memcmp(bf.data(), ff.data(), bf.size() * 4)) << name;
        ASSERT_EQ(f.info->dtype, DType::kF16);
        for (size_t i = 0; i < bf.size(); ++i) {
          const uint16_t h = FloatToHalf(bf[i]);
          ASSERT_EQ(0, std::memcmp(&h, want.data() + 2 * i, 2)) << name << " element " << i;
        }
      }
      continue;
    }
    ASSERT_TRUE(d->ReconstructRaw(*t, b.file->Bytes(*b.info), &rebuilt).ok());
    ASSERT_EQ(rebuilt.size(), want.size()) << name;
    ASSERT_EQ(0, std::memcmp(rebuilt.data(), want.data(), want.size())) << name;
    // The engine path: f32 base in, the fine-tune's exact f32 values out.
    std::vector<float> base_f = F32(*base_, name), out(base_f.size());
    ASSERT_TRUE(d->Apply(*t, base_f.data(), out.data()).ok());
    const std::vector<float> ft_f = F32(*ft_, name);
    ASSERT_EQ(0, std::memcmp(out.data(), ft_f.data(), out.size() * 4)) << name;
  }
  EXPECT_EQ(d->error().max_abs, 0.0);
}

TEST_P(DeltaFixtureTest, LossyFormsStayWithinTheirReportedError) {
  for (DeltaForm form : {DeltaForm::kInt8, DeltaForm::kSign}) {
    SCOPED_TRACE(DeltaFormName(form));
    DeltaStats stats;
    auto d = Write(form, &stats);
    ASSERT_TRUE(d);
    EXPECT_LT(stats.file_bytes, stats.finetune_bytes);
    double max_abs = 0, err2 = 0, ft2 = 0;
    for (const DeltaTensor& t : d->tensors()) {
      std::vector<float> base_f = F32(*base_, t.name), out(base_f.size());
      const std::vector<float> ft_f = F32(*ft_, t.name);
      ASSERT_TRUE(d->Apply(t, base_f.data(), out.data()).ok()) << t.name;
      double t_max = 0, t_err2 = 0, t_ft2 = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        const double e = double(out[i]) - ft_f[i];
        t_max = std::max(t_max, std::fabs(e));
        t_err2 += e * e;
        t_ft2 += double(ft_f[i]) * ft_f[i];
      }
      // Measured now == reported at registration (same arithmetic), per tensor.
      EXPECT_LE(t_max, t.error.max_abs * (1 + 1e-12) + 1e-30) << t.name;
      EXPECT_NEAR(std::sqrt(t_err2 / t_ft2), t.error.rel_frobenius, 1e-9) << t.name;
      if (t.encoding == "raw") EXPECT_EQ(t_max, 0.0) << t.name;
      if (t.encoding == "int8") {
        // Each element is off by at most half a quantisation step of its row.
        const size_t rows = t.shape[0], cols = out.size() / rows;
        for (size_t r = 0; r < rows; ++r) {
          float step = 0;
          for (size_t c = 0; c < cols; ++c)
            step = std::max(step, std::fabs(ft_f[r * cols + c] - base_f[r * cols + c]) / 127.0f);
          for (size_t c = 0; c < cols; ++c)
            ASSERT_LE(std::fabs(out[r * cols + c] - ft_f[r * cols + c]), step * 0.5 * 1.001 + 1e-9)
                << t.name << " row " << r;
        }
      }
      max_abs = std::max(max_abs, t_max);
      err2 += t_err2;
      ft2 += t_ft2;
    }
    EXPECT_LE(max_abs, d->error().max_abs * (1 + 1e-12));
    EXPECT_GT(d->error().max_abs, 0.0);
    EXPECT_LT(d->error().rel_frobenius, 0.05) << "the lossy delta is far from the fine-tune";
    std::printf(
        "[ %s ] %s: %.1f%% of the fine-tune's bytes, max abs err %.3g, rel Frobenius "
        "%.3g (%.3g of the delta)\n",
        GetParam(), DeltaFormName(form), 100.0 * stats.size_fraction(), d->error().max_abs,
        d->error().rel_frobenius, d->error().rel_frobenius_of_delta);
  }
}

INSTANTIATE_TEST_SUITE_P(FineTunes, DeltaFixtureTest,
                         ::testing::Values("ft_math", "ft_code", "ft_chat_f16"));

TEST(Delta, UnchangedTensorsAreNotStored) {
  auto base = OpenSet(TreeFixture("base"));
  auto ft = OpenSet(TreeFixture("ft_code"));  // MLP and norms trained only
  TempDir dir;
  auto s = WriteDelta(*base, *ft, DeltaForm::kXor, dir / "d");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto d = DeltaFile::Open(dir / "d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->Find("model.embed_tokens.weight"), nullptr);
  EXPECT_EQ((*d)->Find("model.layers.0.self_attn.q_proj.weight"), nullptr);
  EXPECT_NE((*d)->Find("model.layers.0.mlp.up_proj.weight"), nullptr);
  EXPECT_LT(s->tensors_stored, s->tensors_total);
}

TEST(Delta, F16FineTuneOfBf16BaseIsStoredRaw) {
  auto base = OpenSet(TreeFixture("base"));
  auto ft = OpenSet(TreeFixture("ft_chat_f16"));
  TempDir dir;
  ASSERT_TRUE(WriteDelta(*base, *ft, DeltaForm::kXor, dir / "d").ok());
  auto d = DeltaFile::Open(dir / "d");
  ASSERT_TRUE(d.ok());
  const DeltaTensor* t = (*d)->Find("model.layers.1.self_attn.k_proj.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encoding, "raw");
  EXPECT_EQ(t->dtype, DType::kF16);
}

TEST(Delta, WeightsDigestIsTheContent) {
  auto base = OpenSet(TreeFixture("base"));
  auto base2 = SafetensorsSet::Open(TreeFixture("base/model.safetensors"));
  auto ft = OpenSet(TreeFixture("ft_math"));
  ASSERT_TRUE(base2.ok());
  EXPECT_EQ(WeightsDigest(*base), WeightsDigest(**base2));
  EXPECT_NE(WeightsDigest(*base), WeightsDigest(*ft));
}

TEST(Delta, RefusesMismatchedTensors) {
  auto base = OpenSet(TreeFixture("base"));
  auto other = OpenSet(TreeFixture("bad_shapes"));
  TempDir dir;
  auto s = WriteDelta(*base, *other, DeltaForm::kXor, dir / "d");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_NE(s.status().message().find("mlp"), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("maybe the wrong base model?"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "d"));
}

class DamagedDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto base = OpenSet(TreeFixture("base"));
    auto ft = OpenSet(TreeFixture("ft_math"));
    ASSERT_TRUE(WriteDelta(*base, *ft, DeltaForm::kXor, dir_ / "d").ok());
    std::ifstream in(dir_ / "d", std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    ASSERT_TRUE(DeltaFile::Open(dir_ / "d").ok());
  }
  Status OpenModified(const std::string& bytes) {
    testing::WriteFile(dir_ / "bad", bytes);
    auto d = DeltaFile::Open(dir_ / "bad");
    return d.ok() ? Status::OK() : d.status();
  }
  TempDir dir_;
  std::string bytes_;
};

TEST_F(DamagedDeltaTest, FlippedDataBitIsCaught) {
  std::string b = bytes_;
  b[b.size() - 100] ^= 0x10;
  Status s = OpenModified(b);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("SHA-256"), std::string::npos) << s.ToString();
}

TEST_F(DamagedDeltaTest, TruncationIsCaught) {
  for (size_t keep : {size_t{0}, size_t{10}, size_t{30}, bytes_.size() / 2, bytes_.size() - 1}) {
    Status s = OpenModified(bytes_.substr(0, keep));
    EXPECT_TRUE(s.IsCorruption()) << keep << ": " << s.ToString();
    EXPECT_NE(s.message().find("bad"), std::string::npos) << "names the file: " << s.ToString();
  }
}

TEST_F(DamagedDeltaTest, BadMagicAndVersionAreCaught) {
  std::string b = bytes_;
  b[0] = 'X';
  EXPECT_TRUE(OpenModified(b).IsCorruption());
  b = bytes_;
  b[8] = 4;  // a version from the future
  Status s = OpenModified(b);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_NE(s.message().find("version 4"), std::string::npos) << s.ToString();
  b = bytes_;
  b[8] = 1;  // a version 2 file claiming to be version 1: its header says otherwise
  EXPECT_TRUE(OpenModified(b).IsCorruption());
}

}  // namespace
}  // namespace gem
