// Copyright the gem authors. The dispatcher: gemd's side of the worker protocol (wire.h).
//
// It owns the worker socket (a ROUTER on tcp with CURVE; the ZAP handler admits only the keys of
// the keyring, i.e. of live worker jobs) and one I/O thread, which is the only thread that
// touches the socket. Searches call Evaluate() from their own threads: it splits what they ask
// into units (one model, a list of queries, the prompt variants), queues them and blocks until
// every result is in. The I/O thread hands units to workers that said `ready` (preferring a
// worker that already holds the unit's tree; otherwise it sends `load` first), and takes results
// back.
//
// Results: each is written to the cache (gem::Cache::PutBatch, indexed under the task, exactly
// the CachedResult a local CachedEvaluator would write) when its unit's result arrives, before
// any search sees it. Exactly once: a (model, query, config) already in flight for another
// search is not sent again, the second asker waits for the first unit; a unit is leased to one
// worker at a time, and a result whose lease is no longer current (its worker was declared gone
// and the unit leased again) is dropped and counted, never written.
//
// Faults: a worker that says `bye` (SIGTERM from scancel or preemption, its idle timeout), that
// is silent for liveness x heartbeat_ms, or whose Slurm task ended (WorkersGone, from the
// provisioner) is gone; its unit is queued again, at the front, for another worker. A unit's
// error (the worker's engine or grader failed) fails the searches waiting on it with that error,
// as a local evaluation error would. A worker whose `loaded` fingerprint differs from gemd's
// (another gem version, other files on its node) is refused and stopped.
//
// Thread-safety: thread-safe. Evaluate() blocks the calling thread; Start/Stop from one thread.
#ifndef GEM_CLUSTER_DISPATCHER_H_
#define GEM_CLUSTER_DISPATCHER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cluster/keys.h"
#include "cluster/wire.h"
#include "gem/cache.h"
#include "gem/digest.h"
#include "gem/evaluator.h"
#include "gem/status.h"

namespace gem::cluster {

// A tree as the cluster evaluates it: what a worker needs to build it, and the digests that make
// gemd's cache keys. Immutable once built; shared by the searches of that tree and task.
struct TreeSpec {
  std::string name;             // the tree's name, for messages
  std::string id;               // "<name>/<task>@<fingerprint, 12 hex>": Load/Unit `tree`
  std::string record;           // gem::EncodeTreeRecord: what the worker builds the tree from
  std::string task;             // the task's name
  std::string data_dir;         // gemd's data dir as the nodes see it
  std::string origin_data_dir;  // gemd's data dir as gemd sees it
  std::string tasks_dir;        // built-in tasks as the nodes see them
  double replay_delay_ms = 0;   // Load::replay_delay_ms
  std::vector<Digest> models;
  std::vector<Digest> queries;
  std::vector<Digest> configs;  // one per prompt variant (replay trees: one)
  Digest task_digest;
  Digest fingerprint;  // TreeFingerprint(models, task_digest, queries, configs)
};

// Builds a TreeSpec (fills id and fingerprint).
std::shared_ptr<const TreeSpec> MakeTreeSpec(TreeSpec spec);

// One (model, query, prompt variant) to evaluate.
struct Triple {
  uint32_t model = 0;
  uint32_t query = 0;
  uint32_t variant = 0;
};

// Where a unit ran.
struct Placement {
  std::string worker;  // "123_4.0"
  std::string node;
  std::string gpu;
  std::string device;
};

// The answer to one Triple.
struct TripleResult {
  uint8_t correct = 0;
  EvalDetail detail;  // detail.variant is the triple's variant
};

struct DispatcherOptions {
  std::string endpoint;           // where the ROUTER binds, e.g. "tcp://0.0.0.0:7356" or
                                  // "tcp://127.0.0.1:*" (a free port; endpoint() says which)
  std::string server_secret_key;  // gemd's CURVE secret key (z85)
  uint32_t heartbeat_ms = kDefaultHeartbeatMs;
  uint32_t liveness = kDefaultLiveness;
  uint32_t unit_queries = 256;  // a model's queries are split into units of at most this many
  size_t max_message_bytes = 256u << 20;
  // Hold workers' CURVE handshakes (they wait; they are not refused) until OpenAdmission(). A
  // restarting gemd re-admits the keys of the jobs it adopts first: a worker refused once never
  // reconnects (libzmq ends a session whose handshake failed).
  bool hold_admission = false;
};

// Counters, for cache.stats and the tests.
struct DispatcherStats {
  uint64_t units_done = 0;
  uint64_t units_requeued = 0;         // leased again after their worker was gone
  uint64_t results_written = 0;        // cache entries written from workers' results
  uint64_t results_joined = 0;         // triples a search did not send because they were in flight
  uint64_t stale_results_dropped = 0;  // results of a lease no longer current: not written
  uint64_t workers_joined = 0;         // welcomed hellos
  uint64_t workers_lost = 0;           // bye, silence or their Slurm task ended
  uint64_t workers_refused = 0;
};

// A worker as gemd sees it.
struct WorkerInfo {
  std::string id, slurm_job, node, gpu, device, key_name, tree;
  bool busy = false;
  double idle_s = 0;  // since it last finished a unit (or joined)
};

class Dispatcher {
 public:
  // REQUIRES: cache and keyring outlive the dispatcher.
  Dispatcher(DispatcherOptions options, Cache* cache, Keyring* keyring);
  ~Dispatcher();  // Stop()

