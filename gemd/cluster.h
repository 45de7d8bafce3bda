// Copyright the gem authors. gemd's slurm executor: the worker socket, the Slurm jobs, and how a
// search gets the cluster behind its cache (docs/CLUSTER.md).
//
// Start-up stage "cluster" (after jobs, before the schedulers): gemd's worker key (created in
// <data_dir>/cluster/ on first start when no key is configured), the dispatcher bound on
// cluster.worker_endpoint, the provisioner, which adopts or cancels the worker jobs a crashed
// gemd left (their records are in the store). Interrupt: searches stop as always. Shutdown
// (graceful): workers are told to stop and every worker job is cancelled.
//
// Thread-safety: thread-safe after Start(); Start/Shutdown from the main thread.
#ifndef GEMD_CLUSTER_H_
#define GEMD_CLUSTER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cluster/dispatcher.h"
#include "cluster/keys.h"
#include "cluster/provisioner.h"
#include "cluster/slurm.h"
#include "config.h"
#include "gem/cache.h"
#include "gem/searchable_tree.h"
#include "gem/status.h"

namespace gemd {

class ClusterExecutor {
 public:
  // REQUIRES: cache outlives this.
  ClusterExecutor(const Config& config, gem::Cache* cache);
  ~ClusterExecutor();

  // Binds the worker socket and recovers the worker jobs of a previous gemd. Errors name the
  // setting or file (a bad key file, an endpoint in use, an unwritable work_dir).
  gem::Status Start();
  // Graceful stop: workers told to stop, worker jobs cancelled, threads joined.
  void Shutdown();

  gem::cluster::Dispatcher* dispatcher() { return dispatcher_.get(); }
  const gem::cluster::Provisioner* provisioner() const { return provisioner_.get(); }
  // The endpoint workers dial.
  const std::string& advertised() const { return advertised_; }

  // The cluster's view of a tree's task (what workers build, and gemd's cache digests), made
  // once per tree and task and kept. Errors: the tree record's encoding.
  gem::Result<std::shared_ptr<const gem::cluster::TreeSpec>> Spec(const gem::SearchableTree& tree,
                                                                  const gem::SearchableTask& task);

 private:
  const Config& config_;
  gem::Cache* cache_;
  gem::cluster::Slurm slurm_;
  gem::cluster::Keyring keyring_;
  std::unique_ptr<gem::cluster::Dispatcher> dispatcher_;
  std::unique_ptr<gem::cluster::Provisioner> provisioner_;
  std::string advertised_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const gem::cluster::TreeSpec>> specs_;  // guarded by mu_
};

}  // namespace gemd

#endif  // GEMD_CLUSTER_H_
