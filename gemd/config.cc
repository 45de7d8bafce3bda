// Copyright the gem authors. Reading gemd's settings (config.h).
#include "config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <set>
#include <sstream>

#include "devices.h"
#include "gem/weight_types.h"

namespace gemd {
namespace {

using gem::Status;

// The known keys, so that a misspelt key is an error rather than a silently ignored setting.
const std::set<std::string> kKnownKeys = {
    "data_dir",
    "server.endpoint",
    "server.ipc_mode",
    "server.ipc_group",
    "server.tcp_endpoint",
    "server.curve_secret_key_file",
    "server.curve_authorized_keys",
    "server.max_message_bytes",
    "server.max_queued_registrations",
    "server.max_watchers",
    "server.max_watchers_per_client",
    "access.admins",
    "access.members",
    "access.readers",
    "access.default_role",
    "access.trusted_importers",
    "sandbox.service_socket",
    "sandbox.allow_same_uid",
    "scheduler.cpu_workers",
    "scheduler.eval_batch",
    "scheduler.spread",
    "scheduler.gpus",
    "scheduler.gpu_workers",
    "replay.queries",
    "replay.sim_seed",
    "replay.agreement",
    "replay.eval_delay_ms",
    "engine.threads",
    "engine.weights",
    "engine.tasks_dir",
    "store.sync",
    "log.level",
    "log.file",
};

Status CheckKeys(const toml::table& t, const std::string& prefix, const std::string& file) {
  for (const auto& [k, v] : t) {
    std::string key = prefix + std::string(k.str());
    if (const toml::table* sub = v.as_table()) {
      GEM_RETURN_IF_ERROR(CheckKeys(*sub, key + ".", file));
    } else if (!kKnownKeys.count(key) && !ClusterConfigKeys().count(key)) {
      return Status::InvalidArgument(file, "unknown setting '" + key + "' (line " +
                                               std::to_string(v.source().begin.line) +
                                               "; docs/GEMD.md lists the settings)");
    }
  }
  return Status::OK();
}

template <class T>
Status Read(const toml::table& t, const char* path, const std::string& file, T* out) {
  toml::node_view<const toml::node> n = t.at_path(path);
  if (!n) return Status::OK();
  auto fail = [&](const char* want) {
    return Status::InvalidArgument(file, std::string("setting '") + path + "' (line " +
                                             std::to_string(n.node()->source().begin.line) +
                                             ") must be " + want);
  };
  if constexpr (std::is_same_v<T, std::string>) {
    auto v = n.value<std::string>();
    if (!v) return fail("a string");
    *out = *v;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    const toml::array* a = n.as_array();
    if (a == nullptr) return fail("a list of strings");
    out->clear();
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return fail("a list of strings");
      out->push_back(*v);
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    auto v = n.value<bool>();
    if (!v) return fail("true or false");
    *out = *v;
  } else if constexpr (std::is_floating_point_v<T>) {
    auto v = n.value<double>();
    if (!v || !std::isfinite(*v) || *v < 0) return fail("a non-negative number");
    *out = *v;
  } else {
    if (!n.is_integer()) return fail("a non-negative integer");
    int64_t v = *n.value<int64_t>();
    if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) {
      return fail("a non-negative integer in range");
    }
    *out = static_cast<T>(v);
  }
  return Status::OK();
}

Status LoadToml(const std::string& file, Config* c) {
  toml::table t;
  try {
    t = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << e.description() << " (line " << e.source().begin.line << ", column "
        << e.source().begin.column << ")";
    return Status::InvalidArgument(file, msg.str());
  }
  GEM_RETURN_IF_ERROR(CheckKeys(t, "", file));
  GEM_RETURN_IF_ERROR(Read(t, "data_dir", file, &c->data_dir));
  GEM_RETURN_IF_ERROR(Read(t, "server.endpoint", file, &c->endpoint));
  GEM_RETURN_IF_ERROR(Read(t, "server.ipc_mode", file, &c->ipc_mode));
  GEM_RETURN_IF_ERROR(Read(t, "server.ipc_group", file, &c->ipc_group));
  GEM_RETURN_IF_ERROR(Read(t, "server.tcp_endpoint", file, &c->tcp_endpoint));
  GEM_RETURN_IF_ERROR(Read(t, "server.curve_secret_key_file", file, &c->curve_secret_key_file));
  GEM_RETURN_IF_ERROR(Read(t, "server.curve_authorized_keys", file, &c->curve_authorized_keys));
  GEM_RETURN_IF_ERROR(Read(t, "server.max_message_bytes", file, &c->max_message_bytes));
  GEM_RETURN_IF_ERROR(
      Read(t, "server.max_queued_registrations", file, &c->max_queued_registrations));
  GEM_RETURN_IF_ERROR(Read(t, "server.max_watchers", file, &c->max_watchers));
  GEM_RETURN_IF_ERROR(Read(t, "server.max_watchers_per_client", file, &c->max_watchers_per_client));
  GEM_RETURN_IF_ERROR(Read(t, "access.admins", file, &c->access_admins));
  GEM_RETURN_IF_ERROR(Read(t, "access.members", file, &c->access_members));
  GEM_RETURN_IF_ERROR(Read(t, "access.readers", file, &c->access_readers));
  GEM_RETURN_IF_ERROR(Read(t, "access.default_role", file, &c->access_default_role));
  GEM_RETURN_IF_ERROR(Read(t, "access.trusted_importers", file, &c->access_trusted_importers));
  GEM_RETURN_IF_ERROR(Read(t, "sandbox.service_socket", file, &c->sandbox_service_socket));
  GEM_RETURN_IF_ERROR(Read(t, "sandbox.allow_same_uid", file, &c->sandbox_allow_same_uid));
  GEM_RETURN_IF_ERROR(Read(t, "scheduler.cpu_workers", file, &c->cpu_workers));
  GEM_RETURN_IF_ERROR(Read(t, "scheduler.eval_batch", file, &c->eval_batch));
  GEM_RETURN_IF_ERROR(Read(t, "scheduler.spread", file, &c->spread));
  GEM_RETURN_IF_ERROR(Read(t, "scheduler.gpus", file, &c->gpus));
  GEM_RETURN_IF_ERROR(Read(t, "scheduler.gpu_workers", file, &c->gpu_workers));
  GEM_RETURN_IF_ERROR(Read(t, "replay.queries", file, &c->replay_queries));
  GEM_RETURN_IF_ERROR(Read(t, "replay.sim_seed", file, &c->replay_sim_seed));
  GEM_RETURN_IF_ERROR(Read(t, "replay.agreement", file, &c->replay_agreement));
  GEM_RETURN_IF_ERROR(Read(t, "replay.eval_delay_ms", file, &c->replay_eval_delay_ms));
  GEM_RETURN_IF_ERROR(Read(t, "engine.threads", file, &c->engine_threads));
  GEM_RETURN_IF_ERROR(Read(t, "engine.weights", file, &c->engine_weights));
  GEM_RETURN_IF_ERROR(Read(t, "engine.tasks_dir", file, &c->tasks_dir));
  GEM_RETURN_IF_ERROR(Read(t, "store.sync", file, &c->store_sync));
  GEM_RETURN_IF_ERROR(Read(t, "log.level", file, &c->log_level));
  GEM_RETURN_IF_ERROR(Read(t, "log.file", file, &c->log_file));
  GEM_RETURN_IF_ERROR(ReadClusterConfig(t, file, &c->cluster));
  return Status::OK();
}

Status Validate(const Config& c) {
  if (c.data_dir.empty()) return Status::InvalidArgument("data_dir", "must not be empty");
  if (c.endpoint.rfind("ipc://", 0) != 0 && c.endpoint.rfind("tcp://", 0) != 0) {
    return Status::InvalidArgument("endpoint '" + c.endpoint + "'",
                                   "must start with ipc:// (or tcp:// for tests on loopback)");
  }
  if (!c.tcp_endpoint.empty()) {
    if (c.tcp_endpoint.rfind("tcp://", 0) != 0) {
      return Status::InvalidArgument("tcp_endpoint '" + c.tcp_endpoint + "'",
                                     "must start with tcp://");
    }
    if (c.curve_secret_key_file.empty() || c.curve_authorized_keys.empty()) {
      return Status::InvalidArgument(
          "tcp_endpoint",
          "needs curve_secret_key_file and curve_authorized_keys: gemd never "
          "listens on tcp without CURVE authentication");
    }
  }
  if (c.cpu_workers == 0 || c.cpu_workers > 256) {
    return Status::InvalidArgument("cpu_workers", "must be between 1 and 256");
  }
  if (c.eval_batch == 0) return Status::InvalidArgument("eval_batch", "must be at least 1");
  if (c.spread != "gpu" && c.spread != "all" && c.spread != "none") {
    return Status::InvalidArgument("spread '" + c.spread + "'", "must be gpu, all or none");
  }
  if (auto gpus = ParseGpuList(c.gpus); !gpus.ok()) return gpus.status();
  if (c.gpu_workers == 0 || c.gpu_workers > 8) {
    return Status::InvalidArgument("gpu_workers", "must be between 1 and 8");
  }
  if (c.replay_queries == 0) return Status::InvalidArgument("replay.queries", "must be >= 1");
  if (c.replay_agreement > 1) return Status::InvalidArgument("replay.agreement", "must be <= 1");
  if (c.engine_threads < 0 || c.engine_threads > 1024) {
    return Status::InvalidArgument("engine.threads", "must be between 0 (all cores) and 1024");
  }
  if (c.max_queued_registrations == 0 || c.max_watchers == 0 || c.max_watchers_per_client == 0) {
    return Status::InvalidArgument("server",
                                   "max_queued_registrations, max_watchers and "
                                   "max_watchers_per_client must be at least 1");
  }
  if (c.engine_weights != "stored" && c.engine_weights != "f32" &&
      !gem::ParseWeightType(c.engine_weights).ok()) {
    return Status::InvalidArgument("engine.weights '" + c.engine_weights + "'",
                                   "must be stored, f32 or a weight type (f16, bf16, q8_0, q4_0, "
                                   "q4_1, q5_0, q5_1, q4_k, q6_k)");
  }
  if (c.max_message_bytes < 1024) {
    return Status::InvalidArgument("max_message_bytes", "must be at least 1024");
  }
  GEM_RETURN_IF_ERROR(ValidateClusterConfig(c.cluster));
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!kLevels.count(c.log_level)) {
    return Status::InvalidArgument("log level '" + c.log_level + "'",
                                   "must be trace, debug, info, warn, error or off");
  }
  return Status::OK();
}

}  // namespace

