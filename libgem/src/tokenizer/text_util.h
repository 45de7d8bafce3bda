// Copyright the gem authors. UTF-8 helpers and Unicode normalisation for the tokenizer.
#ifndef GEM_TOKENIZER_TEXT_UTIL_H_
#define GEM_TOKENIZER_TEXT_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gem::tok {

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for a stray continuation byte).
inline size_t Utf8SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// Appends the UTF-8 encoding of code point `cp` to `out`.
void AppendUtf8(uint32_t cp, std::string* out);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every ill-formed subsequence replaced by U+FFFD (one per maximal subpart, as the
// Unicode standard recommends and Python's errors="replace" does). Returns `s` unchanged when it
// is valid.
std::string SanitizeUtf8(std::string_view s);

// Unicode NFC of valid UTF-8 `s` (ICU). ASCII input is returned as is without calling ICU.
std::string NormalizeNfc(std::string_view s);

// Python str.strip() for the ASCII whitespace Jinja's trim removes in our templates.
std::string_view TrimAsciiSpace(std::string_view s);

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_TEXT_UTIL_H_
