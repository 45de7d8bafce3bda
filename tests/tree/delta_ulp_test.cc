// Copyright the gem authors. The lossless "ulp" encoding (docs/DELTA_FORMAT.md, version 3): its
// word math is a bijection for every pair of words; a fine-tune whose words mostly move by a
// few ulps is stored "ulp" and rebuilds bit for bit (bf16, f16, f32; zero crossings, large
// jumps, infinities and NaNs; any threads, in place, prefetched, stored words); the writer
// falls back to "xor" where "ulp" does not pay, and damaged ulp frames are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/safetensors.h"
#include "kernel_math/delta_math.h"
#include "tree/ops/delta_ops.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

using testing::TempDir;

TEST(UlpMath, EveryBaseWordAndItsNeighboursRoundTrip) {
  std::mt19937 rng(7);
  for (uint32_t b = 0; b < 65536; ++b) {
    EXPECT_EQ(ops::ulp_encode_word(b, b, 2), 0u);
    for (int k = -300; k <= 300; k += 7) {
      const uint32_t f = (b + static_cast<uint32_t>(k)) & 0xffff;
      const uint32_t z = ops::ulp_encode_word(b, f, 2);
      ASSERT_LE(z, 0xffffu);
      ASSERT_EQ(ops::ulp_decode_word(b, z, 2), f) << b << " " << k;
    }
    for (int r = 0; r < 8; ++r) {
      const uint32_t f = rng() & 0xffff;
      ASSERT_EQ(ops::ulp_decode_word(b, ops::ulp_encode_word(b, f, 2), 2), f) << b << " " << f;
    }
  }
  for (int r = 0; r < 1000000; ++r) {
    const uint32_t b = rng();
    const uint32_t f = r % 2 ? rng() : b + (rng() % 601) - 300;
    ASSERT_EQ(ops::ulp_decode_word(b, ops::ulp_encode_word(b, f, 4), 4), f) << b << " " << f;
  }
}

TEST(UlpMath, AStepOfOneUlpIsASmallCodeOnEitherSign) {
  const float w = 0.0123f;
  for (float v : {w, -w}) {
    const uint32_t b = static_cast<uint32_t>(ops::f32_to_bf16(v));
    // The word one ulp away from zero and the one towards it: the value moves up (code 2, the
    // zigzag of +1) or down (code 1) by one ulp, whichever the sign.
    const uint32_t up = v > 0 ? b + 1 : b - 1, down = v > 0 ? b - 1 : b + 1;
    EXPECT_EQ(ops::ulp_encode_word(b, up, 2), 2u) << v;
    EXPECT_EQ(ops::ulp_encode_word(b, down, 2), 1u) << v;
    EXPECT_GT(ops::ulp_apply_elem(ops::bf16_to_f32(b), 2, ops::kWordBF16), v);
    EXPECT_EQ(ops::ulp_apply_elem(ops::bf16_to_f32(b), 2, ops::kWordBF16), ops::bf16_to_f32(up));
  }
}

TEST(UlpMath, LowBytesOnlyEqualsTheFullApplyWhenHighBytesAreZero) {
  std::mt19937 rng(3);
  const size_t n = 1000;
  for (int kind : {ops::kWordBF16, ops::kWordF16, ops::kWordF32}) {
    std::vector<float> base(n), full(n), low(n);
    std::vector<uint8_t> lo(n), hi(3 * n, 0);
    for (size_t i = 0; i < n; ++i) {
      base[i] = ops::word_to_f32(ops::f32_to_word((rng() % 2000 - 1000) * 1e-4f, kind), kind);
      lo[i] = static_cast<uint8_t>(rng());
    }
    ops::UlpApply(base.data(), lo.data(), hi.data(), n, kind, full.data());
    ops::UlpApplyLow(base.data(), lo.data(), n, kind, low.data());
    EXPECT_EQ(0, std::memcmp(full.data(), low.data(), n * 4)) << kind;
  }
}