Status LoadConfig(int argc, char** argv, Config* config, bool* exit_now, int* exit_code) {
  *exit_now = false;
  *exit_code = 0;
  CLI::App app{
      "gemd: the gem daemon. Runs model searches as jobs on one worker per device, keeps every "
      "evaluation in a RocksDB result cache shared by all users, and answers gemctl over a "
      "ZeroMQ socket (msgpack protocol, docs/PROTOCOL.md).",
      "gemd"};
  app.footer(
      "Settings: command-line flags override the TOML file (--config), which overrides the "
      "defaults.\nEvery setting is documented in docs/GEMD.md; an example file is "
      "systemd/gemd.toml.example.\nSignals: SIGTERM/SIGINT stop gracefully (running searches "
      "become 'interrupted', resumable).\nUnder systemd (Type=notify) gemd reports READY, STATUS "
      "and WATCHDOG through sd_notify.");
  app.set_version_flag("--version", std::string("gemd ") + GEM_VERSION);
  std::string config_file, data_dir, endpoint, tcp_endpoint, curve_key, curve_auth, log_level,
      log_file;
  std::optional<uint32_t> cpu_workers;
  std::string spread, gpus;
  std::optional<uint32_t> gpu_workers;
  std::optional<int> engine_threads;
  std::string tasks_dir, engine_weights;
  std::optional<double> delay_ms;
  std::optional<uint64_t> max_message;
  std::optional<double> hold_load_ms;
  std::string executor, worker_endpoint;
  app.add_option("-c,--config", config_file, "TOML settings file")->check(CLI::ExistingFile);
  app.add_option("-d,--data-dir", data_dir,
                 "Data directory: locked while gemd runs; holds the RocksDB store (default "
                 "/var/lib/gemd)");
  app.add_option("-e,--endpoint", endpoint,
                 "ZeroMQ endpoint to listen on (default ipc:///run/gemd/gemd.sock)");
  app.add_option("--tcp-endpoint", tcp_endpoint,
                 "Also listen on this tcp:// endpoint, CURVE-authenticated only");
  app.add_option("--curve-secret-key", curve_key,
                 "File holding the server's CURVE secret key (z85; gemctl keygen makes one)");
  app.add_option("--curve-authorized-keys", curve_auth,
                 "File ('<z85 public key> <name>' lines) or directory (<name>.pub files) of the "
                 "client keys allowed on tcp");
  app.add_option("--cpu-workers", cpu_workers, "Number of CPU devices (one scheduler worker each)");
  app.add_option("--spread", spread,
                 "Idle devices of its kind a search on a model tree spreads over: gpu (default: "
                 "a search on a GPU, idle GPUs), all (a search on a CPU worker, idle CPU workers "
                 "too, each with its own copy of the base), none");
  app.add_option("--gpus", gpus,
                 "GPUs that get workers (devices cuda:<i>): all (default: every GPU found), none, "
                 "or ordinals like 0,2");
  app.add_option("--gpu-workers", gpu_workers, "Workers per GPU (default 1)");
  app.add_option("--replay-eval-delay-ms", delay_ms,
                 "Pretend each replayed (model, query) evaluation takes this long (tests, demos)");
  app.add_option("--engine-threads", engine_threads,
                 "Threads of the inference engine, per search (default 0: all cores)");
  app.add_option("--engine-weights", engine_weights,
                 "How resident bases hold their weights: stored (their checkpoint type, the "
                 "default), f32 (the exact reference path) or a type to quantise to (q8_0, ...)");
  app.add_option("--tasks-dir", tasks_dir,
                 "Where the built-in benchmark tasks are (default: $GEM_TASKS_DIR, else the "
                 "source tree's data/tasks)");
  app.add_option("--max-message-bytes", max_message, "Largest request frame accepted");
  app.add_option("--debug-hold-load-ms", hold_load_ms,
                 "Testing: stay this long in the model-load stage (health answers 'starting')");
  app.add_option("--executor", executor,
                 "Default executor of searches: local (this machine) or slurm (docs/CLUSTER.md)");
  app.add_option("--worker-endpoint", worker_endpoint,
                 "tcp:// endpoint where Slurm workers connect (enables the slurm executor)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  app.add_option("--log-file", log_file, "Log to this file instead of stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_now = true;
    *exit_code = app.exit(e);
    return Status::OK();
  }
  if (!config_file.empty()) {
    config->config_file = config_file;
    GEM_RETURN_IF_ERROR(LoadToml(config_file, config));
  }
  if (!data_dir.empty()) config->data_dir = data_dir;
  if (!endpoint.empty()) config->endpoint = endpoint;
  if (!tcp_endpoint.empty()) config->tcp_endpoint = tcp_endpoint;
  if (!curve_key.empty()) config->curve_secret_key_file = curve_key;
  if (!curve_auth.empty()) config->curve_authorized_keys = curve_auth;
  if (cpu_workers) config->cpu_workers = *cpu_workers;
  if (!spread.empty()) config->spread = spread;
  if (!gpus.empty()) config->gpus = gpus;
  if (gpu_workers) config->gpu_workers = *gpu_workers;
  if (delay_ms) config->replay_eval_delay_ms = *delay_ms;
  if (max_message) config->max_message_bytes = *max_message;
  if (engine_threads) config->engine_threads = *engine_threads;
  if (!engine_weights.empty()) config->engine_weights = engine_weights;
  if (!tasks_dir.empty()) config->tasks_dir = tasks_dir;
  if (hold_load_ms) config->debug_hold_load_ms = *hold_load_ms;
  if (!log_level.empty()) config->log_level = log_level;
  if (!log_file.empty()) config->log_file = log_file;
  if (!executor.empty()) config->cluster.executor = executor;
  if (!worker_endpoint.empty()) config->cluster.worker_endpoint = worker_endpoint;
  return Validate(*config);
}

}  // namespace gemd
#include "devices.h"
