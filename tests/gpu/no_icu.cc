// Copyright the gem authors. The GPU check works on token ids and never normalises text; by
// defining the tokenizer's NormalizeNfc here, the linker does not pull libgem's ICU-based
// definition (tokenizer/nfc.cc) and the static bundle carries no ICU (30 MB of data). Should
// a future check tokenize non-ASCII text, it stops here with a message instead of silently
// skipping the normalisation.
#include <cstdio>
#include <cstdlib>

#include "tokenizer/text_util.h"

namespace gem::tok {

std::string NormalizeNfc(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      std::fprintf(stderr, "gem-gpu-check: NFC normalisation is not linked into this program\n");
      std::abort();
    }
  }
  return std::string(s);
}

}  // namespace gem::tok
