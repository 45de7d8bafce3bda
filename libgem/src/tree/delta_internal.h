// Copyright the gem authors. Helpers shared by the delta writer and reader (not public).
#ifndef GEM_TREE_DELTA_INTERNAL_H_
#define GEM_TREE_DELTA_INTERNAL_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gem/delta.h"
#include "gem/safetensors.h"
#include "gem/status.h"

namespace gem::tree_internal {

// docs/DELTA_FORMAT.md: "GEMDELTA", u32 version, u32 reserved, u64 header length, header JSON,
// zero padding to a multiple of kAlign, data section.
inline constexpr char kDeltaMagic[8] = {'G', 'E', 'M', 'D', 'E', 'L', 'T', 'A'};
// Version 2: "xor" and "raw" blobs are a frame table then independent zstd frames of
// `frame_elements` elements each. Version 1 (still read): one zstd frame per blob.
inline constexpr uint32_t kDeltaVersion = 3;  // the newest this build reads and writes
inline constexpr uint32_t kDeltaVersionOldest = 1;
inline constexpr uint64_t kAlign = 64;
inline constexpr uint64_t kPrefixBytes = 24;

inline uint64_t AlignUp(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// gem::ops::WordKind of a stored dtype, -1 when it has no word form (F64, integers).
int WordKindOf(DType dtype);

// The threads to use for `requested` (0: the machine's hardware threads; at least 1).
int ResolveThreads(int requested);

// Parses a safetensors dtype name ("BF16", ...).
Result<DType> DTypeFromName(std::string_view name);

// zstd one-shot compression into one frame with its content size; `checksum` adds zstd's
// XXH64 of the content (version 1 wrote it; version 2 relies on the data section's SHA-256).
// Reuses a context per thread.
Result<std::string> ZstdCompress(const void* src, size_t n, int level, bool checksum = true);
// Decompresses a single frame that must hold exactly `expected` bytes (a context per thread).
Status ZstdDecompress(std::span<const uint8_t> src, size_t expected, uint8_t* dst,
                      std::string_view what);

// The weights digest (WeightsDigest, docs/DELTA_FORMAT.md): StartWeightsDigest, then
// HashTensor for every tensor in name order, then Finish. Shared by WeightsDigest and by the
// rebuild of delta checkpoints, which hashes tensors as it writes them.
void StartWeightsDigest(Hasher* h);
void HashTensor(Hasher* h, std::string_view name, DType dtype, const std::vector<int64_t>& shape,
                std::span<const uint8_t> bytes);

nlohmann::json ErrorToJson(const DeltaError& e);
DeltaError ErrorFromJson(const nlohmann::json& j);

// Running error sums over tensors.
struct ErrorAccum {
  double max_abs = 0, err2 = 0, ft2 = 0, d2 = 0;
  void Add(double recon, double ft, double base) {
    const double e = recon - ft;
    if (std::abs(e) > max_abs) max_abs = std::abs(e);
    err2 += e * e;
    ft2 += ft * ft;
    d2 += (ft - base) * (ft - base);
  }
  void Merge(const ErrorAccum& o) {
    max_abs = std::max(max_abs, o.max_abs);
    err2 += o.err2;
    ft2 += o.ft2;
    d2 += o.d2;
  }
  DeltaError Get() const;
};

}  // namespace gem::tree_internal

#endif  // GEM_TREE_DELTA_INTERNAL_H_
