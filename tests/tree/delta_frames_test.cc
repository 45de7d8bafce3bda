// Copyright the gem authors. Format version 2's frames (docs/DELTA_FORMAT.md): tensors split into
// many frames rebuild bit for bit whatever the number of threads that decode them, prefetched or
// not; the file does not depend on the writer's threads; damaged frame tables are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/safetensors.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;
using testing::TreeFixture;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class DeltaFramesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = SafetensorsSet::Open(TreeFixture("base"));
    auto f = SafetensorsSet::Open(TreeFixture("ft_math"));
    auto h = SafetensorsSet::Open(TreeFixture("ft_chat_f16"));
    ASSERT_TRUE(b.ok() && f.ok() && h.ok());
    base_ = std::move(b).value();
    ft_ = std::move(f).value();
    f16_ = std::move(h).value();
  }
  // Writes `ft` in `form` with small frames (777 elements: many per tensor, the last partial),
  // lossless tensors as "xor" (the "ulp" encoding's frames: delta_ulp_test.cc).
  std::string Write(const SafetensorsSet& ft, DeltaForm form, const std::string& name,
                    int threads = 1, uint32_t frame_elements = 777) {
    DeltaWriteOptions o;
    o.fast_apply = false;
    o.frame_elements = frame_elements;
    o.threads = threads;
    const std::string path = dir_ / name;
    auto s = WriteDelta(*base_, ft, form, path, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return path;
  }
  std::unique_ptr<DeltaFile> Open(const std::string& path, int threads) {
    auto d = DeltaFile::Open(path, DeltaReadOptions{.threads = threads});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : nullptr;
  }
  // Every stored tensor applied by `d` equals the fine-tune's f32 values bit for bit.
  void ExpectExact(const DeltaFile& d, const SafetensorsSet& ft) {
    for (const DeltaTensor& t : d.tensors()) {
      auto base = base_->ReadF32(t.name);
      auto want = ft.ReadF32(t.name);
      ASSERT_TRUE(base.ok() && want.ok()) << t.name;
      std::vector<float> out(want->size(), -1.0f);
      ASSERT_TRUE(d.Apply(t, base->data(), out.data()).ok()) << t.name;
      ASSERT_EQ(0, std::memcmp(out.data(), want->data(), out.size() * 4)) << t.name;
      // In place (out aliases base), as the header allows.
      ASSERT_TRUE(d.Apply(t, base->data(), base->data()).ok()) << t.name;
      ASSERT_EQ(0, std::memcmp(base->data(), want->data(), out.size() * 4)) << t.name;
      // The stored words (what typed bf16/f16 bases install), through the same frames.
      const auto b = base_->Find(t.name), f = ft.Find(t.name);
      std::vector<uint8_t> raw(3, 0xAB);  // a reused buffer's old bytes must not leak through
      ASSERT_TRUE(d.ReconstructRaw(t, b.file->Bytes(*b.info), &raw).ok()) << t.name;
      const auto want_raw = f.file->Bytes(*f.info);
      ASSERT_EQ(raw.size(), want_raw.size()) << t.name;
      ASSERT_EQ(0, std::memcmp(raw.data(), want_raw.data(), raw.size())) << t.name;
    }
  }
  TempDir dir_;
  std::unique_ptr<SafetensorsSet> base_, ft_, f16_;
};

TEST_F(DeltaFramesTest, ManyFramesRebuildExactlyOnAnyNumberOfThreads) {
  const std::string path = Write(*ft_, DeltaForm::kXor, "math.xor");
  for (int threads : {1, 2, 3, 8}) {
    SCOPED_TRACE(threads);
    auto d = Open(path, threads);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->version(), 2u);
    ExpectExact(*d, *ft_);
    // The stored bytes too (registration's lossless check and delta checkpoints use them).
    for (const DeltaTensor& t : d->tensors()) {
      const auto b = base_->Find(t.name), f = ft_->Find(t.name);
      std::vector<uint8_t> raw;
      ASSERT_TRUE(d->ReconstructRaw(t, b.file->Bytes(*b.info), &raw).ok());
      const auto want = f.file->Bytes(*f.info);
      ASSERT_EQ(raw.size(), want.size());
      ASSERT_EQ(0, std::memcmp(raw.data(), want.data(), raw.size())) << t.name;
    }
  }
  // The raw encoding (an f16 fine-tune of the bf16 base) is framed the same way.
  auto d16 = Open(Write(*f16_, DeltaForm::kXor, "chat.xor"), 2);
  ASSERT_TRUE(d16);
  ASSERT_FALSE(d16->tensors().empty());
  EXPECT_EQ(d16->tensors()[0].encoding, "raw");
  ExpectExact(*d16, *f16_);
}

