// Copyright the gem authors. search.start, status, cancel, result, list, resume (watch is a
// stream: server.cc).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "gem/search.h"
#include "handlers.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

gem::Result<proto::JobInfo> FindJob(Context& ctx, uint64_t id) {
  auto job = ctx.jobs->Get(id);
  if (!job)
    return Status::NotFound("job " + std::to_string(id), "no such job (gemctl search list)");
  return *job;
}

BodyResult Start(Context& ctx, const PeerInfo& peer, const proto::SearchStartRequest& r) {
  auto tree = ctx.trees->Get(r.tree);
  if (!tree) return Status::NotFound("tree '" + r.tree + "'", "not registered (gemctl tree list)");
  auto found = tree->GetTask(r.task);
  if (!found.ok()) return found.status();
  const gem::SearchableTask* task = *found;
  std::string method = r.method.empty() ? gem::kDefaultSearchMethod : r.method;
  auto methods = gem::SearchMethods();
  if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
    std::string list;
    for (const auto& m : methods) list += (list.empty() ? "" : ", ") + m;
    return Status::InvalidArgument("method '" + method + "'", "unknown; known methods: " + list);
  }
  const uint32_t q = task->num_queries();
  // 0: the default (protocol revision 3), as for a search in libgem.
  const uint32_t n =
      r.queries_per_model ? r.queries_per_model : gem::SearchOptions().queries_per_model;
  if (n > q) {
    return Status::InvalidArgument(
        "queries_per_model " + std::to_string(n),
        "must be between 1 and the task's " + std::to_string(q) + " queries");
  }
  const std::string executor = r.executor.empty() ? ctx.config.cluster.executor : r.executor;
  if (executor != "local" && executor != "slurm") {
    return Status::InvalidArgument("executor '" + executor + "'", "must be local or slurm");
  }
  if (executor == "slurm" && !ctx.cluster_scheduler) {
    return Status::InvalidArgument(
        "executor 'slurm'",
        "this gemd has no cluster (set cluster.worker_endpoint, docs/CLUSTER.md)");
  }
  proto::JobInfo job;
  job.executor = executor;
  job.tree = r.tree;
  job.task = r.task;
  job.method = method;
  // A resume or restart runs the algorithm the job started with, even if a later build gives
  // the name to another one (gem/search.h, "Method revisions").
  job.method_revision = gem::SearchMethodRevision(method);
  job.queries_per_model = n;
  job.seed = r.seed;
  job.user = OwnerName(peer, r.user);
  job.uid = peer.uid;
  job.curve_key = peer.curve_user;
  job.progress.budget = gem::SearchBudget(n, tree->num_models());
  auto created = ctx.jobs->Create(std::move(job));
  if (!created.ok()) return created.status();
  if (!ctx.SchedulerFor(executor)->Enqueue(created->id)) {
    return Status::Unavailable("gemd is stopping");
  }
  spdlog::info("job {} queued by {} ({}): {} / {} / {} N={} seed={} executor {}", created->id,
               created->user, peer.Describe(), r.tree, r.task, method, n, r.seed, executor);
  return proto::ReplyBody(proto::JobReply{*created});
}

BodyResult Cancel(Context& ctx, const PeerInfo& peer, uint64_t id) {
  auto job = FindJob(ctx, id);
  if (!job.ok()) return job.status();
  if (Status ok = ctx.access.AuthorizeJobChange(peer, *job, "cancel"); !ok.ok()) {
    spdlog::warn("refused search.cancel of job {} from {}: {}", id, peer.Describe(), ok.message());
    return ok;
  }
  if (proto::IsFinalJobState(job->status)) {
    return Status::FailedPrecondition("job " + std::to_string(id), "is already " + job->status);
  }
  ctx.jobs->RequestStop(id, proto::kJobCancelled);
  Scheduler* scheduler = ctx.SchedulerFor(job->executor);
  if (scheduler != nullptr && scheduler->Dequeue(id)) {
    (void)ctx.jobs->Update(id, [](proto::JobInfo& j) {
      j.status = proto::kJobCancelled;
      j.error = "cancelled before it started";
    });
    ctx.jobs->ClearStop(id);
  }
  spdlog::info("job {} cancel requested by {}", id, peer.Describe());
  return proto::ReplyBody(proto::JobReply{*ctx.jobs->Get(id)});
}

BodyResult Resume(Context& ctx, const PeerInfo& peer, uint64_t id) {
  auto job = FindJob(ctx, id);
  if (!job.ok()) return job.status();
  if (Status ok = ctx.access.AuthorizeJobChange(peer, *job, "resume"); !ok.ok()) {
    spdlog::warn("refused search.resume of job {} from {}: {}", id, peer.Describe(), ok.message());
    return ok;
  }
  if (job->status != proto::kJobInterrupted && job->status != proto::kJobCancelled &&
      job->status != proto::kJobFailed) {
    return Status::FailedPrecondition(
        "job " + std::to_string(id),
        "is " + job->status + "; only interrupted, cancelled or failed jobs can be resumed");
  }
  Scheduler* scheduler = ctx.SchedulerFor(job->executor);
  if (scheduler == nullptr) {
    return Status::FailedPrecondition(
        "job " + std::to_string(id),
        "ran on the slurm executor, and this gemd has no cluster (cluster.worker_endpoint)");
  }
  ctx.jobs->ClearStop(id);
  Status st = ctx.jobs->Update(id, [](proto::JobInfo& j) {
    j.status = proto::kJobQueued;
    j.error.clear();
  });
  if (!st.ok()) return st;
  if (!scheduler->Enqueue(id)) return Status::Unavailable("gemd is stopping");
  spdlog::info("job {} resumed by {}", id, peer.Describe());
  return proto::ReplyBody(proto::JobReply{*ctx.jobs->Get(id)});
}

BodyResult Result(Context& ctx, uint64_t id) {
  auto job = FindJob(ctx, id);
  if (!job.ok()) return job.status();
  if (job->status != proto::kJobDone) {
    return Status::FailedPrecondition("job " + std::to_string(id),
                                      "is " + job->status + ", not done: no result yet" +
                                          (job->error.empty() ? "" : " (" + job->error + ")"));
  }
  auto r = ctx.jobs->GetResult(id);
  if (!r.ok()) return r.status().WithContext("job " + std::to_string(id));
  r->job = *job;
  return proto::ReplyBody(std::move(*r));
}

}  // namespace

BodyResult HandleSearch(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  if (auto* r = std::get_if<proto::SearchStartRequest>(&req.body)) return Start(ctx, peer, *r);
  if (auto* r = std::get_if<proto::SearchStatusRequest>(&req.body)) {
    auto job = FindJob(ctx, r->job);
    if (!job.ok()) return job.status();
    return proto::ReplyBody(proto::JobReply{*job});
  }
  if (auto* r = std::get_if<proto::SearchCancelRequest>(&req.body)) {
    return Cancel(ctx, peer, r->job);
  }
  if (auto* r = std::get_if<proto::SearchResumeRequest>(&req.body)) {
    return Resume(ctx, peer, r->job);
  }
  if (auto* r = std::get_if<proto::SearchResultRequest>(&req.body)) return Result(ctx, r->job);
  if (auto* r = std::get_if<proto::SearchListRequest>(&req.body)) {
    return proto::ReplyBody(proto::JobListReply{ctx.jobs->List(r->user, r->state)});
  }
  return Status::NotSupported("request type '" + req.type + "'");
}

}  // namespace gemd
