// Copyright the gem authors. Fuzz target: tokenizer.json, then a round trip of a fixed text
// through the tokenizer it describes.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.h"
#include "gem/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = gem::Tokenizer::FromJsonFile(gem::fuzz::AsFile(data, size));
  if (!t.ok()) return 0;
  auto ids = (*t)->Encode("Hello, world! 12 + 30 = 42\n<|im_start|>ünïcode", true, true);
  (void)(*t)->Decode(ids);
  return 0;
}