TEST_F(DeltaFramesTest, PrefetchedApplyEqualsDecodingOnTheSpot) {
  auto d = Open(Write(*ft_, DeltaForm::kXor, "math.xor"), 2);
  ASSERT_TRUE(d);
  uint64_t want_bytes = 0;
  for (const DeltaTensor& t : d->tensors()) want_bytes += t.numel() * 2;  // bf16 planes
  EXPECT_EQ(d->decoded_bytes(), want_bytes);
  // A budget below the smallest tensor: nothing is decoded.
  uint64_t smallest = want_bytes;
  for (const DeltaTensor& t : d->tensors()) smallest = std::min<uint64_t>(smallest, t.numel() * 2);
  ASSERT_TRUE(d->Prefetch(smallest - 1).ok());
  EXPECT_FALSE(d->prefetched());
  // Half the bytes: some tensors decoded ahead, the others on the spot, the same result.
  ASSERT_TRUE(d->Prefetch(want_bytes / 2).ok());
  EXPECT_GT(d->prefetched_bytes(), 0u);
  EXPECT_LE(d->prefetched_bytes(), want_bytes / 2);
  ExpectExact(*d, *ft_);
  d->ReleasePrefetched();
  ASSERT_TRUE(d->Prefetch(want_bytes).ok());
  EXPECT_EQ(d->prefetched_bytes(), want_bytes);
  ExpectExact(*d, *ft_);
  d->ReleasePrefetched();
  EXPECT_FALSE(d->prefetched());
  ExpectExact(*d, *ft_);
  // The lossy forms hold nothing to decode but their 1-D tensors; Apply is the same either way.
  auto lossy = Open(Write(*ft_, DeltaForm::kInt8, "math.int8"), 2);
  ASSERT_TRUE(lossy);
  auto base = base_->ReadF32(lossy->tensors()[0].name);
  ASSERT_TRUE(base.ok());
  std::vector<std::vector<float>> before;
  for (const DeltaTensor& t : lossy->tensors()) {
    auto b = base_->ReadF32(t.name);
    before.emplace_back(b->size());
    ASSERT_TRUE(lossy->Apply(t, b->data(), before.back().data()).ok());
  }
  ASSERT_TRUE(lossy->Prefetch().ok());
  for (size_t i = 0; i < lossy->tensors().size(); ++i) {
    const DeltaTensor& t = lossy->tensors()[i];
    auto b = base_->ReadF32(t.name);
    std::vector<float> out(b->size());
    ASSERT_TRUE(lossy->Apply(t, b->data(), out.data()).ok());
    ASSERT_EQ(0, std::memcmp(out.data(), before[i].data(), out.size() * 4)) << t.name;
  }
}

TEST_F(DeltaFramesTest, FileBytesDoNotDependOnTheWritersThreads) {
  for (DeltaForm form : {DeltaForm::kXor, DeltaForm::kInt8, DeltaForm::kSign}) {
    const std::string a = Write(*ft_, form, "one", 1), b = Write(*ft_, form, "four", 4);
    EXPECT_EQ(ReadAll(a), ReadAll(b)) << DeltaFormName(form);
  }
}

TEST_F(DeltaFramesTest, OneFrameOrManyRebuildTheSameAndCostLittle) {
  const std::string many = Write(*ft_, DeltaForm::kXor, "many", 1, 777);
  const std::string one = Write(*ft_, DeltaForm::kXor, "one", 1, 1u << 20);
  auto dm = Open(many, 2), d1 = Open(one, 2);
  ASSERT_TRUE(dm && d1);
  ExpectExact(*d1, *ft_);
  // 777-element frames of a 64-wide model cost some compression, not a lot.
  EXPECT_LT(dm->file_bytes(), d1->file_bytes() * 5 / 4);
}

TEST_F(DeltaFramesTest, ZeroFrameElementsIsRefused) {
  DeltaWriteOptions o;
  o.frame_elements = 0;
  auto s = WriteDelta(*base_, *ft_, DeltaForm::kXor, dir_ / "zero", o);
  EXPECT_TRUE(s.status().IsInvalidArgument()) << s.status().ToString();
}

// Damages the first stored tensor's frame table and re-seals the data section's SHA-256, so
// that only the frame checks can catch it.
class DamagedFramesTest : public DeltaFramesTest {
 protected:
  Status OpenWithFrameSize(uint64_t first_frame_size) {
    testing::DeltaBytes f(ReadAll(Write(*ft_, DeltaForm::kXor, "d")));
    const size_t blob = f.Blob(0);
    for (int b = 0; b < 8; ++b) f.bytes[blob + b] = static_cast<char>(first_frame_size >> (8 * b));
    f.Reseal();
    testing::WriteFile(dir_ / "bad", f.bytes);
    auto d = DeltaFile::Open(dir_ / "bad");
    if (!d.ok()) return d.status();
    // Opened: the damage must then show when the tensor is applied.
    const DeltaTensor& t = (*d)->tensors()[0];
    auto base = base_->ReadF32(t.name);
    std::vector<float> out(base->size());
    return (*d)->Apply(t, base->data(), out.data());
  }
};

TEST_F(DamagedFramesTest, FrameOutsideItsBlobIsRefused) {
  Status s = OpenWithFrameSize(uint64_t{1} << 40);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("outside its blob"), std::string::npos) << s.ToString();
}

TEST_F(DamagedFramesTest, FramesThatDoNotFillTheBlobAreRefused) {
  Status s = OpenWithFrameSize(3);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("bad"), std::string::npos) << "names the file: " << s.ToString();
}

}  // namespace
}  // namespace gem
