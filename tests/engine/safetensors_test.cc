// Copyright the gem authors. Safetensors reading, including every malformed-file error path.
#include "gem/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace gem {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gem_st_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes header JSON + data bytes as a safetensors file.
  std::string Write(const std::string& name, const std::string& header, const std::string& data,
                    int64_t len_override = -1) {
    std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    uint64_t n = len_override >= 0 ? static_cast<uint64_t>(len_override) : header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
    out << header << data;
    return path;
  }

  static std::string Floats(std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.begin(), s.size());
    return s;
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, ReadsF32F16BF16) {
  std::string data = Floats({1.5f, -2.0f, 3.25f, 0.0f});
  uint16_t h[2] = {FloatToHalf(0.5f), FloatToHalf(-3.0f)};
  uint16_t b[3] = {FloatToBF16(1.0f), FloatToBF16(-0.25f), FloatToBF16(100.0f)};
  data.append(reinterpret_cast<const char*>(h), 4);
  data.append(reinterpret_cast<const char*>(b), 6);
  std::string header =
      R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("c":{"dtype":"BF16","shape":[3],"data_offsets":[20,26]},"__metadata__":{"format":"pt"}})";
  auto f = SafetensorsFile::Open(Write("m.safetensors", header, data));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->tensors().size(), 3u);
  EXPECT_EQ((*f)->tensors()[0].name, "a");  // file order
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  const TensorInfo* a = (*f)->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a->dtype, DType::kF32);
  auto av = (*f)->ReadF32("a");
  ASSERT_TRUE(av.ok());
  EXPECT_EQ(*av, (std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f}));
  auto bv = (*f)->ReadF32("b");
  ASSERT_TRUE(bv.ok());
  EXPECT_EQ(*bv, (std::vector<float>{0.5f, -3.0f}));
  auto cv = (*f)->ReadF32("c");
  ASSERT_TRUE(cv.ok());
  EXPECT_EQ(*cv, (std::vector<float>{1.0f, -0.25f, 100.0f}));
  EXPECT_TRUE((*f)->ReadF32("zzz").status().IsNotFound());
}

TEST_F(SafetensorsTest, HalfConversionRoundTrips) {
  for (float v : {0.0f, 1.0f, -1.0f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(v)), v) << v;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite positive half round-trips
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
}

void ExpectCorrupt(const Result<std::unique_ptr<SafetensorsFile>>& r, const std::string& path,
                   const std::string& what) {
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().ToString();
}

TEST_F(SafetensorsTest, MalformedFilesGiveErrorsNamingFileAndProblem) {
  std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string p;
  p = Write("tiny.safetensors", "", "");
  { std::ofstream(p, std::ios::binary | std::ios::trunc) << "abc"; }
  ExpectCorrupt(SafetensorsFile::Open(p), p, "too short");
  p = Write("len.safetensors", ok_header, Floats({1, 2}), 1 << 20);
  ExpectCorrupt(SafetensorsFile::Open(p), p, "truncated header");
  p = Write("json.safetensors", "{not json", "");
  ExpectCorrupt(SafetensorsFile::Open(p), p, "not valid JSON");
  p = Write("dtype.safetensors", R"({"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})",
            Floats({1, 2}));
  ExpectCorrupt(SafetensorsFile::Open(p), p, "unknown dtype");
  p = Write("range.safetensors", ok_header, Floats({1}));  // data truncated
  ExpectCorrupt(SafetensorsFile::Open(p), p, "outside the data section");
  p = Write("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
            Floats({1, 2}));
  ExpectCorrupt(SafetensorsFile::Open(p), p, "byte span");
  p = Write("neg.safetensors", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
            Floats({1, 2}));
  ExpectCorrupt(SafetensorsFile::Open(p), p, "negative");
  p = Write("offs.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})",
            Floats({1, 2}));
  ExpectCorrupt(SafetensorsFile::Open(p), p, "data_offsets");
  p = Write("arr.safetensors", "[1,2]", "");
  ExpectCorrupt(SafetensorsFile::Open(p), p, "not a JSON object");
  auto missing = SafetensorsFile::Open((dir_ / "nope.safetensors").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_NE(missing.status().message().find("nope.safetensors"), std::string::npos);
}

TEST_F(SafetensorsTest, ShardedIndex) {
  Write("model-00001-of-00002.safetensors",
        R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", Floats({7}));
  Write("model-00002-of-00002.safetensors",
        R"({"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", Floats({8, 9}));
  {
    std::ofstream idx(dir_ / "model.safetensors.index.json");
    idx << R"({"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors",)"
        << R"("y":"model-00002-of-00002.safetensors"}})";
  }
  auto set = SafetensorsSet::Open(dir_.string());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ((*set)->Names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(*(*set)->ReadF32("y"), (std::vector<float>{8, 9}));
  EXPECT_EQ(*(*set)->ReadF32("x"), (std::vector<float>{7}));

  // An index naming a tensor its shard does not hold.
  {
    std::ofstream idx(dir_ / "model.safetensors.index.json");
    idx << R"({"weight_map":{"x":"model-00001-of-00002.safetensors",)"
        << R"("z":"model-00002-of-00002.safetensors"}})";
  }
  auto bad = SafetensorsSet::Open(dir_.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'z'"), std::string::npos) << bad.status().ToString();
  // An index naming a shard that does not exist.
  {
    std::ofstream idx(dir_ / "model.safetensors.index.json");
    idx << R"({"weight_map":{"x":"model-00009-of-00009.safetensors"}})";
  }
  bad = SafetensorsSet::Open(dir_.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("model-00009-of-00009"), std::string::npos);
}

}  // namespace
}  // namespace gem
