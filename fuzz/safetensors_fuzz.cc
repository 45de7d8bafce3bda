// Copyright the gem authors. Fuzz target: safetensors headers and the tensors they describe.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_file.h"
#include "gem/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = gem::SafetensorsFile::Open(gem::fuzz::AsFile(data, size));
  if (!f.ok()) return 0;
  for (const gem::TensorInfo& t : (*f)->tensors()) {
    auto bytes = (*f)->Bytes(t);  // must lie inside the file: Open checked it
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bytes.size(); i += 4096) sink = sink ^ bytes[i];
    if (t.nbytes <= (1u << 20) && gem::DTypeIsFloat(t.dtype)) {
      std::vector<float> out(t.nbytes / std::max<size_t>(1, gem::DTypeSize(t.dtype)) + 1);
      (void)(*f)->ReadF32(t, out.data());
    }
  }
  return 0;
}
