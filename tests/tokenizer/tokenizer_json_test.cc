// Copyright the gem authors. The three real tokenizer.json files against expected ids.
//
// Expected ids: llama.cpp's test vectors (generated with the HF tokenizers by llama.cpp's
// convert_hf_to_gguf_update.py) for Llama 3 and Qwen2 (Qwen3 shares Qwen2's regular vocab and
// merges), and mistral-tokenizer-js's output for Mistral; see ../shared/data/tokenizers/README.txt.
// All are encode(text, add_special_tokens=False).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gem/tokenizer.h"
#include "vocab_cases.h"

namespace gem {
namespace {

using testing::LoadVocabCases;
using testing::SharedTokenizers;

struct Family {
  const char* name;
  const char* dir;
  const char* inp;  // relative to SharedTokenizers()
  const char* out;
};

const Family kFamilies[] = {
    {"llama3", "llama-3-instruct", "llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf.inp",
     "llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf.out"},
    {"qwen3", "qwen3", "llamacpp-vocab-tests/ggml-vocab-qwen2.gguf.inp",
     "llamacpp-vocab-tests/ggml-vocab-qwen2.gguf.out"},
    {"mistral", "mistral-7b-v0.1", "mistral-7b-v0.1/vocab-test.inp",
     "mistral-7b-v0.1/vocab-test.out"},
};

// One load per family for the whole binary: the files are 2-11 MB.
const Tokenizer* Load(const Family& f, std::string* skip_reason) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  const std::string dir = SharedTokenizers() + "/" + f.dir;
  if (!std::filesystem::exists(dir + "/tokenizer.json")) {
    *skip_reason = dir + "/tokenizer.json is absent (GEM_SHARED_DIR=" GEM_SHARED_DIR ")";
    return nullptr;
  }
  auto it = cache.find(f.name);
  if (it != cache.end()) return it->second.get();
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = Tokenizer::FromJsonFile(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (!tok.ok()) return nullptr;
  std::cout << "[ load ] " << f.name << " tokenizer.json + config: " << ms << " ms, vocab "
            << (*tok)->vocab_size() << "\n";
  return (cache[f.name] = std::move(tok).value()).get();
}

class TokenizerJsonTest : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    std::string reason;
    tok_ = Load(GetParam(), &reason);
    if (tok_ == nullptr && !reason.empty()) GTEST_SKIP() << reason;
    ASSERT_NE(tok_, nullptr);
    cases_ = LoadVocabCases(SharedTokenizers() + "/" + GetParam().inp,
                            SharedTokenizers() + "/" + GetParam().out);
    ASSERT_EQ(cases_.size(), 46u) << "test vectors unreadable: " << GetParam().inp;
  }
  const Tokenizer* tok_ = nullptr;
  std::vector<testing::VocabCase> cases_;
};

TEST_P(TokenizerJsonTest, ReproducesAllTestVectors) {
  int same = 0;
  for (size_t i = 0; i < cases_.size(); ++i) {
    const auto got = tok_->Encode(cases_[i].text, /*add_bos=*/false, /*parse_special=*/true);
    if (got == cases_[i].ids) {
      ++same;
    } else {
      ADD_FAILURE() << GetParam().name << " case " << i << " text '" << cases_[i].text
                    << "'\n  want" << testing::IdsToString(cases_[i].ids) << "\n  got "
                    << testing::IdsToString(got);
    }
  }
  std::cout << "[ vectors ] " << GetParam().name << ": " << same << "/" << cases_.size()
            << " cases identical\n";
  EXPECT_EQ(same, static_cast<int>(cases_.size()));
}

TEST_P(TokenizerJsonTest, DecodeRoundTrips) {
  for (size_t i = 0; i < cases_.size(); ++i) {
    // Decoding the expected ids gives the text back (all test texts are NFC already).
    EXPECT_EQ(tok_->Decode(cases_[i].ids), cases_[i].text) << GetParam().name << " case " << i;
    const auto ids = tok_->Encode(cases_[i].text, false, true);
    EXPECT_EQ(tok_->Decode(ids), cases_[i].text) << GetParam().name << " case " << i;
  }
}

TEST_P(TokenizerJsonTest, TokenPiecesConcatenateToText) {
  // Streaming: the pieces of the ids, joined, are the text (plus the SentencePiece prefix space).
  for (const auto& c : cases_) {
    std::string joined;
    for (int32_t id : c.ids) joined += tok_->TokenPiece(id);
    if (std::string(GetParam().name) == "mistral") {
      EXPECT_EQ(joined, c.text.empty() ? "" : " " + c.text);
    } else {
      EXPECT_EQ(joined, c.text);
    }
  }
}

TEST_P(TokenizerJsonTest, LongTextIsConsistentWithPieces) {
  // A long text (all cases joined) encodes without loss; exercises long runs in BPE and regex.
  std::string text;
  for (int rep = 0; rep < 20; ++rep) {
    for (const auto& c : cases_) text += c.text + "\n";
  }
  const auto ids = tok_->Encode(text, false, true);
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_EQ(tok_->Decode(ids), text);
}

