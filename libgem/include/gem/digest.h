// Copyright the gem authors. Content digests: the identity of models, queries and configs.
//
// Every cache key is a digest of content, never a name (docs/CACHE.md). The function is SHA-256
// (OpenSSL), chosen for being standard and collision resistant; a digest's hex form is lower case.
//
// Thread-safety: Digest is a value. A Hasher is not thread-safe; use one per thread.
#ifndef GEM_DIGEST_H_
#define GEM_DIGEST_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "gem/status.h"

namespace gem {

// A SHA-256 value (32 bytes). A plain value: copy it freely; all zeros when default-constructed
// (which no content hashes to in practice, so it also serves as "unset").
struct Digest {
  std::array<uint8_t, 32> bytes{};

  std::string Hex() const;          // 64 lower-case hex characters
  std::string ShortHex() const;     // first 12 hex characters, for display only
  std::string_view Bytes() const {  // the 32 raw bytes, e.g. for a key
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  static Result<Digest> FromHex(std::string_view hex);  // InvalidArgument unless 64 hex chars
  static Digest FromBytes(std::string_view raw);        // REQUIRES: raw.size() == 32

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;
};

// Incremental SHA-256. Update() any number of times, then Finish() once; a Hasher is not used
// after Finish(). Nothing here fails (in-memory SHA-256 has no error path); the Hasher owns its
// OpenSSL context and frees it when destroyed. Not thread-safe: one Hasher per thread.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& Update(std::string_view data);
  Hasher& Update(std::span<const uint8_t> data);
  // Length-prefixed field: Update(8-byte little-endian size) then the bytes, so that a sequence
  // of fields hashes unambiguously ("ab","c" differs from "a","bc").
  Hasher& Field(std::string_view data);
  Hasher& Field(uint64_t value);  // 8 bytes little-endian
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SHA-256 of `data`.
Digest Sha256(std::string_view data);

}  // namespace gem

template <>
struct std::hash<gem::Digest> {
  size_t operator()(const gem::Digest& d) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= 32);
    __builtin_memcpy(&h, d.bytes.data(), sizeof(h));
    return h;
  }
};

#endif  // GEM_DIGEST_H_
