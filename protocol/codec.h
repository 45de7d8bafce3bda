// Copyright the gem authors. The msgpack side of the protocol's field lists (internal).
//
// A message struct lists its fields once (Fields(v)); three visitors walk that list: one counts
// fields (a msgpack map is prefixed by its size), one packs them, one reads them back with type
// checks that name the offending field. Nothing here throws out of Read*: msgpack-c's exceptions
// are caught in envelope.cc, where the frame is unpacked.
#ifndef GEM_PROTOCOL_CODEC_H_
#define GEM_PROTOCOL_CODEC_H_

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <cmath>
#include <concepts>
#include <limits>
#include <map>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gem/status.h"

namespace gem::protocol::codec {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Field lists are written against a visitor with Req/Opt; detecting them with a dummy visitor.
struct NullVisitor {
  template <class T>
  void Req(const char*, T&) {}
  template <class T>
  void Opt(const char*, T&) {}
};
template <class T>
concept Message = requires(T& t, NullVisitor& v) {
  t.Fields(v);
};

// ---- packing ---------------------------------------------------------------------------------

template <class T>
void PackValue(Packer& pk, const T& v);

struct CountVisitor {
  uint32_t n = 0;
  template <class T>
  void Req(const char*, T&) {
    ++n;
  }
  template <class T>
  void Opt(const char*, T&) {
    ++n;
  }
};

struct PackVisitor {
  Packer& pk;
  template <class T>
  void Req(const char* key, T& v) {
    pk.pack(std::string_view(key));
    PackValue(pk, v);
  }
  template <class T>
  void Opt(const char* key, T& v) {
    Req(key, v);
  }
};

template <Message M>
void PackMessage(Packer& pk, const M& m) {
  M& mm = const_cast<M&>(m);  // Fields() is shared with decoding, hence non-const; we only read
  CountVisitor count;
  mm.Fields(count);
  pk.pack_map(count.n);
  PackVisitor pack{pk};
  mm.Fields(pack);
}

template <class T>
void PackValue(Packer& pk, const T& v) {
  if constexpr (Message<T>) {
    PackMessage(pk, v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    pk.pack(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    pk.pack(v);
  } else if constexpr (std::is_integral_v<T>) {
    pk.pack(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    pk.pack_double(static_cast<double>(v));
  } else if constexpr (requires { typename T::mapped_type; }) {
    pk.pack_map(static_cast<uint32_t>(v.size()));
    for (const auto& [k, x] : v) {
      pk.pack(k);
      PackValue(pk, x);
    }
  } else {
    pk.pack_array(static_cast<uint32_t>(v.size()));
    for (const auto& x : v) PackValue(pk, x);
  }
}

// ---- reading ---------------------------------------------------------------------------------

// "a string", "an unsigned integer", ... for error messages.
const char* DescribeType(const msgpack::object& o);
// Finds `key` in a msgpack map object (string keys); nullptr when absent.
const msgpack::object* FindKey(const msgpack::object& map, std::string_view key);

template <class T>
Status ReadValue(const msgpack::object& o, const std::string& path, T* out);

inline Status TypeError(const std::string& path, const char* expected, const msgpack::object& o) {
  return Status::InvalidArgument("field '" + path + "'",
                                 std::string("expected ") + expected + ", got " + DescribeType(o));
}

struct ReadVisitor {
  const msgpack::object& map;
  std::string prefix;  // "job." for nested fields
  Status status;
  template <class T>
  void Req(const char* key, T& v) {
    Field(key, v, true);
  }
  template <class T>
  void Opt(const char* key, T& v) {
    Field(key, v, false);
  }
  template <class T>
  void Field(const char* key, T& v, bool required) {
    if (!status.ok()) return;
    const msgpack::object* o = FindKey(map, key);
    if (o == nullptr || o->type == msgpack::type::NIL) {
      if (required) status = Status::InvalidArgument("field '" + prefix + key + "'", "missing");
      return;
    }
    status = ReadValue(*o, prefix + key, &v);
  }
};

template <Message M>
Status ReadMessage(const msgpack::object& o, const std::string& path, M* out) {
  if (o.type != msgpack::type::MAP) {
    return path.empty() ? Status::InvalidArgument(
                              "body", std::string("expected a map, got ") + DescribeType(o))
                        : TypeError(path, "a map", o);
  }
  ReadVisitor r{o, path.empty() ? std::string() : path + ".", Status()};
  out->Fields(r);
  return r.status;
}

template <class T>
Status ReadValue(const msgpack::object& o, const std::string& path, T* out) {
  using msgpack::type::object_type;
  if constexpr (Message<T>) {
    return ReadMessage(o, path, out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (o.type == object_type::STR) {
      out->assign(o.via.str.ptr, o.via.str.size);
    } else if (o.type == object_type::BIN) {
      out->assign(o.via.bin.ptr, o.via.bin.size);
    } else {
      return TypeError(path, "a string", o);
    }
    return Status::OK();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (o.type != object_type::BOOLEAN) return TypeError(path, "a boolean", o);
    *out = o.via.boolean;
    return Status::OK();
  } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
    if (o.type != object_type::POSITIVE_INTEGER) return TypeError(path, "an unsigned integer", o);
    if (o.via.u64 > std::numeric_limits<T>::max()) {
      return Status::InvalidArgument("field '" + path + "'",
                                     "value " + std::to_string(o.via.u64) + " is out of range");
    }
    *out = static_cast<T>(o.via.u64);
    return Status::OK();
  } else if constexpr (std::is_integral_v<T>) {
    if (o.type == object_type::POSITIVE_INTEGER) {
      if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return Status::InvalidArgument("field '" + path + "'", "value is out of range");
      }
      *out = static_cast<T>(o.via.u64);
    } else if (o.type == object_type::NEGATIVE_INTEGER) {
      if (o.via.i64 < static_cast<int64_t>(std::numeric_limits<T>::min())) {
        return Status::InvalidArgument("field '" + path + "'", "value is out of range");
      }
      *out = static_cast<T>(o.via.i64);
    } else {
      return TypeError(path, "an integer", o);
    }
    return Status::OK();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (o.type == object_type::FLOAT32 || o.type == object_type::FLOAT64) {
      *out = static_cast<T>(o.via.f64);
    } else if (o.type == object_type::POSITIVE_INTEGER) {
      *out = static_cast<T>(o.via.u64);
    } else if (o.type == object_type::NEGATIVE_INTEGER) {
      *out = static_cast<T>(o.via.i64);
    } else {
      return TypeError(path, "a number", o);
    }
    return Status::OK();
  } else if constexpr (requires { typename T::mapped_type; }) {
    if (o.type != object_type::MAP) return TypeError(path, "a map", o);
    out->clear();
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type != object_type::STR) return TypeError(path + " key", "a string", kv.key);
      std::string k(kv.key.via.str.ptr, kv.key.via.str.size);
      typename T::mapped_type x{};
      GEM_RETURN_IF_ERROR(ReadValue(kv.val, path + "." + k, &x));
      (*out)[k] = std::move(x);
    }
    return Status::OK();
  } else {
    if (o.type != object_type::ARRAY) return TypeError(path, "an array", o);
    out->clear();
    out->reserve(o.via.array.size);
    for (uint32_t i = 0; i < o.via.array.size; ++i) {
      typename T::value_type x{};
      GEM_RETURN_IF_ERROR(ReadValue(o.via.array.ptr[i], path + "[" + std::to_string(i) + "]", &x));
      out->push_back(std::move(x));
    }
    return Status::OK();
  }
}

}  // namespace gem::protocol::codec

#endif  // GEM_PROTOCOL_CODEC_H_
