// Copyright the gem authors. Result keys and the msgpack value encoding (docs/CACHE.md).
//
// Value, format 1: a msgpack array
//   [1, correct, output, output_digest, output_bytes, reason, tokens_in, tokens_out, seconds,
//    variant, source, written_unix_ms]
// output is a str; output_digest a 32-byte bin or nil; seconds a float32; the rest unsigned
// integers except written_unix_ms (signed). Later formats only append fields, so a reader
// ignores extra trailing elements of a format it knows and refuses a format number it does not.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <chrono>
#include <exception>
#include <msgpack.hpp>

#include "gem/cache.h"

namespace gem {
namespace {

constexpr uint32_t kValueFormat = 1;
constexpr uint32_t kValueFields = 12;    // the fields every format-1 value has
constexpr uint32_t kWrittenFields = 13;  // what this build writes: + imported_by (appended)

}  // namespace

std::string ResultKey::Encode() const {
  std::string k;
  k.reserve(kEncodedSize);
  k.append(model.Bytes()).append(query.Bytes()).append(config.Bytes());
  return k;
}

Result<ResultKey> ResultKey::Decode(std::string_view bytes) {
  if (bytes.size() != kEncodedSize) {
    return Status::Corruption("result key",
                              "expected 96 bytes, got " + std::to_string(bytes.size()));
  }
  ResultKey k;
  k.model = Digest::FromBytes(bytes.substr(0, 32));
  k.query = Digest::FromBytes(bytes.substr(32, 32));
  k.config = Digest::FromBytes(bytes.substr(64, 32));
  return k;
}

CachedResult CachedResult::FromDetail(uint8_t correct, const EvalDetail& detail,
                                      size_t max_inline_output) {
  CachedResult r;
  r.correct = correct ? 1 : 0;
  r.output_bytes = detail.output.size();
  if (detail.output.size() <= max_inline_output) {
    r.output = detail.output;
  } else {
    r.output_digest = Sha256(detail.output);
  }
  r.reason = detail.reason;
  r.tokens_in = detail.tokens_in;
  r.tokens_out = detail.tokens_out;
  r.seconds = detail.seconds;
  r.variant = detail.variant;
  return r;
}

EvalDetail CachedResult::ToDetail() const {
  EvalDetail d;
  d.output = output;
  d.reason = reason;
  d.tokens_in = tokens_in;
  d.tokens_out = tokens_out;
  d.seconds = seconds;
  d.variant = variant;
  return d;
}

std::string CachedResult::Encode() const {
  msgpack::sbuffer buf(64 + output.size() + reason.size() + imported_by.size());
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  pk.pack_array(kWrittenFields);
  pk.pack_uint32(kValueFormat);
  pk.pack_uint8(correct ? 1 : 0);
  pk.pack_str(static_cast<uint32_t>(output.size()));
  pk.pack_str_body(output.data(), static_cast<uint32_t>(output.size()));
  if (output_digest) {
    pk.pack_bin(32);
    pk.pack_bin_body(reinterpret_cast<const char*>(output_digest->bytes.data()), 32);
  } else {
    pk.pack_nil();
  }
  pk.pack_uint64(output_bytes);
  pk.pack_str(static_cast<uint32_t>(reason.size()));
  pk.pack_str_body(reason.data(), static_cast<uint32_t>(reason.size()));
  pk.pack_uint32(tokens_in);
  pk.pack_uint32(tokens_out);
  pk.pack_float(seconds);
  pk.pack_uint8(variant);
  pk.pack_uint8(static_cast<uint8_t>(source));
  pk.pack_int64(written_unix_ms);
  pk.pack_str(static_cast<uint32_t>(imported_by.size()));
  pk.pack_str_body(imported_by.data(), static_cast<uint32_t>(imported_by.size()));
  return std::string(buf.data(), buf.size());
}

Result<CachedResult> CachedResult::Decode(std::string_view bytes) {
  try {
    size_t offset = 0;
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size(), offset);
    if (offset != bytes.size()) {
      return Status::Corruption("cached result", "trailing bytes after the value");
    }
    const msgpack::object& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 1) {
      return Status::Corruption("cached result", "not a msgpack array");
    }
    const msgpack::object* f = o.via.array.ptr;
    uint32_t format = f[0].as<uint32_t>();
    if (format != kValueFormat) {
      return Status::Corruption("cached result", "unknown value format " + std::to_string(format) +
                                                     " (this build "
                                                     "reads format " +
                                                     std::to_string(kValueFormat) + ")");
    }
    if (o.via.array.size < kValueFields) {
      return Status::Corruption("cached result",
                                "format 1 value with " + std::to_string(o.via.array.size) +
                                    " fields, expected " + std::to_string(kValueFields));
    }
    CachedResult r;
    r.correct = f[1].as<uint8_t>() ? 1 : 0;
    r.output = f[2].as<std::string>();
    if (f[3].type == msgpack::type::BIN) {
      if (f[3].via.bin.size != 32) {
        return Status::Corruption("cached result", "output digest is not 32 bytes");
      }
      r.output_digest = Digest::FromBytes(std::string_view(f[3].via.bin.ptr, 32));
    } else if (f[3].type != msgpack::type::NIL) {
      return Status::Corruption("cached result", "output digest is neither bin nor nil");
    }
    r.output_bytes = f[4].as<uint64_t>();
    r.reason = f[5].as<std::string>();
    r.tokens_in = f[6].as<uint32_t>();
    r.tokens_out = f[7].as<uint32_t>();
    r.seconds = f[8].as<float>();
    r.variant = f[9].as<uint8_t>();
    uint8_t source = f[10].as<uint8_t>();
    if (source > static_cast<uint8_t>(ResultSource::kImportedLmEval)) {
      return Status::Corruption("cached result", "unknown source " + std::to_string(source));
    }
    r.source = static_cast<ResultSource>(source);
    r.written_unix_ms = f[11].as<int64_t>();
    if (o.via.array.size > 12 && f[12].type != msgpack::type::NIL) {
      r.imported_by = f[12].as<std::string>();
    }
    return r;
  } catch (const std::exception& e) {
    return Status::Corruption("cached result", std::string("undecodable value: ") + e.what());
  }
}

}  // namespace gem
