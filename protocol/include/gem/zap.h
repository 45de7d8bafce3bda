// Copyright the gem authors. The two halves of a ZeroMQ authentication (ZAP, RFC 27) handler,
// shared by gemd's tcp endpoint (gemd/auth.cc) and the cluster dispatcher's worker endpoint
// (cluster/dispatcher.cc), which differ only in whom they admit: reading one request from the
// handler socket ("inproc://zeromq.zap.01") and sending its reply. Header-only: included by
// targets that link cppzmq (gem_protocol itself does not).
//
// Thread-safety: as the socket's (one thread). Failure: zmq::error_t from the socket escapes to
// the caller, which owns the handler loop.
#ifndef GEM_ZAP_H_
#define GEM_ZAP_H_

#include <iterator>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace gem {

// One ZAP request: version, request id, domain, address, identity, mechanism, credentials.
struct ZapRequest {
  size_t frames = 0;  // how many frames it had (a well-formed one has at least 6)
  std::string version, request_id, address, mechanism;
  std::string curve_key;  // the client's 32-byte public key (mechanism CURVE), else empty
};

// Receives one request without blocking; false when none is waiting.
inline bool ReceiveZapRequest(zmq::socket_t& zap, ZapRequest* r) {
  std::vector<zmq::message_t> req;
  if (!zmq::recv_multipart(zap, std::back_inserter(req), zmq::recv_flags::dontwait)) return false;
  auto frame = [&](size_t i) { return req.size() > i ? req[i].to_string() : std::string(); };
  r->frames = req.size();
  r->version = frame(0);
  r->request_id = frame(1);
  r->address = frame(3);
  r->mechanism = frame(5);
  r->curve_key = req.size() >= 7 && req[6].size() == 32 ? req[6].to_string() : std::string();
  return true;
}

// Answers `r`: status "200" (admitted, as `user`: the User-Id the socket's messages then carry)
// or "400" (refused), with a human-readable `text`.
inline void SendZapReply(zmq::socket_t& zap, const ZapRequest& r, bool admitted,
                         std::string_view text, std::string_view user = {}) {
  std::vector<zmq::message_t> rep;
  rep.emplace_back(std::string("1.0"));
  rep.emplace_back(r.request_id);
  rep.emplace_back(std::string(admitted ? "200" : "400"));
  rep.emplace_back(std::string(text));
  rep.emplace_back(std::string(user));
  rep.emplace_back();
  zmq::send_multipart(zap, rep);
}

}  // namespace gem

#endif  // GEM_ZAP_H_
