// Copyright the gem authors. Pre-tokenizer: splits text into the pieces BPE runs on.
//
// A pre-tokenizer is a sequence of regex stages; each stage splits every piece of the previous
// stage into its matches and the gaps between them, all kept ("Isolated" in tokenizer.json
// terms). That is HF's Split(behavior=Isolated), Digits, and ByteLevel(use_regex=true), and
// llama.cpp's list of regex_exprs for a GGUF `pre`. The regexes run in PCRE2 with UTF and UCP,
// so \p{L}, \p{N} and \s are the Unicode classes the HF regex engine uses.
#ifndef GEM_TOKENIZER_PRETOKENIZER_H_
#define GEM_TOKENIZER_PRETOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gem/status.h"

namespace gem::tok {

// The GPT-2 split regex (HF ByteLevel use_regex=true).
inline constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3's Split regex (tokenizer.json of Meta-Llama-3).
inline constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2/2.5/3's Split regex: as Llama 3's with single digits.
inline constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A compiled PCRE2 pattern (JIT when available). Immutable; safe to share between threads.
class Regex {
 public:
  // `literal`: the pattern is a plain string (tokenizer.json {"String": ...}).
  static Result<std::shared_ptr<const Regex>> Compile(std::string_view pattern, bool literal);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [begin, end) byte ranges of the successive non-overlapping matches in `text`
  // (valid UTF-8). Empty matches are not reported.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
  std::string pattern_;
};

class PreTokenizer {
 public:
  void AddStage(std::shared_ptr<const Regex> re) { stages_.push_back(std::move(re)); }
  bool empty() const { return stages_.empty(); }
  size_t num_stages() const { return stages_.size(); }

  // Pieces of `text` (views into it), in order; their concatenation is `text`. With no stages,
  // `text` itself (if non-empty).
  std::vector<std::string_view> Split(std::string_view text) const;

 private:
  std::vector<std::shared_ptr<const Regex>> stages_;
};

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_PRETOKENIZER_H_
