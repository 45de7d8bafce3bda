// Copyright the gem authors. gemd's slurm executor (cluster.h).
#include "cluster.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gemd {

using gem::Status;
namespace gc = gem::cluster;

namespace {

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// "tcp://0.0.0.0:7356" bound -> "tcp://<hostname>:7356" for the workers.
std::string Advertise(const std::string& bound, const std::string& configured) {
  if (!configured.empty()) return configured;
  const size_t host = bound.find("://") + 3;
  const size_t colon = bound.rfind(':');
  std::string h = bound.substr(host, colon - host);
  if (h == "0.0.0.0" || h == "*" || h == "[::]" || h == "::") h = HostName();
  return "tcp://" + h + bound.substr(colon);
}

std::string SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

}  // namespace

ClusterExecutor::ClusterExecutor(const Config& config, gem::Cache* cache)
    : config_(config), cache_(cache), slurm_(gc::SlurmOptions{config.cluster.bin_dir}) {}

ClusterExecutor::~ClusterExecutor() {
  if (provisioner_) provisioner_->Stop();
  if (dispatcher_) dispatcher_->Stop(/*stop_workers=*/false);
}

Status ClusterExecutor::Start() {
  const ClusterConfig& c = config_.cluster;
  const std::string key_file = !c.curve_secret_key_file.empty() ? c.curve_secret_key_file
                               : !config_.curve_secret_key_file.empty()
                                   ? config_.curve_secret_key_file
                                   : config_.data_dir + "/cluster/server.key";
  auto server = gc::LoadOrCreateServerKey(key_file);
  if (!server.ok()) return server.status().WithContext("cluster key");

  gc::DispatcherOptions d;
  d.endpoint = c.worker_endpoint;
  d.server_secret_key = server->secret_z85;
  d.heartbeat_ms = c.heartbeat_ms;
  d.liveness = c.liveness;
  d.unit_queries = c.unit_queries;
  d.hold_admission = true;  // until Recover() has re-admitted the keys of the jobs it adopts
  dispatcher_ = std::make_unique<gc::Dispatcher>(d, cache_, &keyring_);
  GEM_RETURN_IF_ERROR(dispatcher_->Start());
  advertised_ = Advertise(dispatcher_->endpoint(), c.advertise_endpoint);

  gc::ProvisionerOptions p;
  p.sbatch.partition = c.partition;
  p.sbatch.account = c.account;
  p.sbatch.qos = c.qos;
  p.sbatch.time = c.time;
  p.sbatch.gres = c.gres;
  p.sbatch.gpus_per_node = c.gpus_per_node;
  p.sbatch.cpus_per_worker = c.cpus_per_worker;
  p.sbatch.mem = c.mem;
  p.sbatch.extra = c.extra;
  if (!c.template_file.empty()) {
    std::ifstream in(c.template_file);
    if (!in) return Status::IOError(c.template_file, "cannot read the sbatch template");
    std::stringstream s;
    s << in.rdbuf();
    p.template_text = s.str();
    if (p.template_text.find("@GEM_WORKER@") == std::string::npos) {
      return Status::InvalidArgument(c.template_file, "has no @GEM_WORKER@ placeholder");
    }
  }
  p.max_nodes = c.max_nodes;
  p.idle_timeout_s = c.idle_timeout_s;
  p.join_timeout_s = c.join_timeout_s;
  p.poll_s = c.poll_s;
  p.work_dir = c.work_dir.empty() ? config_.data_dir + "/cluster" : c.work_dir;
  p.endpoint = advertised_;
  p.server_public_key = server->public_z85;
  p.worker_program = c.worker_program.empty() ? SelfDir() + "/gem-worker" : c.worker_program;
  p.lost_timeout_s = c.lost_timeout_s;
  provisioner_ =
      std::make_unique<gc::Provisioner>(p, &slurm_, &keyring_, dispatcher_.get(), cache_->store());
  GEM_RETURN_IF_ERROR(provisioner_->Recover());
  provisioner_->Start();
  spdlog::info(
      "cluster: workers connect to {} (bound {}); jobs in {}; up to {} node(s) x {} GPU(s)",
      advertised_, dispatcher_->endpoint(), p.work_dir, c.max_nodes, c.gpus_per_node);
  if (!slurm_.Reachable()) {
    spdlog::warn(
        "cluster: squeue does not answer (no Slurm controller reachable?); slurm "
        "searches will wait for it");
  }
  return Status::OK();
}

void ClusterExecutor::Shutdown() {
  if (provisioner_) {
    provisioner_->Stop();
    provisioner_->Shutdown();
  }
  if (dispatcher_) dispatcher_->Stop(/*stop_workers=*/true);
}

gem::Result<std::shared_ptr<const gc::TreeSpec>> ClusterExecutor::Spec(
    const gem::SearchableTree& tree, const gem::SearchableTask& task) {
  // Trees are never re-registered under a name while gemd runs; the record's digest and time
  // make the key safe across that anyway.
  const std::string key = tree.name() + "/" + task.name + "@" + tree.record().digest + "/" +
                          std::to_string(tree.record().registered_at);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = specs_.find(key);
  if (it != specs_.end()) return it->second;
  auto record = gem::EncodeTreeRecord(tree.record());
  if (!record.ok()) return record.status();
  const ClusterConfig& c = config_.cluster;
  gc::TreeSpec s;
  s.name = tree.name();
  s.record = std::move(*record);
  s.task = task.name;
  s.data_dir = c.node_data_dir.empty() ? config_.data_dir : c.node_data_dir;
  s.origin_data_dir = config_.data_dir;
  s.tasks_dir = c.node_tasks_dir.empty() ? config_.tasks_dir : c.node_tasks_dir;
  s.replay_delay_ms = config_.replay_eval_delay_ms;
  s.models = tree.model_digests();
  s.queries = task.query_digests;
  for (uint32_t v = 0; v < tree.num_variants(); ++v) s.configs.push_back(*tree.config_digest(v));
  s.task_digest = task.digest;
  auto spec = gc::MakeTreeSpec(std::move(s));
  specs_[key] = spec;
  return spec;
}

}  // namespace gemd
