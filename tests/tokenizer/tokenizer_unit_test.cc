// Copyright the gem authors. The tokenizer's building blocks on small, hand-checked inputs.
#include <gtest/gtest.h>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_merges.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/text_util.h"

namespace gem::tok {
namespace {

TEST(ByteLevel, Gpt2MapAndInverse) {
  EXPECT_EQ(ByteToUnicode(' '), "\xC4\xA0");   // Ġ U+0120
  EXPECT_EQ(ByteToUnicode('\n'), "\xC4\x8A");  // Ċ U+010A
  EXPECT_EQ(ByteToUnicode('A'), "A");
  EXPECT_EQ(ByteToUnicode(0xAD), "\xC5\x83");  // soft hyphen is remapped (U+0143)
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string enc;
  ByteLevelEncode(all, &enc);
  auto dec = ByteLevelDecode(enc);
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(*dec, all);
  EXPECT_FALSE(ByteLevelDecode("\xE2\x96\x81").has_value());  // '▁' is not a byte-level char
}

TEST(TextUtil, SanitizeReplacesMaximalSubparts) {
  EXPECT_EQ(SanitizeUtf8("ok"), "ok");
  EXPECT_EQ(SanitizeUtf8("a\xFF"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  // E2 82 is a truncated 3-byte sequence: one U+FFFD for both bytes.
  EXPECT_EQ(SanitizeUtf8("\xE2\x82z"), "\xEF\xBF\xBDz");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\xA6\x99"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // overlong
}

TEST(TextUtil, NfcComposes) {
  EXPECT_EQ(NormalizeNfc("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(NormalizeNfc("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(NormalizeNfc("plain"), "plain");
  EXPECT_EQ(TrimAsciiSpace("  a b \n"), "a b");
  EXPECT_EQ(TrimAsciiSpace(" \t"), "");
}

TEST(BpeMerges, LowestRankFirstLeftmostOnTies) {
  // tokens: a=0 b=1 c=2 ab=3 bc=4 abc=5 aa=6
  BpeMerges m;
  m.Add(1, 2, 4, 0);                     // b c -> bc (rank 0)
  m.Add(0, 1, 3, 1);                     // a b -> ab
  m.Add(0, 4, 5, 2);                     // a bc -> abc
  m.Add(0, 0, 6, 3);                     // a a -> aa
  std::vector<int32_t> ids = {0, 1, 2};  // a b c: bc first, then a+bc
  m.Apply(&ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{5}));
  ids = {0, 1, 0, 1};  // ab ab
  m.Apply(&ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 3}));
  ids = {0, 0, 0};  // aa a: the leftmost pair merges on a tie
  m.Apply(&ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{6, 0}));
  ids = {2};
  m.Apply(&ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2}));
}

TEST(PreTokenizer, Llama3RegexSplitsLikeHf) {
  auto re = Regex::Compile(kLlama3Regex, false);
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  PreTokenizer pre;
  pre.AddStage(*re);
  const auto pieces = pre.Split("Hello world, I'M 12345 ok!!\n\n  x");
  const std::vector<std::string_view> want = {"Hello", " world", ",",   " I",     "'M", " ",
                                              "123",   "45",     " ok", "!!\n\n", " ",  " x"};
  EXPECT_EQ(pieces, want);
}

TEST(PreTokenizer, UnicodeLettersAndStages) {
  auto digits = Regex::Compile("\\p{N}", false);
  auto gpt2 = Regex::Compile(kGpt2Regex, false);
  ASSERT_TRUE(digits.ok() && gpt2.ok());
  PreTokenizer pre;
  pre.AddStage(*digits);
  pre.AddStage(*gpt2);
  const auto pieces = pre.Split("Führer 42 нещо");
  const std::vector<std::string_view> want = {"Führer", " ", "4", "2", " нещо"};
  EXPECT_EQ(pieces, want);
  auto lit = Regex::Compile("a.b", true);
  ASSERT_TRUE(lit.ok());
  std::vector<std::pair<size_t, size_t>> m;
  (*lit)->FindAll("axb a.b", &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].first, 4u);
}

TEST(PreTokenizer, VeryLongWhitespaceRun) {
  auto re = Regex::Compile(kLlama3Regex, false);
  ASSERT_TRUE(re.ok());
  PreTokenizer pre;
  pre.AddStage(*re);
  const std::string text = std::string(200000, ' ') + "x";
  const auto pieces = pre.Split(text);
  size_t total = 0;
  for (auto p : pieces) total += p.size();
  EXPECT_EQ(total, text.size());
  EXPECT_EQ(pieces.back(), " x");
}

TEST(AddedTokens, LeftmostLongestAndSpecialOptIn) {
  AddedTokenMatcher m;
  m.Add("<|im", 10, true);
  m.Add("<|im_start|>", 11, true);
  m.Add("<think>", 12, false);
  auto segs = m.Split("x<|im_start|>y<think>", true);
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[0].text, "x");
  EXPECT_EQ(segs[1].id, 11);
  EXPECT_EQ(segs[2].text, "y");
  EXPECT_EQ(segs[3].id, 12);
  segs = m.Split("x<|im_start|>y<think>", false);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].text, "x<|im_start|>y");
  EXPECT_EQ(segs[1].id, 12);
}

}  // namespace
}  // namespace gem::tok
