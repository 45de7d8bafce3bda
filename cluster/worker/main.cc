// Copyright the gem authors. gem-worker: evaluates units of gemd's searches on a cluster node
// (docs/CLUSTER.md). gemd's sbatch script starts one per GPU; it connects back to gemd, says
// which node and device it runs on, builds the tree gemd names, and evaluates the units it is
// given until gemd stops it, Slurm signals it, or gemd is lost for --lost-timeout seconds.
//
// Exit status: 0 when it left as asked (gemd's stop, SIGTERM); 1 bad arguments or keys; 3 gemd
// was lost; 4 gemd refused it.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <string>

#include "cluster/keys.h"
#include "cluster/worker/host.h"
#include "cluster/worker/session.h"

namespace {

std::atomic<int> g_signal{0};

void OnSignal(int sig) { g_signal.store(sig); }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Who this worker is, from Slurm's environment (or the host and pid outside Slurm).
gem::cluster::Hello Identify(const std::string& id_override) {
  gem::cluster::Hello h;
  const std::string array_job = Env("SLURM_ARRAY_JOB_ID"), array_task = Env("SLURM_ARRAY_TASK_ID");
  const std::string job = Env("SLURM_JOB_ID");
  const std::string proc = Env("SLURM_PROCID").empty() ? "0" : Env("SLURM_PROCID");
  if (!array_job.empty() && !array_task.empty()) {
    h.slurm_job = array_job + "_" + array_task;
  } else {
    h.slurm_job = job;
  }
  h.node = Env("SLURMD_NODENAME").empty() ? HostName() : Env("SLURMD_NODENAME");
  h.worker = !id_override.empty()   ? id_override
             : !h.slurm_job.empty() ? h.slurm_job + "." + proc
                                    : HostName() + ":" + std::to_string(::getpid());
  // The GPU(s) Slurm bound to this task, as the node numbers them.
  h.gpu = !Env("SLURM_STEP_GPUS").empty() ? Env("SLURM_STEP_GPUS") : Env("SLURM_JOB_GPUS");
  // The engine evaluates on the CPU in this build (its CUDA backend is not there yet): say so,
  // in gemd's device vocabulary.
  h.device = "cpu:0";
  h.pid = static_cast<uint64_t>(::getpid());
  h.version = GEM_VERSION;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gem-worker: evaluates units of gemd's searches on a cluster node (docs/CLUSTER.md).\n"
      "gemd's Slurm jobs start it; it connects back to gemd over tcp with CURVE."};
  std::string endpoint, server_key_file, secret_key_file, id, data_dir, tasks_dir,
      log_level = "info";
  double lost_timeout = 300;
  int threads = 0;
  app.add_option("--endpoint", endpoint, "gemd's worker endpoint, tcp://HOST:PORT")->required();
  app.add_option("--server-key", server_key_file, "gemd's public CURVE key file (server.pub)")
      ->required();
  app.add_option("--secret-key", secret_key_file, "this job's secret CURVE key file (worker.key)")
      ->required();
  app.add_option("--lost-timeout", lost_timeout,
                 "seconds without gemd after which the worker leaves")
      ->capture_default_str();
  app.add_option("--threads", threads, "engine threads (0: all cores of this task)")
      ->capture_default_str();
  app.add_option("--id", id, "worker id (default: <slurm job>.<task>, or <host>:<pid>)");
  app.add_option("--data-dir", data_dir,
                 "gemd's data dir as this node sees it (default: what gemd says)");
  app.add_option("--tasks-dir", tasks_dir, "built-in tasks (default: what gemd says)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("gem-worker"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ gem-worker[%P] %v");

  auto server_pub = gem::cluster::ReadKeyFile(server_key_file);
  auto secret = gem::cluster::ReadKeyFile(secret_key_file);
  if (!server_pub.ok() || !secret.ok()) {
    spdlog::error("{}", (!server_pub.ok() ? server_pub.status() : secret.status()).ToString());
    return 1;
  }
  auto pub = gem::cluster::PublicKeyOf(*secret);
  if (!pub.ok()) {
    spdlog::error("{}: {}", secret_key_file, pub.status().ToString());
    return 1;
  }

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  gem::cluster::SessionOptions so;
  so.endpoint = endpoint;
  so.server_public_key = *server_pub;
  so.public_key = *pub;
  so.secret_key = *secret;
  so.hello = Identify(id);
  so.lost_timeout_s = lost_timeout;
  gem::cluster::HostOptions ho;
  ho.threads = threads;
  ho.data_dir = data_dir;
  ho.tasks_dir = tasks_dir;
  gem::Status st = gem::cluster::RunSession(so, gem::cluster::MakeTreeHost(ho), &g_signal);
  if (st.ok()) return 0;
  spdlog::error("{}", st.ToString());
  return st.IsUnavailable() ? 3 : 4;
}
