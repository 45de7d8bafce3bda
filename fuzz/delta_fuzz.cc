// Copyright the gem authors. Fuzz target: delta files, through the public reader (DeltaFile, so
// it keeps working across format versions): Open, then Apply and ReconstructRaw of every small
// tensor.
//
// A delta file carries the SHA-256 of its data section in its header, and Open refuses a file
// whose data does not match: every mutation of the data would stop there. But the digest guards
// against damage, not against a crafted file, which carries a matching digest; so each input is
// re-sealed first (the digest of its data section written into its header, where the header
// has the field), and the frame decoders behind the digest (zstd frames, the ulp lists, the
// int8 and sign blobs) are fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_file.h"
#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/safetensors.h"

namespace {

// The input with its header's "data_sha256" replaced by the digest of its data section
// (docs/DELTA_FORMAT.md, "Layout"); unchanged when it has no such layout or field.
std::string Reseal(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size < 24) return bytes;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = hlen << 8 | data[16 + i];
  if (hlen > size - 24) return bytes;
  const uint64_t start = (24 + hlen + 63) / 64 * 64;
  if (start > size) return bytes;
  const std::string field = "\"data_sha256\":\"";
  const size_t at = bytes.substr(24, hlen).find(field);
  if (at == std::string::npos || at + field.size() + 64 > hlen) return bytes;
  gem::Hasher hasher;
  hasher.Update(std::string_view(bytes).substr(start));
  bytes.replace(24 + at + field.size(), 64, hasher.Finish().Hex());
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = Reseal(data, size);
  auto d = gem::DeltaFile::Open(
      gem::fuzz::AsFile(reinterpret_cast<const uint8_t*>(input.data()), input.size()));
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
    std::vector<float> base_f32(n, 0.5f), out_f32(n);
    (void)(*d)->Apply(t, base_f32.data(), out_f32.data());
  }
  return 0;
}
