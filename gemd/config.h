// Copyright the gem authors. gemd's settings: a TOML file plus command-line flags.
//
// Precedence (as bitcoind): built-in defaults < the TOML file (--config) < command-line flags.
// Every setting, its default and its TOML key are listed in docs/GEMD.md and in
// systemd/gemd.toml.example. Unknown TOML keys are errors (a typo must not be silently ignored).
#ifndef GEMD_CONFIG_H_
#define GEMD_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cluster_config.h"
#include "gem/population.h"
#include "gem/protocol.h"
#include "gem/status.h"

namespace gemd {

struct Config {
  std::string config_file;                 // --config ("" = none)
  std::string data_dir = "/var/lib/gemd";  // data_dir
  // [server]
  std::string endpoint = "ipc:///run/gemd/gemd.sock";  // endpoint (ipc:// or tcp://)
  std::string ipc_mode = "0660";                       // ipc_mode: socket file permissions
  std::string ipc_group;                               // ipc_group: chgrp of the socket file
  std::string tcp_endpoint;                            // tcp_endpoint: optional, CURVE only
  std::string curve_secret_key_file;                   // curve_secret_key_file (z85, 40 chars)
  std::string curve_authorized_keys;                   // curve_authorized_keys (file or dir)
  uint64_t max_message_bytes = gem::protocol::kDefaultMaxFrameBytes;  // max_message_bytes
  uint32_t max_queued_registrations = 16;  // max_queued_registrations: waiting tree.register
  uint32_t max_watchers = 1024;            // max_watchers: open search.watch streams, in all
  uint32_t max_watchers_per_client = 64;   // max_watchers_per_client: per connection
  // [access] (access.h): who may do what
  std::vector<std::string> access_admins;             // admins
  std::vector<std::string> access_members;            // members
  std::vector<std::string> access_readers;            // readers
  std::string access_default_role = "member";         // default_role: everyone else
  std::vector<std::string> access_trusted_importers;  // trusted_importers
  // [sandbox]: where generated code runs (gem/sandbox.h)
  std::string sandbox_service_socket;   // service_socket: the grader service ("" = in gemd)
  bool sandbox_allow_same_uid = false;  // allow_same_uid: run it as gemd's uid when no other
  // [scheduler]
  uint32_t cpu_workers = 1;  // cpu_workers: devices "cpu:0".."cpu:n-1"
  uint32_t eval_batch = 64;  // eval_batch: results written per chunk
  // spread: which idle devices a search on a manifest tree spreads its rounds over, beside its
  // own, always of its own kind: "gpu" (a search on a GPU: idle GPUs; the default), "all" (a
  // search on a CPU worker: idle CPU workers too, each with its own copy of the base: CPU
  // stand-ins for GPUs, tests), "none".
  std::string spread = "gpu";
  // gpus: the GPUs that get workers ("cuda:<i>"): "all" (every GPU this process sees: none on a
  // machine without one, or in a build without CUDA), "none", or ordinals such as "0,2" (a GPU
  // named that is not there stops gemd with an error).
  std::string gpus = "all";
  // gpu_workers: workers per GPU (1..8): "cuda:<i>", then "cuda:<i>.1", ..., each with its own
  // copy of a base.
  uint32_t gpu_workers = 1;
  // [replay]
  uint32_t replay_queries = gem::SimulationOptions().num_queries;  // queries: per task
  uint64_t replay_sim_seed = 0;                                    // sim_seed
  double replay_agreement = gem::SimulationOptions().agreement;    // agreement
  double replay_eval_delay_ms = 0;  // eval_delay_ms: per (model, query)
  // [engine]
  int engine_threads = 0;  // threads: forward-pass threads per search (0 = all cores)
  // weights: how resident bases hold their weights (gem::LoadOptions::weights): "stored", "f32"
  // or a weight type to quantise to ("q8_0", ...)
  std::string engine_weights = "stored";
  std::string tasks_dir;  // tasks_dir: built-in benchmarks ("" = gem::DefaultTasksDir())
  // [store]
  bool store_sync = true;  // sync: fsync the WAL on each write
  // [cluster], [slurm]: the slurm executor (cluster_config.h)
  ClusterConfig cluster;
  // testing
  double debug_hold_load_ms = 0;  // --debug-hold-load-ms: stay this long in the load stage
  // [log]
  std::string log_level = "info";  // level
  std::string log_file;            // file ("" = stderr / journald)
};

// Parses argv (CLI11) and the TOML file it names. On --help / --version prints and sets
// *exit_now with the exit code to use. Errors (InvalidArgument) name the flag, file, key, line.
gem::Status LoadConfig(int argc, char** argv, Config* config, bool* exit_now, int* exit_code);

}  // namespace gemd

#endif  // GEMD_CONFIG_H_
