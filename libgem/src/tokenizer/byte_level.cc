// Copyright the gem authors.
#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/text_util.h"

namespace gem::tok {
namespace {

struct Tables {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 512> from_cp;  // code point (< 512) -> byte, or -1
  Tables() {
    from_cp.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : 256 + extra++;
      AppendUtf8(cp, &to_unicode[b]);
      from_cp[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& T() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& ByteToUnicode(uint8_t b) { return T().to_unicode[b]; }

void ByteLevelEncode(std::string_view bytes, std::string* out) {
  const Tables& t = T();
  for (unsigned char c : bytes) out->append(t.to_unicode[c]);
}

std::optional<std::string> ByteLevelDecode(std::string_view text) {
  const Tables& t = T();
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c0 = static_cast<unsigned char>(text[i]);
    uint32_t cp;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 >> 5) == 0x6 && i + 1 < text.size()) {
      cp = ((c0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;  // 3- and 4-byte code points are all >= U+0800: not in the map
    }
    if (cp >= 512 || t.from_cp[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.from_cp[cp]));
  }
  return out;
}

}  // namespace gem::tok
