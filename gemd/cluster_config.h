// Copyright the gem authors. gemd's settings for the slurm executor: the [cluster] and [slurm]
// tables of the TOML file (docs/CLUSTER.md, "Settings"; docs/GEMD.md lists them with the rest).
//
// The slurm executor is available when cluster.worker_endpoint is set; cluster.executor decides
// which executor a search gets when search.start names none.
#ifndef GEMD_CLUSTER_CONFIG_H_
#define GEMD_CLUSTER_CONFIG_H_

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gemd {

struct ClusterConfig {
  // [cluster]
  std::string executor = "local";     // executor: default of searches, "local" or "slurm"
  std::string worker_endpoint;        // worker_endpoint: where workers connect (tcp://HOST:PORT)
  std::string advertise_endpoint;     // advertise_endpoint: the address workers dial ("" = the
                                      // bound endpoint, a wildcard host replaced by hostname)
  std::string curve_secret_key_file;  // curve_secret_key_file ("" = server's, else
                                      // <data_dir>/cluster/server.key, created)
  std::string work_dir;               // work_dir: keys, scripts, logs ("" = <data_dir>/cluster)
  std::string node_data_dir;          // node_data_dir: data_dir as nodes see it ("" = data_dir)
  std::string node_tasks_dir;         // node_tasks_dir: built-in tasks on nodes ("" = gemd's)
  std::string worker_program;         // worker_program ("" = gem-worker beside gemd)
  uint32_t max_nodes = 2;             // max_nodes: array tasks (one node each) at most
  uint32_t max_searches = 4;          // max_searches: slurm searches running at once
  double idle_timeout_s = 300;        // idle_timeout_s: cancel a task idle this long
  double join_timeout_s = 300;        // join_timeout_s: a task with no worker by then failed
  double lost_timeout_s = 300;        // lost_timeout_s: a worker without gemd leaves after this
  double poll_s = 5;                  // poll_s: squeue period
  uint32_t heartbeat_ms = 1000;       // heartbeat_ms
  uint32_t liveness = 5;              // liveness: silent heartbeats before a peer is gone
  uint32_t unit_queries = 256;        // unit_queries: queries per unit at most
  // [slurm]
  std::string partition;           // partition
  std::string account;             // account
  std::string qos;                 // qos
  std::string time = "04:00:00";   // time: each task's limit
  std::string gres = "gpu";        // gres: GPU gres name ("" = CPU workers, no --gres)
  uint32_t gpus_per_node = 1;      // gpus_per_node: workers (one GPU each) per array task
  uint32_t cpus_per_worker = 1;    // cpus_per_worker: --cpus-per-task, engine threads
  std::string mem;                 // mem: --mem per task
  std::vector<std::string> extra;  // extra: more sbatch options
  std::string template_file;       // template: an sbatch script template (docs/CLUSTER.md)
  std::string bin_dir;             // bin_dir: where sbatch, squeue, scancel are ("" = PATH)

  bool slurm_enabled() const { return !worker_endpoint.empty(); }
};

// The TOML keys this file reads ("cluster.executor", ...), for gemd's unknown-key check.
const std::set<std::string>& ClusterConfigKeys();

// Reads the [cluster] and [slurm] tables of `t` (file names the TOML file, for messages).
gem::Status ReadClusterConfig(const toml::table& t, const std::string& file, ClusterConfig* c);

// InvalidArgument naming the setting: a bad executor, slurm without worker_endpoint, a non-tcp
// endpoint, zero sizes.
gem::Status ValidateClusterConfig(const ClusterConfig& c);

}  // namespace gemd

#endif  // GEMD_CLUSTER_CONFIG_H_
