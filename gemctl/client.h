// Copyright the gem authors. gemctl's connection to gemd: one DEALER socket, request/reply by id.
//
// Each request carries a fresh id; replies with another id (late answers to an earlier, timed-out
// attempt) are dropped. Over tcp the socket is a CURVE client; a failed handshake (gemd refused
// the key) is reported as PermissionDenied-like Unavailable with a message that says so, instead
// of a silent timeout.
#ifndef GEMCTL_CLIENT_H_
#define GEMCTL_CLIENT_H_

#include <memory>
#include <string>
#include <zmq.hpp>

#include "gem/protocol.h"
#include "gem/status.h"

namespace gemctl {

struct ClientOptions {
  std::string endpoint;
  std::string curve_server_key;  // tcp: gemd's public key (z85) or a file holding it
  std::string curve_secret_key;  // tcp: our secret key file (gemctl keygen)
};

// Why a call got no reply: gemd did not answer in time, or refused us outright.
enum class Failure { kNone, kTimeout, kRefused };

class Client {
 public:
  gem::Status Connect(const ClientOptions& options);

  // Sends `body` as a new request; the id is returned through *id.
  gem::Status Send(const gem::protocol::RequestBody& body, uint64_t* id);
  // Waits up to timeout_ms for the next reply to `id`. On no reply returns Unavailable and sets
  // failure() (kTimeout or kRefused).
  gem::Result<gem::protocol::Reply> Receive(uint64_t id, int timeout_ms);
  // Send + Receive.
  gem::Result<gem::protocol::Reply> Call(const gem::protocol::RequestBody& body, int timeout_ms);
  // Asks for health until gemd answers or `seconds` pass.
  gem::Status WaitForDaemon(double seconds);

  Failure failure() const { return failure_; }
  const std::string& endpoint() const { return options_.endpoint; }

 private:
  ClientOptions options_;
  zmq::context_t zctx_{1};
  std::unique_ptr<zmq::socket_t> sock_;
  std::unique_ptr<zmq::socket_t> monitor_;
  uint64_t next_id_ = 1;
  Failure failure_ = Failure::kNone;
};

}  // namespace gemctl

#endif  // GEMCTL_CLIENT_H_