// A base and a fine-tune of tensors w0..w2 (bf16, f16, f32) whose values mostly move by 1%, with
// the cases a real fine-tune can hold: weights crossing zero, +-0, some large jumps (high bytes),
// infinities and NaNs; and w3 (bf16) of which one word in ten changes.
class UlpFileTest : public ::testing::Test {
 protected:
  static constexpr int64_t kRows = 96, kCols = 173;  // 16,608 elements: many 777-element frames
  void SetUp() override {
    std::mt19937 rng(11);
    std::normal_distribution<float> w(0.0f, 0.02f), d(0.0f, 2e-4f);
    const size_t n = kRows * kCols;
    std::vector<std::vector<uint8_t>> base(4), ft(4);
    const DType dtypes[4] = {DType::kBF16, DType::kF16, DType::kF32, DType::kBF16};
    const int kinds[4] = {ops::kWordBF16, ops::kWordF16, ops::kWordF32, ops::kWordBF16};
    for (int k = 0; k < 4; ++k) {
      const size_t wb = ops::word_bytes(kinds[k]);
      base[k].resize(n * wb);
      ft[k].resize(n * wb);
      for (size_t i = 0; i < n; ++i) {
        float bv = w(rng), fv = bv + d(rng);
        if (i % 997 == 0) fv = -bv;                      // a large jump: high bytes
        if (i % 1231 == 0) bv = 0.0f, fv = -1e-5f;       // from +0 across zero
        if (i % 1409 == 0) fv = INFINITY;                // to infinity
        if (i == 5) bv = -INFINITY, fv = std::nanf("");  // NaN words are words too
        if (k == 3 && i % 10 != 0) fv = bv;              // w3: one word in ten changes
        uint32_t bw = ops::f32_to_word(bv, kinds[k]), fw = ops::f32_to_word(fv, kinds[k]);
        std::memcpy(base[k].data() + i * wb, &bw, wb);
        std::memcpy(ft[k].data() + i * wb, &fw, wb);
      }
      specs_.push_back({"w" + std::to_string(k), dtypes[k], {kRows, kCols}});
    }
    auto write = [&](const std::string& path, const std::vector<std::vector<uint8_t>>& t) {
      ASSERT_TRUE(WriteSafetensors(path, specs_, [&](size_t i, std::vector<uint8_t>* bytes) {
                    *bytes = t[i];
                    return Status::OK();
                  }).ok());
    };
    write(dir_ / "base.safetensors", base);
    write(dir_ / "ft.safetensors", ft);
    auto b = SafetensorsSet::Open(dir_ / "base.safetensors");
    auto f = SafetensorsSet::Open(dir_ / "ft.safetensors");
    ASSERT_TRUE(b.ok() && f.ok());
    base_ = std::move(b).value();
    ft_ = std::move(f).value();
  }
  std::string Write(const std::string& name, DeltaWriteOptions o = {}) {
    if (o.frame_elements == DeltaWriteOptions().frame_elements) o.frame_elements = 777;
    const std::string path = dir_ / name;
    auto s = WriteDelta(*base_, *ft_, DeltaForm::kXor, path, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return path;
  }
  std::unique_ptr<DeltaFile> Open(const std::string& path, int threads = 2) {
    auto d = DeltaFile::Open(path, DeltaReadOptions{.threads = threads});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : nullptr;
  }
  // Every tensor applied (out of place and in place) and its stored words rebuilt equal the
  // fine-tune's bit for bit.
  void ExpectExact(const DeltaFile& d) {
    ASSERT_EQ(d.tensors().size(), 4u);
    for (const DeltaTensor& t : d.tensors()) {
      auto base = base_->ReadF32(t.name);
      auto want = ft_->ReadF32(t.name);
      ASSERT_TRUE(base.ok() && want.ok()) << t.name;
      std::vector<float> out(want->size(), -1.0f);
      ASSERT_TRUE(d.Apply(t, base->data(), out.data()).ok()) << t.name;
      ASSERT_EQ(0, std::memcmp(out.data(), want->data(), out.size() * 4)) << t.name;
      ASSERT_TRUE(d.Apply(t, base->data(), base->data()).ok()) << t.name;
      ASSERT_EQ(0, std::memcmp(base->data(), want->data(), out.size() * 4)) << t.name;
      const auto b = base_->Find(t.name), f = ft_->Find(t.name);
      std::vector<uint8_t> raw(5, 0xAB);
      ASSERT_TRUE(d.ReconstructRaw(t, b.file->Bytes(*b.info), &raw).ok()) << t.name;
      const auto want_raw = f.file->Bytes(*f.info);
      ASSERT_EQ(raw.size(), want_raw.size()) << t.name;
      ASSERT_EQ(0, std::memcmp(raw.data(), want_raw.data(), raw.size())) << t.name;
    }
  }
  TempDir dir_;
  std::vector<TensorSpec> specs_;
  std::unique_ptr<SafetensorsSet> base_, ft_;
};

TEST_F(UlpFileTest, MostlyMovingWordsAreStoredUlpAndRebuildExactly) {
  const std::string path = Write("ft.ulp");
  for (int threads : {1, 2, 3, 8}) {
    SCOPED_TRACE(threads);
    auto d = Open(path, threads);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->version(), 3u);
    // bf16 and f16 words move by a few ulps; f32 words by thousands (their high bytes are not
    // sparse), so the writer keeps "xor" for that one.
    for (const DeltaTensor& t : d->tensors()) {
      EXPECT_EQ(t.encoding, t.dtype == DType::kF32 || t.name == "w3" ? "xor" : "ulp") << t.name;
    }
    ExpectExact(*d);
  }
  auto d = Open(path);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->Prefetch().ok());
  EXPECT_EQ(d->prefetched_bytes(), d->decoded_bytes());
  ExpectExact(*d);
  d->ReleasePrefetched();
  ASSERT_TRUE(d->Prefetch(d->decoded_bytes() / 2).ok());  // some prefetched, some not
  ExpectExact(*d);
}

