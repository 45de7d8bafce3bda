// Copyright the gem authors. Persisted records (protocol.h): the wire encoding, reused on disk.
#include <exception>

#include "gem/protocol.h"
#include "protocol/codec.h"

namespace gem::protocol {

template <class M>
std::string EncodeRecord(const M& record) {
  msgpack::sbuffer buf;
  codec::Packer pk(buf);
  codec::PackMessage(pk, record);
  return std::string(buf.data(), buf.size());
}

template <class M>
Status DecodeRecord(std::string_view bytes, M* record) {
  msgpack::object_handle oh;
  try {
    size_t off = 0;
    // No container or string may claim more elements than the record has bytes (a damaged
    // record must not make the decoder allocate gigabytes), as the envelope decoder does.
    const size_t n = bytes.size();
    msgpack::unpack_limit limit(n, n, n, n, n, /*depth=*/32);
    oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size()) return Status::Corruption("record", "trailing bytes");
  } catch (const std::exception& e) {
    return Status::Corruption("record", std::string("undecodable msgpack: ") + e.what());
  }
  *record = M{};
  Status st = codec::ReadMessage(oh.get(), "", record);
  if (!st.ok()) return Status::Corruption("record", st.message());
  return Status::OK();
}

template std::string EncodeRecord(const JobInfo&);
template std::string EncodeRecord(const SearchResultReply&);
template std::string EncodeRecord(const SearchTraceRecord&);
template Status DecodeRecord(std::string_view, JobInfo*);
template Status DecodeRecord(std::string_view, SearchResultReply*);
template Status DecodeRecord(std::string_view, SearchTraceRecord*);

}  // namespace gem::protocol