  // Binds the socket and starts the I/O thread. InvalidArgument for a bad endpoint or key,
  // IOError when the endpoint cannot be bound (in use).
  Status Start();
  // Tells every worker `stop` when `stop_workers` (they exit; gemd is going away for good),
  // wakes every waiting Evaluate (Aborted), joins the thread, closes the socket.
  void Stop(bool stop_workers);
  // The bound endpoint (with the port the OS chose for "*").
  std::string endpoint() const;
  // Ends DispatcherOptions::hold_admission: waiting and later handshakes are answered from the
  // keyring from now on. Thread-safe; idempotent.
  void OpenAdmission();

  // Evaluates `triples` of `tree` on the workers and blocks until all are answered; results[i]
  // answers triples[i]. Each result is written to the cache on arrival (see above). `on_unit`
  // (optional) is called on the I/O thread after each unit this call waited on completes, with
  // where it ran and how many of this call's triples it answered. Aborted when *stop becomes true
  // (checked every 20 ms) or the dispatcher stops; the unit's error when a unit fails.
  // REQUIRES: every index is in range of tree.
  Status Evaluate(const std::shared_ptr<const TreeSpec>& tree, std::span<const Triple> triples,
                  uint64_t job, const std::atomic<bool>* stop, std::vector<TripleResult>* results,
                  const std::function<void(const Placement&, uint32_t answered)>& on_unit = {});

  // Declares the workers of these keyring names (Slurm submissions) gone, e.g. when Slurm says
  // their tasks ended (prefix match on the worker id: "123_4" ends "123_4.0", "123_4.1").
  void SlurmTasksEnded(const std::vector<std::string>& slurm_tasks);
  // Sends `stop` to the workers of these Slurm tasks (the provisioner releases idle tasks).
  void StopWorkersOf(const std::vector<std::string>& slurm_tasks, const std::string& reason);

  // Fails every search waiting on a unit that no worker holds, with `problem` (the provisioner:
  // worker jobs cannot be launched, so waiting would be for ever).
  void FailPending(const std::string& problem);

  // Units queued or leased (the demand the provisioner sizes the cluster for).
  size_t pending_units() const;
  std::vector<WorkerInfo> workers() const;
  DispatcherStats stats() const;

 private:
  struct Call;
  struct UnitState;
  struct Peer;
  struct Subscriber {
    Call* call;
    size_t index;
  };

  void Run();
  void HandleFrame(const std::string& routing_id, const std::string& user_id,
                   const std::string& frame);
  void Tick();
  void Assign();
  void WorkerGone(const std::string& routing_id, const std::string& why);
  void SendTo(Peer& peer, const Message& m);
  void Wake();
  void FinishUnitLocked(UnitState& u, const UnitResult& r, const Peer& peer);
  void FailUnitLocked(UnitState& u, const std::string& error);
  void DetachCallLocked(Call* call);

  const DispatcherOptions options_;
  Cache* const cache_;
  Keyring* const keyring_;

  mutable std::mutex mu_;
  std::condition_variable cv_;                                // a Call's progress
  std::map<uint64_t, std::unique_ptr<UnitState>> units_;      // guarded by mu_
  std::deque<uint64_t> queue_;                                // units to lease; guarded by mu_
  std::map<ResultKey, std::vector<Subscriber>> inflight_;     // guarded by mu_
  std::map<std::string, std::unique_ptr<Peer>> peers_;        // by routing id; guarded by mu_
  uint64_t next_unit_ = 1, next_lease_ = 1;                   // guarded by mu_
  DispatcherStats stats_;                                     // guarded by mu_
  std::string bound_endpoint_;                                // guarded by mu_
  bool stopping_ = false;                                     // guarded by mu_
  bool stop_workers_ = false;                                 // guarded by mu_
  std::vector<std::pair<std::string, std::string>> to_stop_;  // (slurm task, reason); mu_

  std::atomic<bool> admission_open_{true};  // hold_admission until OpenAdmission()
  int wake_fd_ = -1;                        // eventfd: Evaluate() and Stop() wake the I/O thread
  std::thread thread_;
  struct Sockets;
  std::unique_ptr<Sockets> sockets_;  // touched only by the I/O thread after Start()
};

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_DISPATCHER_H_
