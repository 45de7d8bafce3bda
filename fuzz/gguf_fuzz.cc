// Copyright the gem authors. Fuzz target: GGUF files (header, metadata, tensor infos).
#include <cstddef>
#include <cstdint>

#include "fuzz_file.h"
#include "gem/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = gem::GgufFile::Open(gem::fuzz::AsFile(data, size));
  if (!f.ok()) return 0;
  (void)(*f)->GetInt("general.alignment", 32);
  (void)(*f)->GetString("general.architecture");
  (void)(*f)->GetFloat("llama.rope.freq_base", 0);
  (void)(*f)->GetBool("tokenizer.ggml.add_bos_token", false);
  size_t n = 0;
  for (const auto& t : (*f)->tensors()) n += t.name.size();
  (void)n;
  return 0;
}
