// Copyright the gem authors. Delta files of format version 1 (one zstd frame per tensor), written
// by the writer of that version (tests/fixtures/delta_v1), still read: the lossless ones rebuild
// their fine-tune bit for bit, the lossy ones apply exactly as a version 2 file of the same
// fine-tune does, prefetched or not.
#include <gtest/gtest.h>

#include <cstring>

#include "gem/delta.h"
#include "gem/safetensors.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;
using testing::TreeFixture;

std::string V1(const std::string& name) {
  return std::string(GEM_SOURCE_DIR) + "/tests/fixtures/delta_v1/" + name + ".gemdelta";
}

std::unique_ptr<DeltaFile> OpenV1(const std::string& name) {
  auto d = DeltaFile::Open(V1(name));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return nullptr;
  EXPECT_EQ((*d)->version(), 1u) << name;
  return std::move(d).value();
}

class DeltaV1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = SafetensorsSet::Open(TreeFixture("base"));
    ASSERT_TRUE(b.ok());
    base_ = std::move(b).value();
  }
  std::unique_ptr<SafetensorsSet> Fine(const std::string& name) {
    auto f = SafetensorsSet::Open(TreeFixture(name));
    EXPECT_TRUE(f.ok());
    return f.ok() ? std::move(f).value() : nullptr;
  }
  // Each stored tensor of `d` applied to the base, in stored order.
  std::vector<std::vector<float>> ApplyAll(const DeltaFile& d) {
    std::vector<std::vector<float>> out;
    for (const DeltaTensor& t : d.tensors()) {
      auto base = base_->ReadF32(t.name);
      EXPECT_TRUE(base.ok()) << t.name;
      out.emplace_back(base->size());
      Status s = d.Apply(t, base->data(), out.back().data());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return out;
  }
  std::unique_ptr<SafetensorsSet> base_;
};

TEST_F(DeltaV1Test, LosslessFilesRebuildTheirFineTunesBitForBit) {
  for (const std::string ft_name : {"ft_code", "ft_chat_f16"}) {
    SCOPED_TRACE(ft_name);
    auto ft = Fine(ft_name);
    auto d = OpenV1(ft_name + ".xor");
    ASSERT_TRUE(ft && d);
    EXPECT_EQ(d->model_digest(), WeightsDigest(*ft));
    EXPECT_EQ(d->base_digest(), WeightsDigest(*base_));
    ASSERT_FALSE(d->tensors().empty());
    for (int pass = 0; pass < 2; ++pass) {  // decoded on the spot, then prefetched
      if (pass == 1) {
        ASSERT_TRUE(d->Prefetch().ok());
      }
      const auto applied = ApplyAll(*d);
      for (size_t i = 0; i < d->tensors().size(); ++i) {
        const DeltaTensor& t = d->tensors()[i];
        auto want = ft->ReadF32(t.name);
        ASSERT_TRUE(want.ok());
        ASSERT_EQ(0, std::memcmp(applied[i].data(), want->data(), want->size() * 4)) << t.name;
        const auto b = base_->Find(t.name), f = ft->Find(t.name);
        std::vector<uint8_t> raw;
        ASSERT_TRUE(d->ReconstructRaw(t, b.file->Bytes(*b.info), &raw).ok());
        const auto bytes = f.file->Bytes(*f.info);
        ASSERT_EQ(raw.size(), bytes.size());
        ASSERT_EQ(0, std::memcmp(raw.data(), bytes.data(), raw.size())) << t.name;
      }
    }
  }
}

TEST_F(DeltaV1Test, LossyFilesApplyAsTheirVersion2Twins) {
  auto ft = Fine("ft_code");
  ASSERT_TRUE(ft);
  TempDir dir;
  for (DeltaForm form : {DeltaForm::kInt8, DeltaForm::kSign}) {
    SCOPED_TRACE(DeltaFormName(form));
    auto old = OpenV1(std::string("ft_code.") + DeltaFormName(form));
    ASSERT_TRUE(old);
    ASSERT_TRUE(WriteDelta(*base_, *ft, form, dir / "v2").ok());
    auto now = DeltaFile::Open(dir / "v2");
    ASSERT_TRUE(now.ok());
    EXPECT_EQ((*now)->version(), 2u);
    ASSERT_EQ(old->tensors().size(), (*now)->tensors().size());
    for (size_t i = 0; i < old->tensors().size(); ++i) {
      EXPECT_EQ(old->tensors()[i].name, (*now)->tensors()[i].name);
      EXPECT_EQ(old->tensors()[i].encoding, (*now)->tensors()[i].encoding);
    }
    EXPECT_EQ(old->error().rel_frobenius, (*now)->error().rel_frobenius);
    const auto a = ApplyAll(*old), b = ApplyAll(**now);
    ASSERT_EQ(a.size(), b.size());
    bool saw_raw = false;
    for (size_t i = 0; i < a.size(); ++i) {
      saw_raw |= old->tensors()[i].encoding == "raw";
      ASSERT_EQ(0, std::memcmp(a[i].data(), b[i].data(), a[i].size() * 4))
          << old->tensors()[i].name;
    }
    EXPECT_TRUE(saw_raw) << "the 1-D norms are stored raw in a lossy form";
  }
}

}  // namespace
}  // namespace gem