TEST_P(TokenizerJsonTest, MatchesHfTokenizersOnRandomMixedScriptText) {
  // 500 random strings (tests/tokenizer/reference/make_hf_random_vectors.py) with ids from the
  // HF tokenizers library 0.23.3 on the same tokenizer.json.
  const std::string ref = std::string(GEM_SOURCE_DIR) + "/tests/tokenizer/reference/";
  std::ifstream in(ref + "hf-random.jsonl");
  ASSERT_TRUE(in) << ref << "hf-random.jsonl missing";
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(in, line)) texts.push_back(nlohmann::json::parse(line).get<std::string>());
  std::ifstream out(ref + "hf-random-" + GetParam().dir + ".out");
  std::vector<std::vector<int32_t>> want;
  while (std::getline(out, line)) {
    std::istringstream ls(line);
    want.emplace_back();
    for (int32_t x; ls >> x;) want.back().push_back(x);
  }
  ASSERT_EQ(texts.size(), 500u);
  ASSERT_EQ(want.size(), texts.size());
  int same = 0, reported = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = tok_->Encode(texts[i], false, true);
    if (got == want[i]) {
      ++same;
    } else if (++reported <= 5) {  // the first few, not 500 messages
      ADD_FAILURE() << "string " << i << " '" << texts[i] << "'\n  want"
                    << testing::IdsToString(want[i]) << "\n  got " << testing::IdsToString(got);
    }
  }
  std::cout << "[ hf-random ] " << GetParam().name << ": " << same << "/" << texts.size()
            << " identical\n";
  EXPECT_EQ(same, static_cast<int>(texts.size()));
}

TEST_P(TokenizerJsonTest, ConcurrentEncodeGivesTheSameIds) {
  // Immutable after load: four threads encoding the same texts get the single-thread answer.
  std::vector<std::vector<int32_t>> want;
  for (const auto& c : cases_) want.push_back(tok_->Encode(c.text, false, true));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep) {
        for (size_t i = 0; i < cases_.size(); ++i) {
          if (tok_->Encode(cases_[i].text, false, true) != want[i]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, TokenizerJsonTest, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) { return std::string(info.param.name); });

// Family-specific facts from tokenizer.json / tokenizer_config.json.
const Tokenizer* LoadOrSkip(int index) {
  std::string reason;
  return Load(kFamilies[index], &reason);
}

TEST(TokenizerJsonFacts, Llama3SpecialTokensAndBos) {
  const Tokenizer* t = LoadOrSkip(0);
  if (t == nullptr) GTEST_SKIP() << "llama-3-instruct tokenizer absent";
  EXPECT_EQ(t->vocab_size(), 128256);
  EXPECT_EQ(t->bos_id(), 128000);
  EXPECT_EQ(t->eos_id(), 128009);  // tokenizer_config eos_token <|eot_id|>
  EXPECT_TRUE(t->add_bos_default());
  const auto stops = t->stop_ids();
  EXPECT_NE(std::find(stops.begin(), stops.end(), 128009), stops.end());
  EXPECT_NE(std::find(stops.begin(), stops.end(), 128001), stops.end());  // <|end_of_text|>
  EXPECT_NE(t->chat_template().find("<|start_header_id|>"), std::string::npos);

  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const auto ids = t->Encode(text, /*add_bos=*/true, /*parse_special=*/true);
  // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n Hi <|eot_id|>
  EXPECT_EQ(ids, (std::vector<int32_t>{128000, 128006, 882, 128007, 271, 13347, 128009}));
  EXPECT_EQ(t->Decode(ids), "<|begin_of_text|>" + text);
  EXPECT_EQ(t->Decode(ids, /*skip_special=*/true), "user\n\nHi");
  // Without parse_special the markers are plain text.
  const auto plain = t->Encode(text, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 128006), 0);
  EXPECT_GT(plain.size(), ids.size());
  EXPECT_EQ(t->Decode(plain), text);
  EXPECT_EQ(t->TokenId("<|eot_id|>"), 128009);
  EXPECT_TRUE(t->IsSpecial(128009));
  EXPECT_FALSE(t->IsSpecial(13347));
  EXPECT_EQ(t->TokenText(13347), "Hi");
}

