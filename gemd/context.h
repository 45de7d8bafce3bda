// Copyright the gem authors. What the stages of gemd share (bitcoind's NodeContext, smaller).
//
// Start-up fills the members in stage order; `state` becomes kReady only after all of them are
// set (release/acquire on `state`), so the server thread, which starts answering health right
// after the bind stage, touches the others only once it reads kReady.
#ifndef GEMD_CONTEXT_H_
#define GEMD_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "access.h"
#include "cluster.h"
#include "config.h"
#include "gem/cache.h"
#include "gem/sandbox.h"
#include "gem/searchable_tree.h"
#include "jobs.h"
#include "scheduler.h"
#include "trees.h"

namespace gemd {

enum class State { kStarting, kReady, kStopping };

struct Context {
  Config config;
  AccessPolicy access;       // from config's [access] (settings stage)
  gem::SandboxHost sandbox;  // where generated code runs (settings stage; config's [sandbox])
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::atomic<State> state{State::kStarting};
  std::atomic<bool> shutdown_requested{false};

  std::unique_ptr<gem::Cache> cache;          // owns the store (<data_dir>/db)
  std::unique_ptr<gem::ResidentBases> bases;  // base models of manifest trees, loaded once
  std::unique_ptr<TreeRegistry> trees;
  std::unique_ptr<JobTable> jobs;
  std::unique_ptr<Scheduler> scheduler;
  // The slurm executor (docs/CLUSTER.md), when cluster.worker_endpoint is set: the worker
  // socket and Slurm jobs, and the scheduler of slurm searches ("slurm:0", ...).
  std::unique_ptr<ClusterExecutor> cluster;
  std::unique_ptr<Scheduler> cluster_scheduler;

  // The scheduler of a job with this executor ("local", "slurm"; "" is "local").
  Scheduler* SchedulerFor(const std::string& executor) {
    return executor == "slurm" ? cluster_scheduler.get() : scheduler.get();
  }

  // Totals since start-up, for cache.stats.
  std::atomic<uint64_t> evaluations_run{0};
  std::atomic<uint64_t> evaluations_cached{0};
  std::atomic<uint32_t> watchers{0};  // open search.watch streams (the server's count)

  // cache.stats scans the store; the last scan answers every request until the store changes.
  std::mutex stats_mu;
  std::shared_ptr<const gem::CacheStats> last_stats;  // guarded by stats_mu
  uint64_t last_stats_sequence = 0;                   // guarded by stats_mu: RocksDB's then

  void SetStage(std::string stage) {
    std::lock_guard<std::mutex> lock(stage_mu_);
    stage_ = std::move(stage);
  }
  std::string stage() const {
    std::lock_guard<std::mutex> lock(stage_mu_);
    return stage_;
  }

 private:
  mutable std::mutex stage_mu_;
  std::string stage_ = "starting";  // guarded by stage_mu_
};

// Runs one job to its end on `device` (the scheduler's run function; search_runner.cc).
void RunJob(Context& ctx, uint64_t job, const std::string& device);

}  // namespace gemd

#endif  // GEMD_CONTEXT_H_
