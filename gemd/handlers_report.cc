// Copyright the gem authors. report.tree and report.search (docs/PROTOCOL.md, "Reports").
#include "handlers.h"
#include "report_data.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

gem::Result<std::shared_ptr<const gem::SearchableTree>> FindTree(Context& ctx,
                                                                 const std::string& name) {
  auto tree = ctx.trees->Get(name);
  if (!tree) return Status::NotFound("tree '" + name + "'", "not registered (gemctl tree list)");
  return tree;
}

BodyResult Tree(Context& ctx, const proto::ReportTreeRequest& r) {
  auto tree = FindTree(ctx, r.tree);
  if (!tree.ok()) return tree.status();
  auto data = TreeReportData(ctx, **tree, r.task);
  if (!data.ok()) return data.status();
  return proto::ReplyBody(std::move(*data));
}

BodyResult Search(Context& ctx, const proto::ReportSearchRequest& r) {
  const std::string what = "job " + std::to_string(r.job);
  auto job = ctx.jobs->Get(r.job);
  if (!job) return Status::NotFound(what, "no such job (gemctl search list)");
  if (job->status != proto::kJobDone) {
    return Status::FailedPrecondition(what,
                                      "is " + job->status + ", not done: nothing to report" +
                                          (job->error.empty() ? "" : " (" + job->error + ")"));
  }
  proto::ReportSearchReply out;
  auto result = ctx.jobs->GetResult(r.job);
  if (!result.ok()) return result.status().WithContext(what);
  out.result = std::move(*result);
  out.result.job = *job;
  auto tree = FindTree(ctx, job->tree);
  if (!tree.ok()) return tree.status().WithContext(what);
  auto data = TreeReportData(ctx, **tree, job->task);
  if (!data.ok()) return data.status().WithContext(what);
  out.tree = std::move(*data);
  auto trace = LoadSearchTrace(ctx, r.job);
  if (trace.ok()) {
    out.trace_recorded = true;
    out.rounds = std::move(trace->rounds);
  } else if (!trace.status().IsNotFound()) {
    return trace.status().WithContext(what + ": its trace");
  }
  return proto::ReplyBody(std::move(out));
}

}  // namespace

BodyResult HandleReport(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  (void)peer;
  if (auto* r = std::get_if<proto::ReportTreeRequest>(&req.body)) return Tree(ctx, *r);
  if (auto* r = std::get_if<proto::ReportSearchRequest>(&req.body)) return Search(ctx, *r);
  return Status::NotSupported("request type '" + req.type + "'");
}

}  // namespace gemd
