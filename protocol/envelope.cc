// Copyright the gem authors. The envelope: framing, version, id and type around a typed body.
#include <exception>
#include <utility>

#include "gem/protocol.h"
#include "protocol/codec.h"

namespace gem::protocol {
namespace {

using codec::FindKey;

// The body alternative of type `type` in variant V, or false when no alternative has that kType.
template <class V, size_t I = 0>
bool MakeBody(std::string_view type, V* out) {
  if constexpr (I < std::variant_size_v<V>) {
    using Alt = std::variant_alternative_t<I, V>;
    if (type == Alt::kType) {
      out->template emplace<I>();
      return true;
    }
    return MakeBody<V, I + 1>(type, out);
  } else {
    return false;
  }
}

template <class V, size_t I = 0>
void CollectTypes(std::vector<std::string>* out) {
  if constexpr (I < std::variant_size_v<V>) {
    out->push_back(std::variant_alternative_t<I, V>::kType);
    CollectTypes<V, I + 1>(out);
  }
}

// Reply bodies by request type (docs/PROTOCOL.md, "Replies").
bool MakeReplyBody(std::string_view type, ReplyBody* out) {
  if (type == HealthRequest::kType)
    *out = HealthReply{};
  else if (type == TreeRegisterRequest::kType)
    *out = TreeReply{};
  else if (type == TreeListRequest::kType)
    *out = TreeListReply{};
  else if (type == TreeShowRequest::kType)
    *out = TreeShowReply{};
  else if (type == SearchStartRequest::kType || type == SearchStatusRequest::kType ||
           type == SearchCancelRequest::kType || type == SearchResumeRequest::kType)
    *out = JobReply{};
  else if (type == SearchListRequest::kType)
    *out = JobListReply{};
  else if (type == SearchResultRequest::kType)
    *out = SearchResultReply{};
  else if (type == SearchWatchRequest::kType)
    *out = WatchEvent{};
  else if (type == CacheStatsRequest::kType)
    *out = CacheStatsReply{};
  else if (type == CacheExportRequest::kType)
    *out = CacheExportReply{};
  else if (type == CacheImportRequest::kType)
    *out = CacheImportReply{};
  else if (type == ShutdownRequest::kType)
    *out = ShutdownReply{};
  else if (type == InfoRequest::kType)
    *out = InfoReply{};
  else if (type == ReportTreeRequest::kType)
    *out = ReportTreeReply{};
  else if (type == ReportSearchRequest::kType)
    *out = ReportSearchReply{};
  else if (type == ClusterStatusRequest::kType)
    *out = ClusterStatusReply{};
  else
    return false;
  return true;
}

std::string JoinTypes() {
  std::string s;
  for (const auto& t : RequestTypes()) s += (s.empty() ? "" : ", ") + t;
  return s;
}

// Unpacks exactly one msgpack object from `frame`. The limits keep a hostile length prefix
// (e.g. "array of 4 billion elements" in a 6-byte frame) from allocating: no container or string
// can be longer than the frame itself, and nesting is capped.
Status Unpack(std::string_view frame, size_t max_frame_bytes, msgpack::object_handle* oh) {
  if (frame.size() > max_frame_bytes) {
    return Status::ResourceExhausted("frame", "of " + std::to_string(frame.size()) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(max_frame_bytes) + " bytes");
  }
  if (frame.empty()) return Status::InvalidArgument("frame", "empty (expected a msgpack map)");
  const size_t n = frame.size();
  msgpack::unpack_limit limit(n, n, n, n, n, /*depth=*/32);
  size_t off = 0;
  try {
    *oh = msgpack::unpack(frame.data(), frame.size(), off, nullptr, nullptr, limit);
  } catch (const msgpack::insufficient_bytes&) {
    return Status::InvalidArgument("frame", "truncated: the msgpack data ends before the message");
  } catch (const msgpack::depth_size_overflow&) {
    return Status::InvalidArgument("frame", "nested deeper than 32 levels");
  } catch (const msgpack::size_overflow&) {
    return Status::InvalidArgument("frame", "a length inside the msgpack data exceeds the frame");
  } catch (const msgpack::parse_error& e) {
    return Status::InvalidArgument("frame", std::string("not msgpack (") + e.what() + ")");
  } catch (const std::exception& e) {
    return Status::InvalidArgument("frame", std::string("undecodable (") + e.what() + ")");
  }
  if (off != frame.size()) {
    return Status::InvalidArgument(
        "frame", std::to_string(frame.size() - off) + " trailing bytes after the message");
  }
  return Status::OK();
}

// Reads v, id and type of an envelope, in the order that lets an error reply echo id and type.
Status ReadEnvelope(const msgpack::object& o, uint64_t* id, std::string* type) {
  if (o.type != msgpack::type::MAP) {
    return Status::InvalidArgument(
        "frame",
        std::string("expected a msgpack map (the envelope), got ") + codec::DescribeType(o));
  }
  codec::ReadVisitor r{o, "", Status()};
  uint32_t version = 0;
  r.Req("id", *id);
  r.Req("type", *type);
  r.Req("v", version);
  GEM_RETURN_IF_ERROR(r.status);
  if (version != kVersion) {
    return Status::NotSupported("protocol version " + std::to_string(version),
                                "this build speaks version " + std::to_string(kVersion));
  }
  return Status::OK();
}

const msgpack::object& BodyOf(const msgpack::object& envelope) {
  static const msgpack::object kEmptyMap = [] {
    msgpack::object o;
    o.type = msgpack::type::MAP;
    o.via.map.size = 0;
    o.via.map.ptr = nullptr;
    return o;
  }();
  const msgpack::object* b = FindKey(envelope, "body");
  return (b == nullptr || b->type == msgpack::type::NIL) ? kEmptyMap : *b;
}

// The envelope's map header and its first two fields, "v" and "id".
void PackEnvelopeStart(codec::Packer& pk, uint32_t fields, uint64_t id) {
  pk.pack_map(fields);
  pk.pack(std::string_view("v"));
  pk.pack(kVersion);
  pk.pack(std::string_view("id"));
  pk.pack(id);
}

}  // namespace

bool IsFinalJobState(std::string_view s) {
  return s == kJobDone || s == kJobFailed || s == kJobCancelled || s == kJobInterrupted;
}

std::vector<std::string> RequestTypes() {
  std::vector<std::string> out;
  CollectTypes<RequestBody>(&out);
  return out;
}

std::string EncodeRequest(const Request& request) {
  msgpack::sbuffer buf;
  codec::Packer pk(buf);
  PackEnvelopeStart(pk, 4, request.id);
  std::visit(
      [&](const auto& body) {
        pk.pack(std::string_view("type"));
        pk.pack(std::string_view(std::decay_t<decltype(body)>::kType));
        pk.pack(std::string_view("body"));
        codec::PackMessage(pk, body);
      },
      request.body);
  return std::string(buf.data(), buf.size());
}

Status DecodeRequest(std::string_view frame, Request* out, size_t max_frame_bytes) {
  out->id = 0;
  out->type.clear();
  msgpack::object_handle oh;
  GEM_RETURN_IF_ERROR(Unpack(frame, max_frame_bytes, &oh));
  const msgpack::object& o = oh.get();
  GEM_RETURN_IF_ERROR(ReadEnvelope(o, &out->id, &out->type));
  if (!MakeBody(out->type, &out->body)) {
    return Status::NotSupported("request type '" + out->type + "'",
                                "unknown (known types: " + JoinTypes() + ")");
  }
  return std::visit([&](auto& body) { return codec::ReadMessage(BodyOf(o), "", &body); },
                    out->body);
}

Reply ErrorReply(uint64_t id, std::string type, Status status) {
  Reply r;
  r.id = id;
  r.type = std::move(type);
  r.status = std::move(status);
  return r;
}

std::string EncodeReply(const Reply& reply) {
  msgpack::sbuffer buf;
  codec::Packer pk(buf);
  PackEnvelopeStart(pk, 6, reply.id);
  pk.pack(std::string_view("type"));
  pk.pack(reply.type);
  pk.pack(std::string_view("ok"));
  pk.pack(reply.status.ok());
  pk.pack(std::string_view("more"));
  pk.pack(reply.more);
  if (reply.status.ok()) {
    pk.pack(std::string_view("body"));
    std::visit([&](const auto& body) { codec::PackMessage(pk, body); }, reply.body);
  } else {
    pk.pack(std::string_view("error"));
    pk.pack_map(3);
    pk.pack(std::string_view("code"));
    pk.pack(static_cast<uint32_t>(reply.status.code()));
    pk.pack(std::string_view("name"));
    pk.pack(std::string_view(Status::CodeName(reply.status.code())));
    pk.pack(std::string_view("message"));
    pk.pack(reply.status.message());
  }
  return std::string(buf.data(), buf.size());
}

Status DecodeReply(std::string_view frame, Reply* out, size_t max_frame_bytes) {
  *out = Reply{};
  msgpack::object_handle oh;
  GEM_RETURN_IF_ERROR(Unpack(frame, max_frame_bytes, &oh));
  const msgpack::object& o = oh.get();
  GEM_RETURN_IF_ERROR(ReadEnvelope(o, &out->id, &out->type));
  codec::ReadVisitor r{o, "", Status()};
  bool ok = false;
  r.Req("ok", ok);
  r.Opt("more", out->more);
  GEM_RETURN_IF_ERROR(r.status);
  if (!ok) {
    const msgpack::object* e = FindKey(o, "error");
    if (e == nullptr) return Status::InvalidArgument("field 'error'", "missing in an error reply");
    codec::ReadVisitor er{*e, "error.", Status()};
    uint32_t code = 0;
    std::string message;
    er.Req("code", code);
    er.Opt("message", message);
    GEM_RETURN_IF_ERROR(er.status);
    if (code == 0 || code > static_cast<uint32_t>(Status::Code::kPermissionDenied)) {
      code = static_cast<uint32_t>(Status::Code::kInternal);
    }
    out->status = Status::FromCode(static_cast<Status::Code>(code), message);
    return Status::OK();
  }
  if (!MakeReplyBody(out->type, &out->body)) {
    return Status::NotSupported("reply type '" + out->type + "'", "unknown to this client");
  }
  return std::visit([&](auto& body) { return codec::ReadMessage(BodyOf(o), "", &body); },
                    out->body);
}

}  // namespace gem::protocol