TEST_F(UlpFileTest, XorWhereUlpDoesNotPay) {
  // Asked not to, or frames too long for the u16 index: version 2, "xor", the same words.
  DeltaWriteOptions slow;
  slow.fast_apply = false;
  DeltaWriteOptions long_frames;
  long_frames.frame_elements = 65537;
  for (const std::string& path : {Write("slow", slow), Write("long", long_frames)}) {
    auto d = Open(path);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->version(), 2u) << path;
    for (const DeltaTensor& t : d->tensors()) EXPECT_EQ(t.encoding, "xor") << t.name;
    ExpectExact(*d);
  }
  // The same file bytes whatever the writer's threads.
  DeltaWriteOptions four;
  four.threads = 4;
  std::ifstream a(Write("one"), std::ios::binary), b(Write("four", four), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}),
            std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST_F(UlpFileTest, FewChangedWordsStayXor) {
  // w3 changes one word in ten: its xor planes compress well, so it stays "xor" even with
  // fast_apply on, in the same (version 3) file as the ulp tensors.
  auto d = Open(Write("mixed"));
  ASSERT_TRUE(d);
  const DeltaTensor* t = d->Find("w3");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encoding, "xor");
  EXPECT_EQ(d->Find("w0")->encoding, "ulp");
  EXPECT_EQ(d->version(), 3u);
  ExpectExact(*d);
}

// The frame twins of kernels/delta_ulp.cu (ops::UlpApplyFrame on f32 values, UlpApplyFrameWords
// on the stored words), fed each frame of a real ulp file as the file stores it, rebuild what
// DeltaFile::Apply and ReconstructRaw rebuild, bit for bit, out of place and in place; a frame
// whose list is damaged is refused with nothing written.
TEST_F(UlpFileTest, FrameTwinsEqualTheReader) {
  const std::string path = Write("frames");
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = hlen << 8 | static_cast<uint8_t>(bytes[16 + i]);
  const nlohmann::json h = nlohmann::json::parse(bytes.substr(24, hlen));
  const size_t data = (24 + hlen + 63) / 64 * 64;
  auto d = Open(path);
  ASSERT_TRUE(d);
  const size_t n = kRows * kCols, fe = 777, frames = (n + fe - 1) / fe;
  int ulp_tensors = 0;
  size_t listed = 0;
  for (const auto& jt : h["tensors"]) {
    if (jt["encoding"] != "ulp") continue;
    ++ulp_tensors;
    const std::string name = jt["name"];
    const DeltaTensor* t = d->Find(name);
    ASSERT_NE(t, nullptr);
    const int kind = t->dtype == DType::kBF16  ? ops::kWordBF16
                     : t->dtype == DType::kF16 ? ops::kWordF16
                                               : ops::kWordF32;
    const size_t wb = ops::word_bytes(kind);
    const auto* blob =
        reinterpret_cast<const uint8_t*>(bytes.data()) + data + jt["offset"].get<size_t>();
    // The reader's results.
    const auto b = base_->Find(name);
    const auto base_raw = b.file->Bytes(*b.info);
    std::vector<uint8_t> want_raw;
    ASSERT_TRUE(d->ReconstructRaw(*t, base_raw, &want_raw).ok());
    auto base = base_->ReadF32(name);
    ASSERT_TRUE(base.ok());
    std::vector<float> want(n);
    ASSERT_TRUE(d->Apply(*t, base->data(), want.data()).ok());
    // The twins, frame by frame.
    std::vector<uint8_t> words(n * wb, 0xAB), in_place(base_raw.begin(), base_raw.end());
    std::vector<float> vals(n, -1.0f), vals_in_place = *base;
    size_t at = 8 * frames;
    for (size_t f = 0; f < frames; ++f) {
      uint64_t size = 0;
      std::memcpy(&size, blob + 8 * f, 8);
      const size_t first = f * fe, m = std::min(fe, n - first);
      const uint8_t* frame = blob + at;
      listed += (size - m) / ops::ulp_entry_bytes(static_cast<int>(wb));
      ASSERT_TRUE(ops::UlpApplyFrameWords(base_raw.data() + first * wb, frame, size, m, kind,
                                          words.data() + first * wb));
      ASSERT_TRUE(ops::UlpApplyFrameWords(in_place.data() + first * wb, frame, size, m, kind,
                                          in_place.data() + first * wb));
      ASSERT_TRUE(
          ops::UlpApplyFrame(base->data() + first, frame, size, m, kind, vals.data() + first));
      ASSERT_TRUE(ops::UlpApplyFrame(vals_in_place.data() + first, frame, size, m, kind,
                                     vals_in_place.data() + first));
      at += size;
    }
    ASSERT_EQ(at, jt["size"].get<size_t>()) << name;
    EXPECT_EQ(0, std::memcmp(words.data(), want_raw.data(), words.size())) << name;
    EXPECT_EQ(0, std::memcmp(in_place.data(), want_raw.data(), words.size())) << name;
    EXPECT_EQ(0, std::memcmp(vals.data(), want.data(), n * 4)) << name;
    EXPECT_EQ(0, std::memcmp(vals_in_place.data(), want.data(), n * 4)) << name;
    // Damaged copies of frame 0 (first entry index past the frame; two equal indices; a partial
    // entry): refused, nothing written.
    uint64_t size0 = 0;
    std::memcpy(&size0, blob, 8);
    ASSERT_GE(size0, fe + 2 * ops::ulp_entry_bytes(static_cast<int>(wb))) << "two entries";
    const std::vector<uint8_t> good(blob + 8 * frames, blob + 8 * frames + size0);
    for (int damage = 0; damage < 3; ++damage) {
      std::vector<uint8_t> bad = good;
      const size_t e1 = fe + ops::ulp_entry_bytes(static_cast<int>(wb));
      if (damage == 0) bad[fe] = 0xff, bad[fe + 1] = 0x7f;
      if (damage == 1) bad[e1] = bad[fe], bad[e1 + 1] = bad[fe + 1];
      std::vector<uint8_t> out(fe * wb, 0x5A);
      const size_t len = damage == 2 ? bad.size() - 1 : bad.size();
      EXPECT_FALSE(ops::UlpApplyFrameWords(base_raw.data(), bad.data(), len, fe, kind, out.data()))
          << name << " " << damage;
      EXPECT_EQ(out, std::vector<uint8_t>(fe * wb, 0x5A)) << name << " " << damage;
      std::vector<float> vout(fe, 7.0f);
      EXPECT_FALSE(ops::UlpApplyFrame(base->data(), bad.data(), len, fe, kind, vout.data()));
      EXPECT_EQ(vout, std::vector<float>(fe, 7.0f));
    }
  }
  EXPECT_EQ(ulp_tensors, 2);  // w0 (bf16) and w1 (f16)
  EXPECT_GT(listed, 0u) << "the file has high-byte entries to fix up";
}

