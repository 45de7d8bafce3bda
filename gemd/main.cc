// Copyright the gem authors. gemd: start-up in stages, wait, interrupt, shut down.
//
// As bitcoind's AppInit: each stage fails cleanly with a message naming what failed (exit 1),
// and stopping is two steps: Interrupt (stop accepting work, stop running searches, wake
// waiters) then Shutdown (join workers, close sockets and the store, release the lock).
//   1. settings    flags + TOML (config.cc)
//   2. lock        the data directory (datadir_lock.cc)
//   3. bind        the sockets (server.cc): from here health is answered, state "starting"
//   4. store       open RocksDB (<data_dir>/db): the result cache, jobs and trees
//   5. trees       rebuild registered trees ("model load"; later: the resident base model)
//   6. jobs        read job records; those cut off by a stop or crash become "interrupted"
//   6b. cluster    with cluster.worker_endpoint: the worker socket, and the worker jobs a
//                  crashed gemd left adopted or cancelled (cluster.h, docs/CLUSTER.md)
//   7. scheduler   one worker per device (and per slurm search slot); READY=1
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "config.h"
#include "context.h"
#include "datadir_lock.h"
#include "devices.h"
#include "notify.h"
#include "server.h"

namespace gemd {
namespace {

std::atomic<bool> g_signalled{false};
void OnSignal(int) { g_signalled = true; }

// Where MBPP-style generated code runs (gem/sandbox.h, docs/SECURITY.md): the grader service
// when one is configured, else a sandboxed child of gemd. Either way it must not see the data
// dir (the cache) nor the directory of gemd's socket.
gem::SandboxHost GraderSandbox(const Config& c) {
  gem::SandboxHost host;
  host.service_socket = c.sandbox_service_socket;
  host.require_other_uid = !c.sandbox_allow_same_uid;
  host.hidden_paths = {c.data_dir};
  for (const std::string& ep : {c.endpoint}) {
    if (ep.rfind("ipc://", 0) != 0) continue;
    std::string dir = ep.substr(6, ep.rfind('/') > 6 ? ep.rfind('/') - 6 : 0);
    if (!dir.empty() && dir != "/" && dir != "/tmp" && dir != "/run" && dir != "/var/tmp" &&
        dir.find(c.data_dir) != 0) {
      host.hidden_paths.push_back(dir);
    }
  }
  return host;
}

// A store made before gemd set its umask, or by hand, may be group-writable or readable by
// anyone: take that away (group read stays, for backups by a group an admin chose).
void PrivateStore(const std::string& db) {
  struct stat st;
  if (::stat(db.c_str(), &st) != 0) return;
  const mode_t want = st.st_mode & 07777 & ~static_cast<mode_t>(S_IWGRP | S_IRWXO);
  if (want != (st.st_mode & 07777)) {
    if (::chmod(db.c_str(), want) == 0) {
      spdlog::warn("{} was mode {:04o}; made it {:04o} (the cache is gemd's alone)", db,
                   st.st_mode & 07777, want);
    }
  }
}

void InitLogging(const Config& c) {
  std::shared_ptr<spdlog::logger> logger;
  if (!c.log_file.empty()) {
    logger = spdlog::basic_logger_mt("gemd", c.log_file);
  } else {
    logger = spdlog::stderr_logger_mt("gemd");
  }
  // journald stamps time and priority itself.
  logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "[%l] %v" : "%Y-%m-%d %H:%M:%S.%e [%l] %v");
  logger->set_level(spdlog::level::from_str(c.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int Fail(const std::string& stage, const gem::Status& st) {
  spdlog::critical("{} failed: {}", stage, st.ToString());
  notify::Status("failed: " + stage + ": " + st.ToString());
  return 1;
}

void Interrupt(Context& ctx) {
  ctx.state.store(State::kStopping, std::memory_order_release);
  notify::Stopping("stopping");
  if (ctx.scheduler) ctx.scheduler->Interrupt();
  if (ctx.cluster_scheduler) ctx.cluster_scheduler->Interrupt();
  if (ctx.jobs) {
    for (const auto& job : ctx.jobs->List("", "")) {
      if (job.status == gem::protocol::kJobRunning) {
        ctx.jobs->RequestStop(job.id, gem::protocol::kJobInterrupted);
      } else if (job.status == gem::protocol::kJobQueued) {
        // A worker may have taken it already: the stop flag makes it end at once, interrupted.
        ctx.jobs->RequestStop(job.id, gem::protocol::kJobInterrupted);
        (void)ctx.jobs->Update(job.id, [](gem::protocol::JobInfo& j) {
          j.status = gem::protocol::kJobInterrupted;
          j.error = "gemd stopped before the job ran";
        });
      }
    }
  }
}

void Shutdown(Context& ctx, Server& server) {
  if (ctx.scheduler) ctx.scheduler->Join();  // running searches end at their next batch
  if (ctx.cluster_scheduler) ctx.cluster_scheduler->Join();
  if (ctx.cluster) ctx.cluster->Shutdown();  // workers stopped, worker jobs cancelled
  server.Stop();
  ctx.scheduler.reset();
  ctx.cluster_scheduler.reset();
  ctx.cluster.reset();
  ctx.trees.reset();
  ctx.bases.reset();  // the resident base models
  ctx.jobs.reset();
  ctx.cache.reset();  // closes RocksDB
  spdlog::info("gemd stopped");
}

int AppMain(int argc, char** argv) {
  // Everything gemd writes (the store, deltas, its log) is its own: no group or other access,
  // whatever umask it was started with. The socket's mode is set explicitly (ipc_mode).
  ::umask(0077);
  Context ctx;
  bool exit_now = false;
  int exit_code = 0;
  gem::Status st = LoadConfig(argc, argv, &ctx.config, &exit_now, &exit_code);
  if (exit_now) return exit_code;
  if (st.ok()) {
    auto access = AccessPolicy::FromConfig(ctx.config);
    if (access.ok()) ctx.access = std::move(*access);
    st = access.status();
  }
  if (!st.ok()) {
    std::fprintf(stderr, "gemd: %s\n", st.ToString().c_str());
    return 1;
  }
  ctx.sandbox = GraderSandbox(ctx.config);
  InitLogging(ctx.config);
  spdlog::info("gemd {} starting (pid {}, data dir {})", GEM_VERSION, ::getpid(),
               ctx.config.data_dir);
  spdlog::info("generated code runs {}",
               ctx.sandbox.service_socket.empty()
                   ? std::string("in gemd's own sandbox") +
                         (ctx.sandbox.require_other_uid ? " (refused unless gemd is root)" : "")
                   : "in the grader service at " + ctx.sandbox.service_socket);

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ctx.SetStage("locking the data directory");
  notify::Status(ctx.stage());
  DataDirLock lock;
  st = DataDirLock::Acquire(ctx.config.data_dir, &lock);
  if (!st.ok()) return Fail("data directory lock", st);

  ctx.SetStage("binding sockets");
  notify::Status(ctx.stage());
  Server server(ctx);
  st = server.Start();
  if (!st.ok()) return Fail("socket bind", st);

  ctx.SetStage("opening the store");
  notify::Status(ctx.stage());
  gem::StoreOptions so;
  so.sync = ctx.config.store_sync;
  auto cache = gem::Cache::Open(ctx.config.data_dir + "/db", so);
  if (!cache.ok()) {
    server.Stop();
    return Fail("store", cache.status());
  }
  ctx.cache = std::move(*cache);
  PrivateStore(ctx.config.data_dir + "/db");

  ctx.SetStage("loading trees");  // and the base models of manifest trees
  notify::Status(ctx.stage());
  ctx.bases = std::make_unique<gem::ResidentBases>(
      ctx.config.engine_threads, [](const std::string& line) { spdlog::info("{}", line); },
      ctx.config.engine_weights);
  ctx.trees = std::make_unique<TreeRegistry>(ctx.cache.get(), ctx.config, ctx.bases.get());
  st = ctx.trees->LoadAll();
  if (ctx.config.debug_hold_load_ms > 0) {  // lets tests observe the "starting" state
    std::this_thread::sleep_for(
        std::chrono::microseconds(static_cast<int64_t>(ctx.config.debug_hold_load_ms * 1000)));
  }
  if (!st.ok()) {
    server.Stop();
    return Fail("trees", st);
  }

  ctx.SetStage("loading jobs");
  notify::Status(ctx.stage());
  ctx.jobs = std::make_unique<JobTable>(ctx.cache->store());
  st = ctx.jobs->Load();
  if (!st.ok()) {
    server.Stop();
    return Fail("jobs", st);
  }

  if (ctx.config.cluster.slurm_enabled()) {
    ctx.SetStage("starting the cluster executor");
    notify::Status(ctx.stage());
    ctx.cluster = std::make_unique<ClusterExecutor>(ctx.config, ctx.cache.get());
    st = ctx.cluster->Start();
    if (!st.ok()) {
      ctx.cluster.reset();
      server.Stop();
      return Fail("cluster", st);
    }
  }

  const gem::Result<std::vector<int>> gpus_found = FoundGpus();
  if (!gpus_found.ok()) spdlog::warn("GPUs: {}", gpus_found.status().ToString());
  auto made_devices = SchedulerDevices(ctx.config, gpus_found);
  if (!made_devices.ok()) {
    server.Stop();
    return Fail("devices", made_devices.status());
  }
  const std::vector<std::string> devices = std::move(*made_devices);
  Context* c = &ctx;
  ctx.scheduler = std::make_unique<Scheduler>(
      devices, [c](uint64_t job, const std::string& device) { RunJob(*c, job, device); });
  ctx.scheduler->Start();
  if (ctx.cluster) {
    std::vector<std::string> slots;
    for (uint32_t i = 0; i < ctx.config.cluster.max_searches; ++i) {
      slots.push_back("slurm:" + std::to_string(i));
    }
    ctx.cluster_scheduler = std::make_unique<Scheduler>(
        slots, [c](uint64_t job, const std::string& device) { RunJob(*c, job, device); });
    ctx.cluster_scheduler->Start();
  }
  ctx.SetStage("");
  ctx.state.store(State::kReady, std::memory_order_release);
  std::string summary = "ready: " + std::to_string(ctx.trees->size()) + " trees, " +
                        std::to_string(devices.size()) + " devices";
  notify::Ready(summary);
  spdlog::info("{}", summary);

  while (!g_signalled.load() && !ctx.shutdown_requested.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spdlog::info("stopping ({})", g_signalled.load() ? "signal" : "shutdown request");
  Interrupt(ctx);
  Shutdown(ctx, server);
  return 0;
}

}  // namespace
}  // namespace gemd

int main(int argc, char** argv) { return gemd::AppMain(argc, argv); }
