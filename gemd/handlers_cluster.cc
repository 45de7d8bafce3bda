// Copyright the gem authors. cluster.status: the slurm executor's workers, jobs and counters.
#include "handlers.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

BodyResult HandleCluster(Context& ctx, const PeerInfo&, const proto::Request& req) {
  if (!std::holds_alternative<proto::ClusterStatusRequest>(req.body)) {
    return Status::NotSupported("request type '" + req.type + "'");
  }
  proto::ClusterStatusReply r;
  r.default_executor = ctx.config.cluster.executor;
  if (!ctx.cluster) return proto::ReplyBody(std::move(r));
  r.enabled = true;
  r.endpoint = ctx.cluster->advertised();
  for (const auto& w : ctx.cluster->dispatcher()->workers()) {
    r.workers.push_back({w.id, w.slurm_job, w.node, w.gpu, w.device, w.tree, w.busy, w.idle_s});
  }
  for (const auto& t : ctx.cluster->provisioner()->tasks()) {
    r.tasks.push_back({t.slurm_task, t.submission, t.state, t.node, t.reason, t.workers});
  }
  const auto d = ctx.cluster->dispatcher()->stats();
  const auto p = ctx.cluster->provisioner()->stats();
  r.counters = {
      {"units_done", d.units_done},
      {"units_requeued", d.units_requeued},
      {"units_pending", ctx.cluster->dispatcher()->pending_units()},
      {"results_written", d.results_written},
      {"results_joined", d.results_joined},
      {"stale_results_dropped", d.stale_results_dropped},
      {"workers_joined", d.workers_joined},
      {"workers_lost", d.workers_lost},
      {"workers_refused", d.workers_refused},
      {"jobs_submitted", p.submitted_jobs},
      {"tasks_submitted", p.submitted_tasks},
      {"tasks_ended", p.ended_tasks},
      {"tasks_cancelled_idle", p.cancelled_idle_tasks},
      {"launch_failures", p.launch_failures},
      {"jobs_adopted", p.adopted_jobs},
      {"jobs_cancelled_at_start", p.cancelled_at_recovery},
  };
  return proto::ReplyBody(std::move(r));
}

}  // namespace gemd
