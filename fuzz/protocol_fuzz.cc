// Copyright the gem authors. Fuzz target: gemd's request decoder (docs/PROTOCOL.md) on any
// frame, then the reply decoder, a re-encode of whatever decoded, and the job and tree record
// decoders. Decoding must never crash, throw, or allocate beyond the frame.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gem/protocol.h"
#include "gem/searchable_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  gem::protocol::Request req;
  if (gem::protocol::DecodeRequest(frame, &req, 1 << 20).ok()) {
    std::string again = gem::protocol::EncodeRequest(req);
    gem::protocol::Request req2;
    if (!gem::protocol::DecodeRequest(again, &req2, 1 << 22).ok()) __builtin_trap();
  }
  gem::protocol::Reply reply;
  if (gem::protocol::DecodeReply(frame, &reply, 1 << 20).ok()) {
    (void)gem::protocol::EncodeReply(reply);
  }
  gem::protocol::JobInfo job;
  (void)gem::protocol::DecodeRecord(frame, &job);
  (void)gem::DecodeTreeRecord(frame);  // tree records are libgem's (gem/searchable_tree.h)
  return 0;
}
