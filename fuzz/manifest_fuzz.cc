// Copyright the gem authors. Fuzz target: tree manifests (docs/MANIFEST.md), read from a file as
// tree.register reads them.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.h"
#include "gem/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = gem::ReadManifest(gem::fuzz::AsFile(data, size));
  if (m.ok()) {
    size_t n = 0;
    for (const auto& c : m->candidates) n += c.meta.name.size() + c.path.size() + c.spec.size();
    (void)n;
  }
  return 0;
}
