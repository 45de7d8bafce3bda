// Copyright the gem authors. GPT-2's byte <-> printable code point map (byte-level BPE).
//
// Byte-level vocabularies never contain raw bytes: every byte b is written as one printable
// code point (bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF stand for themselves, the other 68 bytes
// are U+0100.. in order), so "Ġ" (U+0120) is a space and "Ċ" (U+010A) a newline.
#ifndef GEM_TOKENIZER_BYTE_LEVEL_H_
#define GEM_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gem::tok {

// UTF-8 of the code point standing for byte `b`.
const std::string& ByteToUnicode(uint8_t b);

// Appends the byte-level form of `bytes` to `out`.
void ByteLevelEncode(std::string_view bytes, std::string* out);

// The bytes a byte-level string stands for; nullopt when it contains a code point outside the
// map (then it is not a byte-level token, e.g. an added token's literal text).
std::optional<std::string> ByteLevelDecode(std::string_view text);

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_BYTE_LEVEL_H_
