#include "gem/digest.h"

#include <openssl/evp.h>

#include <cstring>

namespace gem {

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Hasher::Hasher() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Hasher::~Hasher() { EVP_MD_CTX_free(impl_->ctx); }

Hasher& Hasher::Update(std::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
  return *this;
}

Hasher& Hasher::Update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
  return *this;
}

Hasher& Hasher::Field(uint64_t value) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
  return Update(std::span<const uint8_t>(b, 8));
}

Hasher& Hasher::Field(std::string_view data) {
  Field(static_cast<uint64_t>(data.size()));
  return Update(data);
}

Digest Hasher::Finish() {
  Digest d;
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, d.bytes.data(), &len);
  return d;
}

Digest Sha256(std::string_view data) { return Hasher().Update(data).Finish(); }

std::string Digest::Hex() const {
  static const char* kHex = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    s[2 * i] = kHex[bytes[i] >> 4];
    s[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return s;
}

std::string Digest::ShortHex() const { return Hex().substr(0, 12); }

Result<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return Status::InvalidArgument("digest", "expected 64 hex characters, got " +
                                                 std::to_string(hex.size()));
  }
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d;
  for (size_t i = 0; i < 32; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("digest", "not a hex string");
    d.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

Digest Digest::FromBytes(std::string_view raw) {
  Digest d;
  std::memcpy(d.bytes.data(), raw.data(), std::min<size_t>(raw.size(), 32));
  return d;
}

}  // namespace gem
