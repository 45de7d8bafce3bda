// Copyright the gem authors. gemd's [cluster] and [slurm] settings (cluster_config.h).
#include "cluster_config.h"

#include <cmath>
#include <limits>

namespace gemd {
namespace {

using gem::Status;

Status Bad(const std::string& file, const char* key, const toml::node& n, const char* want) {
  return Status::InvalidArgument(file, std::string("setting '") + key + "' (line " +
                                           std::to_string(n.source().begin.line) + ") must be " +
                                           want);
}

Status Get(const toml::table& t, const char* key, const std::string& file, std::string* out) {
  auto n = t.at_path(key);
  if (!n) return Status::OK();
  auto v = n.value<std::string>();
  if (!v) return Bad(file, key, *n.node(), "a string");
  *out = *v;
  return Status::OK();
}

Status Get(const toml::table& t, const char* key, const std::string& file, double* out) {
  auto n = t.at_path(key);
  if (!n) return Status::OK();
  auto v = n.value<double>();
  if (!v || !std::isfinite(*v) || *v < 0) return Bad(file, key, *n.node(), "a non-negative number");
  *out = *v;
  return Status::OK();
}

Status Get(const toml::table& t, const char* key, const std::string& file, uint32_t* out) {
  auto n = t.at_path(key);
  if (!n) return Status::OK();
  if (!n.is_integer()) return Bad(file, key, *n.node(), "a non-negative integer");
  const int64_t v = *n.value<int64_t>();
  if (v < 0 || v > std::numeric_limits<uint32_t>::max()) {
    return Bad(file, key, *n.node(), "a non-negative integer in range");
  }
  *out = static_cast<uint32_t>(v);
  return Status::OK();
}

Status Get(const toml::table& t, const char* key, const std::string& file,
           std::vector<std::string>* out) {
  auto n = t.at_path(key);
  if (!n) return Status::OK();
  const toml::array* a = n.as_array();
  if (a == nullptr) return Bad(file, key, *n.node(), "an array of strings");
  out->clear();
  for (const auto& e : *a) {
    auto v = e.value<std::string>();
    if (!v) return Bad(file, key, *n.node(), "an array of strings");
    out->push_back(*v);
  }
  return Status::OK();
}

}  // namespace

const std::set<std::string>& ClusterConfigKeys() {
  static const std::set<std::string> keys = {
      "cluster.executor",
      "cluster.worker_endpoint",
      "cluster.advertise_endpoint",
      "cluster.curve_secret_key_file",
      "cluster.work_dir",
      "cluster.node_data_dir",
      "cluster.node_tasks_dir",
      "cluster.worker_program",
      "cluster.max_nodes",
      "cluster.max_searches",
      "cluster.idle_timeout_s",
      "cluster.join_timeout_s",
      "cluster.lost_timeout_s",
      "cluster.poll_s",
      "cluster.heartbeat_ms",
      "cluster.liveness",
      "cluster.unit_queries",
      "slurm.partition",
      "slurm.account",
      "slurm.qos",
      "slurm.time",
      "slurm.gres",
      "slurm.gpus_per_node",
      "slurm.cpus_per_worker",
      "slurm.mem",
      "slurm.extra",
      "slurm.template",
      "slurm.bin_dir",
  };
  return keys;
}

Status ReadClusterConfig(const toml::table& t, const std::string& f, ClusterConfig* c) {
  GEM_RETURN_IF_ERROR(Get(t, "cluster.executor", f, &c->executor));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.worker_endpoint", f, &c->worker_endpoint));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.advertise_endpoint", f, &c->advertise_endpoint));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.curve_secret_key_file", f, &c->curve_secret_key_file));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.work_dir", f, &c->work_dir));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.node_data_dir", f, &c->node_data_dir));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.node_tasks_dir", f, &c->node_tasks_dir));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.worker_program", f, &c->worker_program));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.max_nodes", f, &c->max_nodes));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.max_searches", f, &c->max_searches));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.idle_timeout_s", f, &c->idle_timeout_s));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.join_timeout_s", f, &c->join_timeout_s));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.lost_timeout_s", f, &c->lost_timeout_s));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.poll_s", f, &c->poll_s));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.heartbeat_ms", f, &c->heartbeat_ms));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.liveness", f, &c->liveness));
  GEM_RETURN_IF_ERROR(Get(t, "cluster.unit_queries", f, &c->unit_queries));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.partition", f, &c->partition));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.account", f, &c->account));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.qos", f, &c->qos));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.time", f, &c->time));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.gres", f, &c->gres));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.gpus_per_node", f, &c->gpus_per_node));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.cpus_per_worker", f, &c->cpus_per_worker));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.mem", f, &c->mem));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.extra", f, &c->extra));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.template", f, &c->template_file));
  GEM_RETURN_IF_ERROR(Get(t, "slurm.bin_dir", f, &c->bin_dir));
  return Status::OK();
}

Status ValidateClusterConfig(const ClusterConfig& c) {
  if (c.executor != "local" && c.executor != "slurm") {
    return Status::InvalidArgument("cluster.executor '" + c.executor + "'",
                                   "must be \"local\" or \"slurm\"");
  }
  if (c.executor == "slurm" && !c.slurm_enabled()) {
    return Status::InvalidArgument("cluster.executor \"slurm\"",
                                   "needs cluster.worker_endpoint (where workers connect)");
  }
  for (const auto* e : {&c.worker_endpoint, &c.advertise_endpoint}) {
    if (!e->empty() && e->rfind("tcp://", 0) != 0) {
      return Status::InvalidArgument("cluster endpoint '" + *e + "'", "must start with tcp://");
    }
  }
  if (c.max_nodes == 0) return Status::InvalidArgument("cluster.max_nodes", "must be >= 1");
  if (c.max_searches == 0) return Status::InvalidArgument("cluster.max_searches", "must be >= 1");
  if (c.gpus_per_node == 0) return Status::InvalidArgument("slurm.gpus_per_node", "must be >= 1");
  if (c.heartbeat_ms < 10) return Status::InvalidArgument("cluster.heartbeat_ms", "must be >= 10");
  if (c.liveness < 2) return Status::InvalidArgument("cluster.liveness", "must be >= 2");
  if (c.unit_queries == 0) return Status::InvalidArgument("cluster.unit_queries", "must be >= 1");
  if (c.poll_s <= 0) return Status::InvalidArgument("cluster.poll_s", "must be > 0");
  return Status::OK();
}

}  // namespace gemd
