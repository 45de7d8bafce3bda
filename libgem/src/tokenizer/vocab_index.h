// Copyright the gem authors. String -> id lookup that accepts string_view keys.
#ifndef GEM_TOKENIZER_VOCAB_INDEX_H_
#define GEM_TOKENIZER_VOCAB_INDEX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gem::tok {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

inline int32_t Lookup(const TokenMap& m, std::string_view s) {
  auto it = m.find(s);
  return it == m.end() ? -1 : it->second;
}

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_VOCAB_INDEX_H_