TEST(TokenizerJsonFacts, QwenChatMarkersAndNoBos) {
  const Tokenizer* t = LoadOrSkip(1);
  if (t == nullptr) GTEST_SKIP() << "qwen3 tokenizer absent";
  EXPECT_EQ(t->vocab_size(), 151669);
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_FALSE(t->add_bos_default());
  EXPECT_EQ(t->eos_id(), 151645);  // <|im_end|>
  const auto stops = t->stop_ids();
  EXPECT_EQ(stops, (std::vector<int32_t>{151643, 151645}));
  const auto ids = t->Encode("<|im_start|>user\nHi<|im_end|>\n", true, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 1);
  // <think> is an added non-special token: matched even without parse_special.
  const auto think = t->Encode("<think>x</think>", false, false);
  EXPECT_EQ(think.front(), 151667);
  EXPECT_EQ(think.back(), 151668);
  EXPECT_FALSE(t->IsSpecial(151667));
  // NFC: a decomposed "é" (e + U+0301) encodes like the composed one.
  EXPECT_EQ(t->Encode("caf\x65\xCC\x81", false, true), t->Encode("caf\xC3\xA9", false, true));
}

TEST(TokenizerJsonFacts, MistralBosByteFallbackAndLegacySpaces) {
  const Tokenizer* t = LoadOrSkip(2);
  if (t == nullptr) GTEST_SKIP() << "mistral tokenizer absent";
  EXPECT_EQ(t->vocab_size(), 32000);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_TRUE(t->add_bos_default());
  EXPECT_EQ(t->Encode("Hello world!", true, true), (std::vector<int32_t>{1, 22557, 1526, 28808}));
  // Legacy layout: a '▁' is prepended to every text segment, also after a special token.
  EXPECT_EQ(t->Encode("<s>[INST]", false, true), (std::vector<int32_t>{1, 733, 16289, 28793}));
  const auto plain = t->Encode("<s>", false, false);  // "<s>" as text: ▁< s >
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(t->Decode(plain), "<s>");
  // Byte fallback: U+10FFFF (not in the vocabulary) becomes its four UTF-8 bytes <0xF4>...
  const auto ids = t->Encode("\xF4\x8F\xBF\xBF", false, true);
  EXPECT_EQ(ids, (std::vector<int32_t>{28705, 3 + 0xF4, 3 + 0x8F, 3 + 0xBF, 3 + 0xBF}));
  EXPECT_EQ(t->Decode(ids), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(t->TokenPiece(3 + 0x0A), "\n");
  // A character cut short (two of its four bytes) decodes to U+FFFD, never to invalid UTF-8;
  // the pieces themselves stay raw bytes.
  EXPECT_EQ(t->Decode(std::vector<int32_t>{ids[0], ids[1], ids[2]}), "\xEF\xBF\xBD");
  EXPECT_EQ(t->TokenPiece(ids[1]) + t->TokenPiece(ids[2]), "\xF4\x8F");
  EXPECT_EQ(t->Decode(std::vector<int32_t>{1, 22557}), "<s> Hello");
  EXPECT_EQ(t->Decode(std::vector<int32_t>{1, 22557}, true), "Hello");
}

TEST(TokenizerJsonFacts, InvalidUtf8IsReplacedNotFatal) {
  const Tokenizer* t = LoadOrSkip(0);
  if (t == nullptr) GTEST_SKIP() << "llama-3-instruct tokenizer absent";
  const auto ids = t->Encode(
      "a\xFF"
      "b",
      false, true);
  EXPECT_EQ(t->Decode(ids),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(TokenizerJsonErrors, MissingFileIsIOErrorNamingIt) {
  auto r = Tokenizer::FromJsonFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
}

TEST(TokenizerJsonErrors, MalformedFilesAreCorruptionOrNotSupported) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("gem_tok_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir / name) << body;
    return (dir / name).string();
  };
  auto bad_json = Tokenizer::FromJsonFile(write("a.json", "{\"model\": {"));
  ASSERT_FALSE(bad_json.ok());
  EXPECT_TRUE(bad_json.status().IsCorruption()) << bad_json.status().ToString();
  EXPECT_NE(bad_json.status().message().find("not valid JSON"), std::string::npos);

  auto no_model = Tokenizer::FromJsonFile(write("b.json", "{\"version\": \"1.0\"}"));
  ASSERT_FALSE(no_model.ok());
  EXPECT_TRUE(no_model.status().IsCorruption());

  auto wordpiece = Tokenizer::FromJsonFile(
      write("c.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})"));
  ASSERT_FALSE(wordpiece.ok());
  EXPECT_TRUE(wordpiece.status().IsNotSupported()) << wordpiece.status().ToString();

  auto bad_merge = Tokenizer::FromJsonFile(
      write("d.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]},
                   "pre_tokenizer": {"type": "ByteLevel", "use_regex": true}})"));
  ASSERT_FALSE(bad_merge.ok());
  EXPECT_NE(bad_merge.status().message().find("'a b'"), std::string::npos)
      << bad_merge.status().ToString();

  auto bad_regex = Tokenizer::FromJsonFile(
      write("e.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                   "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"},
                     {"type": "ByteLevel", "use_regex": false}]}})"));
  ASSERT_FALSE(bad_regex.ok());
  EXPECT_TRUE(bad_regex.status().IsNotSupported()) << bad_regex.status().ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gem
