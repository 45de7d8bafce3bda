// Copyright the gem authors. Fuzz target: delta files, through the public reader (DeltaFile, so
// it keeps working across format versions), and the reconstruction of every small tensor.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_file.h"
#include "gem/delta.h"
#include "gem/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto d = gem::DeltaFile::Open(gem::fuzz::AsFile(data, size));
  if (!d.ok()) return 0;
  (void)(*d)->Stats();
  for (const gem::DeltaTensor& t : (*d)->tensors()) {
    // Shapes come from the file: bound the work (and skip what overflows) before allocating.
    uint64_t n = 1;
    bool ok = !t.shape.empty();
    for (int64_t dim : t.shape) {
      if (dim <= 0 || dim > (1 << 20)) ok = false;
      if (ok) n *= static_cast<uint64_t>(dim);
      if (n > (1u << 18)) ok = false;
    }
    if (!ok) continue;
    std::vector<uint8_t> base(n * gem::DTypeSize(t.base_dtype) + 1, 0);
    std::vector<uint8_t> out;
    (void)(*d)->ReconstructRaw(t, std::span<const uint8_t>(base.data(), base.size() - 1), &out);
  }
  return 0;
}
