// Copyright the gem authors. A gem-worker's session with gemd (docs/WORKER_PROTOCOL.md).
//
// Two threads. The session thread owns the DEALER socket: it says hello, answers gemd, sends
// heartbeats, and passes `load` and `unit` messages to the evaluation thread, which owns the
// TreeHost and runs one at a time (a unit can take minutes on a real engine; the session thread
// keeps the heartbeats going meanwhile). When the evaluation ends, the session thread sends its
// `loaded` or `result`, then `ready`.
//
// gemd gone (silent for liveness x heartbeat_ms): the worker keeps the tree it holds, says hello
// again every heartbeat period (ZeroMQ reconnects the socket by itself), and gives up after
// `lost_timeout_s` without a welcome. A result finished while gemd was gone is dropped: the new
// gemd does not know its lease, and the resumed search asks for it again.
//
// Leaving: a `stop` from gemd, SIGTERM or SIGINT (scancel, preemption, the time limit), or the
// lost timeout: the worker says `bye` with the reason and returns. A unit being evaluated is
// abandoned (gemd leases it again on `bye`).
//
// Thread-safety: Run() once, on one thread.
#ifndef GEM_CLUSTER_WORKER_SESSION_H_
#define GEM_CLUSTER_WORKER_SESSION_H_

#include <atomic>
#include <memory>
#include <string>

#include "cluster/wire.h"
#include "cluster/worker/host.h"
#include "gem/status.h"

namespace gem::cluster {

struct SessionOptions {
  std::string endpoint;           // gemd's worker endpoint, tcp://host:port
  std::string server_public_key;  // z85: gemd's key (pinned)
  std::string public_key;         // z85: this worker's key pair (its job's)
  std::string secret_key;
  Hello hello;                  // who this worker is (tree is filled in by the session)
  double lost_timeout_s = 300;  // give up after this long without gemd
  size_t max_message_bytes = 1u << 30;
};

// Runs the session until the worker leaves. OK when it left as asked (stop, SIGTERM);
// Unavailable when gemd was lost for lost_timeout_s; FailedPrecondition when gemd refused it.
// `signalled` is polled every 100 ms (the caller's signal handler sets it).
Status RunSession(const SessionOptions& options, std::unique_ptr<TreeHost> host,
                  const std::atomic<int>* signalled);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_WORKER_SESSION_H_
