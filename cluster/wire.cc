// Copyright the gem authors. The worker protocol's msgpack frames (wire.h).
#include "cluster/wire.h"

#include <exception>

#include "protocol/codec.h"

namespace gem::cluster {
namespace {

namespace codec = gem::protocol::codec;

template <size_t I = 0>
bool MakeMessage(std::string_view type, Message* out) {
  if constexpr (I < std::variant_size_v<Message>) {
    if (type == std::variant_alternative_t<I, Message>::kType) {
      out->template emplace<I>();
      return true;
    }
    return MakeMessage<I + 1>(type, out);
  } else {
    return false;
  }
}

template <size_t I = 0>
void JoinTypes(std::string* out) {
  if constexpr (I < std::variant_size_v<Message>) {
    *out += (out->empty() ? "" : ", ");
    *out += std::variant_alternative_t<I, Message>::kType;
    JoinTypes<I + 1>(out);
  }
}

// One msgpack object from the whole frame; no container or string may claim more elements than
// the frame has bytes, so a hostile length prefix cannot make us allocate.
Status Unpack(std::string_view frame, msgpack::object_handle* oh) {
  if (frame.empty()) return Status::InvalidArgument("frame", "empty (expected a msgpack map)");
  const size_t n = frame.size();
  msgpack::unpack_limit limit(n, n, n, n, n, /*depth=*/32);
  size_t off = 0;
  try {
    *oh = msgpack::unpack(frame.data(), frame.size(), off, nullptr, nullptr, limit);
  } catch (const msgpack::insufficient_bytes&) {
    return Status::InvalidArgument("frame", "truncated: the msgpack data ends before the message");
  } catch (const std::exception& e) {
    return Status::InvalidArgument("frame", std::string("not msgpack (") + e.what() + ")");
  }
  if (off != frame.size()) {
    return Status::InvalidArgument(
        "frame", std::to_string(frame.size() - off) + " trailing bytes after the message");
  }
  return Status::OK();
}

}  // namespace

std::string Encode(const Message& message) {
  msgpack::sbuffer buf;
  codec::Packer pk(buf);
  pk.pack_map(3);
  pk.pack(std::string_view("v"));
  pk.pack(kWireVersion);
  pk.pack(std::string_view("type"));
  pk.pack(std::string_view(TypeOf(message)));
  pk.pack(std::string_view("body"));
  std::visit([&](const auto& m) { codec::PackMessage(pk, m); }, message);
  return std::string(buf.data(), buf.size());
}

Status Decode(std::string_view frame, Message* out, size_t max_bytes) {
  if (frame.size() > max_bytes) {
    return Status::ResourceExhausted("frame", "of " + std::to_string(frame.size()) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(max_bytes) + " bytes");
  }
  msgpack::object_handle oh;
  GEM_RETURN_IF_ERROR(Unpack(frame, &oh));
  const msgpack::object& o = oh.get();
  if (o.type != msgpack::type::MAP) {
    return Status::InvalidArgument(
        "frame", std::string("expected a msgpack map, got ") + codec::DescribeType(o));
  }
  codec::ReadVisitor r{o, "", Status()};
  uint32_t version = 0;
  std::string type;
  r.Req("v", version);
  r.Req("type", type);
  GEM_RETURN_IF_ERROR(r.status);
  if (version != kWireVersion) {
    return Status::NotSupported("worker protocol version " + std::to_string(version),
                                "this build speaks version " + std::to_string(kWireVersion));
  }
  if (!MakeMessage(type, out)) {
    std::string known;
    JoinTypes(&known);
    return Status::InvalidArgument("message type '" + type + "'",
                                   "unknown (known types: " + known + ")");
  }
  static const msgpack::object kEmptyMap = [] {
    msgpack::object e;
    e.type = msgpack::type::MAP;
    e.via.map.size = 0;
    e.via.map.ptr = nullptr;
    return e;
  }();
  const msgpack::object* body = codec::FindKey(o, "body");
  const msgpack::object& b =
      (body == nullptr || body->type == msgpack::type::NIL) ? kEmptyMap : *body;
  return std::visit([&](auto& m) { return codec::ReadMessage(b, "", &m); }, *out);
}

const char* TypeOf(const Message& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

Digest TreeFingerprint(const std::vector<Digest>& models, const Digest& task,
                       const std::vector<Digest>& queries, const std::vector<Digest>& configs) {
  Hasher h;
  h.Field("gem.cluster.tree.v1");
  h.Field(uint64_t{models.size()});
  for (const auto& d : models) h.Field(d.Bytes());
  h.Field(task.Bytes());
  h.Field(uint64_t{queries.size()});
  for (const auto& d : queries) h.Field(d.Bytes());
  h.Field(uint64_t{configs.size()});
  for (const auto& d : configs) h.Field(d.Bytes());
  return h.Finish();
}

}  // namespace gem::cluster
