// Copyright the gem authors. The server: ZeroMQ ROUTER sockets, one thread, never blocked by work.
//
// One thread owns every socket: the ipc ROUTER, the optional tcp ROUTER (CURVE server) and the
// ZAP handler's REP socket. It polls them every 100 ms at most, decodes each request (protocol.h),
// dispatches it (handlers.h), streams search.watch events, and ticks the systemd watchdog. It
// never runs a search: search.start only queues a job.
//
// Framing: a client DEALER sends [""][request] (REQ-compatible) or just [request]; the reply
// mirrors whichever it used. A frame the protocol cannot read still gets an error reply (with
// id 0 and type "" when even those were unreadable); only frames above the hard cap
// (2 x max_message_bytes + 64 KiB, ZMQ_MAXMSGSIZE) make libzmq drop the connection instead.
//
// Thread-safety: Start/Stop from one thread (main).
#ifndef GEMD_SERVER_H_
#define GEMD_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "context.h"
#include "gem/status.h"

namespace gemd {

class Server {
 public:
  explicit Server(Context& ctx);
  ~Server();

  // Binds every endpoint on the server thread and starts serving (health answers from now on).
  // Fails, naming the endpoint, when a bind fails or the ipc endpoint is in use by a live server.
  gem::Status Start();
  // Ends the loop, closes the sockets, removes the ipc socket file.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemd

#endif  // GEMD_SERVER_H_
