// Copyright the gem authors. Finds added tokens (e.g. "<|im_start|>", "<s>") in raw text.
#ifndef GEM_TOKENIZER_ADDED_TOKENS_H_
#define GEM_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gem::tok {

class AddedTokenMatcher {
 public:
  // `special` tokens are matched only when Split is asked to; others always.
  void Add(std::string content, int32_t id, bool special);
  bool empty() const { return count_ == 0; }

  struct Segment {
    std::string_view text;  // raw text (when id < 0)
    int32_t id = -1;        // matched added token
  };
  // Cuts `text` at the added tokens it contains: scanning left to right, at the first position
  // where some token matches, the longest matching token is taken (HF's leftmost-longest).
  std::vector<Segment> Split(std::string_view text, bool include_special) const;

 private:
  struct Entry {
    std::string content;
    int32_t id;
    bool special;
  };
  std::array<std::vector<Entry>, 256> by_first_byte_;  // each sorted longest first
  size_t count_ = 0;
};

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_ADDED_TOKENS_H_
