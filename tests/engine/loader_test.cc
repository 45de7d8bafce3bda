// Copyright the gem authors. Loading: layouts (HF dir, HF cache, GGUF) and malformed checkpoints,
// which must give an error naming the file and the problem, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/engine_test_util.h"
#include "gem/gguf.h"
#include "gem/model.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("gem_loader_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  // A writable copy of a fixture.
  fs::path Copy(const std::string& fixture) {
    fs::path dst = tmp_ / fixture;
    fs::copy(FixtureDir(fixture), dst, fs::copy_options::recursive);
    return dst;
  }
  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void Spit(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
  }
  static void Replace(const fs::path& p, const std::string& from, const std::string& to) {
    std::string s = Slurp(p);
    size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    Spit(p, s);
  }
  // Expects Load to fail with a message containing every one of `parts`.
  static void ExpectError(const fs::path& path, std::initializer_list<std::string> parts) {
    auto m = Model::Load(path.string());
    ASSERT_FALSE(m.ok()) << "loaded " << path;
    for (const auto& part : parts) {
      EXPECT_NE(m.status().ToString().find(part), std::string::npos)
          << "'" << part << "' not in: " << m.status().ToString();
    }
  }

  fs::path tmp_;
};

TEST_F(LoaderTest, HuggingFaceCacheLayout) {
  fs::path root = tmp_ / "models--gem--tiny-llama";
  fs::create_directories(root / "snapshots");
  fs::create_directories(root / "refs");
  fs::copy(FixtureDir("llama"), root / "snapshots" / "0123abcd", fs::copy_options::recursive);
  fs::create_directories(root / "snapshots" / "older");  // not the one refs/main names
  Spit(root / "refs" / "main", "0123abcd");
  auto m = Model::Load(root.string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_NE((*m)->source().find("0123abcd"), std::string::npos);
  // The config.json path itself works too.
  auto c = Model::Load((root / "snapshots" / "0123abcd" / "config.json").string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST_F(LoaderTest, HfDirectoryTokenizerFiles) {
  // A real tokenizer.json + tokenizer_config.json beside the weights is loaded with the model
  // (the tiny fixtures have none of their own).
  const fs::path tok = fs::path(GEM_SHARED_DIR) / "data" / "tokenizers" / "qwen3";
  if (!fs::exists(tok / "tokenizer.json")) {
    GTEST_SKIP() << "needs " << tok << " (the shared/ folder beside the checkout)";
  }
  fs::path d = Copy("qwen2");
  fs::copy_file(tok / "tokenizer.json", d / "tokenizer.json");
  if (fs::exists(tok / "tokenizer_config.json")) {
    fs::copy_file(tok / "tokenizer_config.json", d / "tokenizer_config.json");
  }
  auto m = Model::Load(d.string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_NE((*m)->tokenizer(), nullptr);
  EXPECT_FALSE((*m)->tokenizer()->Encode("hello world", false, false).empty());
  // Its end-of-turn ids join the config's eos id (2) among the default stop ids.
  EXPECT_GT((*m)->default_stop_ids().size(), 1u);
  auto bare = Model::Load(d.string(), {.load_tokenizer = false});
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)->tokenizer(), nullptr);
}

TEST_F(LoaderTest, GgufFileDirectly) {
  auto g = Model::Load(FixtureDir("tiny_gguf") + "/tiny-llama.gguf");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ((*g)->format(), "gguf");
  EXPECT_FALSE((*g)->config().tie_word_embeddings);
  EXPECT_EQ((*g)->tokenizer(), nullptr);  // this file has no vocabulary
  auto file = GgufFile::Open(FixtureDir("tiny_gguf") + "/tiny-llama.gguf");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->GetString("general.architecture"), "llama");
  const GgufTensorInfo* q = (*file)->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(GgmlTypeName(q->type), "Q4_0");
  EXPECT_EQ(q->shape(), (std::vector<int64_t>{64, 64}));
}

TEST_F(LoaderTest, UnknownArchitecture) {
  fs::path d = Copy("llama");
  Replace(d / "config.json", "\"LlamaForCausalLM\"", "\"GPTNeoXForCausalLM\"");
  ExpectError(d, {"config.json", "unknown architecture 'GPTNeoXForCausalLM'"});
}

TEST_F(LoaderTest, BadConfig) {
  fs::path d = Copy("llama");
  Spit(d / "config.json", "{\"architectures\": [\"LlamaForCausalLM\"], ");
  ExpectError(d, {"config.json", "not a JSON object"});
  Spit(d / "config.json", R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 128,
      "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 3})");
  ExpectError(d, {"config.json", "not a multiple of num_key_value_heads"});
  Copy("qwen2");
  Replace(tmp_ / "qwen2" / "config.json", "\"rope_type\": \"default\"",
          "\"rope_type\": \"yarn\", \"factor\": 4.0");
  ExpectError(tmp_ / "qwen2", {"config.json", "rope scaling type 'yarn'"});
}

TEST_F(LoaderTest, WrongShapeAndMissingTensor) {
  fs::path d = Copy("llama");
  Replace(d / "config.json", "\"intermediate_size\": 96", "\"intermediate_size\": 128");
  ExpectError(d, {"model.safetensors", "mlp.gate_proj.weight", "[96, 64]", "[128, 64]"});
  fs::path q = Copy("qwen2");
  // Untie: the checkpoint has no lm_head.weight.
  Replace(q / "config.json", "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
  ExpectError(q, {"missing tensor 'lm_head.weight'"});
}

TEST_F(LoaderTest, TruncatedAndMissingShards) {
  fs::path d = Copy("mistral");
  fs::path shard = d / "model-00002-of-00004.safetensors";
  std::string s = Slurp(shard);
  Spit(shard, s.substr(0, s.size() / 2));
  ExpectError(d, {"model-00002-of-00004.safetensors", "outside the data section"});
  fs::remove(shard);
  ExpectError(d, {"model-00002-of-00004.safetensors"});
  fs::path l = Copy("llama");
  Spit(l / "model.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":");
  ExpectError(l, {"model.safetensors"});
  fs::remove(l / "model.safetensors");
  ExpectError(l, {"no model.safetensors"});
}

TEST_F(LoaderTest, MalformedGguf) {
  const std::string good = Slurp(FixtureDir("tiny_gguf") + "/tiny-llama.gguf");
  fs::path p = tmp_ / "bad.gguf";
  // Every truncation point: an error (never a crash), naming the file.
  for (size_t cut : {size_t{3}, size_t{10}, size_t{30}, size_t{200}, size_t{1000}, good.size() / 2,
                     good.size() - 1}) {
    Spit(p, good.substr(0, cut));
    auto m = Model::Load(p.string());
    ASSERT_FALSE(m.ok()) << "cut at " << cut;
    EXPECT_NE(m.status().message().find("bad.gguf"), std::string::npos) << m.status().ToString();
  }
  Spit(p, "GGUF" + good.substr(4, 4) + std::string(8, '\xff') + good.substr(16));
  auto m = Model::Load(p.string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("more than the file can hold"), std::string::npos)
      << m.status().ToString();
  // An unknown architecture.
  std::string arch = good;
  size_t at = arch.find("llama");
  ASSERT_NE(at, std::string::npos);
  arch.replace(at, 5, "gpt2x");
  Spit(p, arch);
  ExpectError(p, {"bad.gguf", "unknown architecture 'gpt2x'"});
  // Not GGUF at all.
  Spit(p, "hello world, this is not a checkpoint");
  ExpectError(p, {"bad.gguf", "not a GGUF file"});
  ExpectError(tmp_ / "does-not-exist", {"does-not-exist", "no such file"});
}

}  // namespace
}  // namespace gem
