// Copyright the gem authors. The provisioner: how many workers gemd holds on the cluster, through
// Slurm (docs/CLUSTER.md, "Sizing" and "gemd restarts").
//
// Every tick (500 ms, its own thread) it compares the dispatcher's demand (units queued or
// leased) with the worker jobs it has:
//   * demand and fewer than `max_nodes` live array tasks: it submits a job array for the
//     difference (at most ceil(demand / gpus_per_node) tasks in all), with a fresh CURVE key
//     pair in <work_dir>/<submission>/ whose public key joins the keyring;
//   * an array task none of whose workers has worked for `idle_timeout_s` while there is no
//     demand is cancelled (scancel 123_4): an idle gemd holds no cluster resources;
//   * every `poll_s` it asks squeue how its jobs are: tasks that ended (completed, cancelled,
//     preempted, failed, timed out) are reported to the dispatcher, which gives their workers'
//     units to others; a submission whose tasks all ended has its key removed and deleted.
// A task that ran and ended (or runs for `join_timeout_s`) without any worker ever joining is a
// launch failure: gem-worker missing on the node, unreadable keys, gemd's endpoint unreachable.
// It fails the searches waiting for the cluster with the problem and the log file to read,
// rather than letting them wait for ever, and no job is submitted for 30 s.
//
// Submissions are persisted (the store's "jobs" family, keys "cluster/<name>", docs/GEMD.md):
// after a crash, Recover() finds the jobs still running; those whose workers connect to the
// endpoint gemd serves now are adopted (their keys admitted again: the workers reconnect, with
// the trees they hold), the others are cancelled. Shutdown() (a graceful stop) cancels them all.
//
// Thread-safety: thread-safe. Start/Stop/Recover/Shutdown from one thread.
#ifndef GEM_CLUSTER_PROVISIONER_H_
#define GEM_CLUSTER_PROVISIONER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/dispatcher.h"
#include "cluster/keys.h"
#include "cluster/sbatch.h"
#include "cluster/slurm.h"
#include "gem/status.h"
#include "gem/store.h"

namespace gem::cluster {

struct ProvisionerOptions {
  SbatchOptions sbatch;
  std::string template_text = kDefaultSbatchTemplate;
  uint32_t max_nodes = 2;         // live array tasks at most (each: gpus_per_node workers)
  double idle_timeout_s = 300;    // cancel a task idle this long while nothing is asked
  double join_timeout_s = 120;    // a running task with no worker joined by then has failed
  double poll_s = 5;              // squeue period
  std::string work_dir;           // keys, scripts and logs of submissions (shared with nodes)
  std::string endpoint;           // what workers connect to (advertised)
  std::string server_public_key;  // z85; written to <work_dir>/server.pub
  std::string worker_program;     // gem-worker as the nodes see it
  std::vector<std::string> worker_args;  // extra gem-worker arguments (--data-dir, ...)
  double lost_timeout_s = 300;           // gem-worker --lost-timeout
};

// A worker job gemd submitted. Persisted (msgpack map with these field names; docs/GEMD.md).
struct Submission {
  std::string name;        // "s<n>": its directory and keyring name
  std::string slurm_job;   // "123"
  uint32_t tasks = 0;      // array size
  std::string endpoint;    // the endpoint its workers connect to
  std::string public_key;  // z85
  int64_t submitted_at = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("name", name);
    v.Req("slurm_job", slurm_job);
    v.Req("tasks", tasks);
    v.Opt("endpoint", endpoint);
    v.Opt("public_key", public_key);
    v.Opt("submitted_at", submitted_at);
  }
};

// What `gemctl cluster status` shows of one array task.
struct TaskStatus {
  std::string slurm_task;  // "123_4"
  std::string submission;
  std::string state;  // squeue's state, or "ENDED"
  std::string node;
  std::string reason;
  uint32_t workers = 0;  // joined now
};

struct ProvisionerStats {
  uint64_t submitted_jobs = 0;
  uint64_t submitted_tasks = 0;
  uint64_t cancelled_idle_tasks = 0;
  uint64_t ended_tasks = 0;
  uint64_t launch_failures = 0;
  uint64_t adopted_jobs = 0;
  uint64_t cancelled_at_recovery = 0;
};

class Provisioner {
 public:
  // REQUIRES: everything outlives the provisioner.
  Provisioner(ProvisionerOptions options, const Slurm* slurm, Keyring* keyring,
              Dispatcher* dispatcher, Store* store);
  ~Provisioner();  // Stop()

  // Writes <work_dir>/server.pub and adopts or cancels the submissions a previous gemd left
  // (see above), then opens the dispatcher's admission (DispatcherOptions::hold_admission), so
  // no worker of an adopted job is refused before its key is back. IOError when the work dir
  // cannot be written; Slurm being unreachable is logged, not fatal (the records stay for the
  // next try).
  Status Recover();
  void Start();  // the tick thread
  void Stop();   // joins it
  // Cancels every live submission, removes their keys and records (a graceful stop).
  void Shutdown();

  std::vector<TaskStatus> tasks() const;
  ProvisionerStats stats() const;

 private:
  struct Live;
  void Loop();
  void Tick();
  void Poll();
  Status Submit(uint32_t tasks);
  void Retire(const std::string& name);  // all tasks ended: key, files, record
  void LaunchFailed(Live& s, const std::string& task, const std::string& why);
  Status Persist(const Submission& s);

  const ProvisionerOptions options_;
  const Slurm* slurm_;
  Keyring* keyring_;
  Dispatcher* dispatcher_;
  Store* store_;

  mutable std::mutex mu_;
  std::map<std::string, Live> live_;                                  // by name; guarded by mu_
  uint64_t next_ = 1;                                                 // guarded by mu_
  ProvisionerStats stats_;                                            // guarded by mu_
  std::chrono::steady_clock::time_point last_poll_{}, hold_until_{};  // guarded by mu_

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_ = false;  // guarded by run_mu_
  std::thread thread_;
};

// The persisted form of a submission and back (Corruption naming the problem).
std::string EncodeSubmission(const Submission& s);
Result<Submission> DecodeSubmission(std::string_view bytes);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_PROVISIONER_H_