// Damages the first tensor's first ulp frame (its sparse list) and re-seals the data section's
// SHA-256, so that only the frame checks can catch it.
class DamagedUlpTest : public UlpFileTest {
 protected:
  Status ApplyDamaged(const std::function<void(std::string* frame_list, size_t list_at)>& damage) {
    std::ifstream in(Write("d"), std::ios::binary);
    testing::DeltaBytes f(std::string((std::istreambuf_iterator<char>(in)), {}));
    // The first tensor in the header; its blob: a frame table, then frame 0 = 777 low bytes and
    // the list of (u16 index, high bytes) entries.
    const std::string name = f.header["tensors"][0]["name"];
    const size_t frames = (kRows * kCols + 776) / 777;
    damage(&f.bytes, f.Blob(0) + 8 * frames + 777);
    f.Reseal();
    testing::WriteFile(dir_ / "bad", f.bytes);
    auto d = DeltaFile::Open(dir_ / "bad");
    if (!d.ok()) return d.status();
    const DeltaTensor* t = (*d)->Find(name);
    auto base = base_->ReadF32(name);
    std::vector<float> out(base->size());
    Status s = (*d)->Apply(*t, base->data(), out.data());
    if (!s.ok()) return s;
    std::vector<uint8_t> raw;
    const auto b = base_->Find(name);
    return (*d)->ReconstructRaw(*t, b.file->Bytes(*b.info), &raw);
  }
};

TEST_F(DamagedUlpTest, IndexPastTheFrameIsRefused) {
  Status s = ApplyDamaged([](std::string* b, size_t at) {
    (*b)[at] = static_cast<char>(0xff);  // the first entry's index: 0x7fff, past 777
    (*b)[at + 1] = static_cast<char>(0x7f);
  });
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("past the frame"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("frame 0"), std::string::npos) << "names the frame: " << s.ToString();
}

TEST_F(DamagedUlpTest, IndicesOutOfOrderAreRefused) {
  Status s = ApplyDamaged([](std::string* b, size_t at) {
    // The second entry's index made equal to the first's.
    const size_t entry = 2 + 1;  // the first tensor in name order is w0, bf16
    (*b)[at + entry] = (*b)[at];
    (*b)[at + entry + 1] = (*b)[at + 1];
  });
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("out of order"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace gem
