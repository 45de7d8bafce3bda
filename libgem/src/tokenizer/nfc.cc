// Copyright the gem authors. NFC normalisation through ICU, in a file of its own: the only
// use of ICU, so a program that never tokenizes text can link the tokenizer without ICU's
// 30 MB of data by defining NormalizeNfc itself (the GPU check bundle does, tests/gpu).
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "tokenizer/text_util.h"

namespace gem::tok {

std::string NormalizeNfc(std::string_view s) {
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return std::string(s);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err) || nfc == nullptr) return std::string(s);  // ICU data missing: leave as is
  const icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  if (nfc->isNormalized(in, err) && U_SUCCESS(err)) return std::string(s);
  err = U_ZERO_ERROR;
  const icu::UnicodeString norm = nfc->normalize(in, err);
  if (U_FAILURE(err)) return std::string(s);
  std::string out;
  norm.toUTF8String(out);
  return out;
}

}  // namespace gem::tok
