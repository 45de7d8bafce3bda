// Copyright the gem authors. Dispatch, health and shutdown (handlers.h).
#include "handlers.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "gem/search.h"
#include "gem/task.h"
#if GEM_HAVE_CUDA
#include "engine/cuda/device.h"
#endif

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

std::string OwnerName(const PeerInfo& peer, const std::string& claimed) {
  if (!claimed.empty()) return claimed;
  if (!peer.curve_user.empty()) return peer.curve_user;
  if (!peer.user.empty()) return peer.user;
  if (peer.uid >= 0) return "uid " + std::to_string(peer.uid);
  return "unknown";
}

// The machine's GPUs and CUDA versions, as health reports them.
void DescribeGpus(std::vector<std::string>* gpus, std::string* cuda) {
#if GEM_HAVE_CUDA
  *cuda = gem::cuda::CudaVersions();
  auto devices = gem::cuda::ListDevices();
  if (!devices.ok()) {
    *cuda += "; " + devices.status().ToString();
    return;
  }
  for (const auto& d : *devices) {
    char mem[32];
    std::snprintf(mem, sizeof mem, "%.1f GiB", d.total_bytes / 1073741824.0);
    gpus->push_back("cuda:" + std::to_string(d.ordinal) + " " + d.name + ", sm_" +
                    std::to_string(d.sm) + ", " + mem);
  }
#else
  *cuda = "not built with CUDA";
#endif
}

BodyResult HandleHealth(Context& ctx, const PeerInfo& peer) {
  proto::HealthReply h;
  State s = ctx.state.load(std::memory_order_acquire);
  h.state = s == State::kReady ? "ready" : s == State::kStarting ? "starting" : "stopping";
  if (s != State::kReady) h.stage = ctx.stage();
  h.version = GEM_VERSION;
  h.pid = ::getpid();
  h.uptime_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started_at).count();
  if (s == State::kReady) {
    h.trees = static_cast<uint32_t>(ctx.trees->size());
    h.jobs_queued = ctx.jobs->Count(proto::kJobQueued);
    h.jobs_running = ctx.jobs->Count(proto::kJobRunning);
    h.devices = ctx.scheduler->devices();
    if (ctx.cluster_scheduler) {
      for (const auto& d : ctx.cluster_scheduler->devices()) h.devices.push_back(d);
    }
  }
  h.spread = ctx.config.spread;
  DescribeGpus(&h.gpus, &h.cuda);
  h.peer = peer.Describe();
  h.role = RoleName(peer.role);
  h.watchers = ctx.watchers.load();
  h.request_types = proto::RequestTypes();
  return proto::ReplyBody(std::move(h));
}

BodyResult HandleInfo(const Context& ctx) {
  proto::InfoReply r;
  r.version = GEM_VERSION;
  r.tasks = gem::BuiltinTaskNames();
  r.methods = gem::SearchMethods();
  r.default_method = gem::kDefaultSearchMethod;
  r.default_queries_per_model = gem::SearchOptions().queries_per_model;
  r.formats = {"auto", "accuracy", "matrix", "manifest"};
  r.tree_name_rule =
      "[A-Za-z0-9._-]{1,64}; without one, a manifest tree takes the manifest's \"name\" (else "
      "its file's stem) and a replay file its file's stem";
  r.replay_queries = ctx.config.replay_queries;
  r.replay_sim_seed = ctx.config.replay_sim_seed;
  r.replay_agreement = ctx.config.replay_agreement;
  r.executors = {"local"};
  if (ctx.config.cluster.slurm_enabled()) r.executors.push_back("slurm");
  r.default_executor = ctx.config.cluster.executor;
  return proto::ReplyBody(std::move(r));
}

namespace {

BodyResult Run(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  BodyResult body = Status::Internal("unhandled request type " + req.type);
  State s = ctx.state.load(std::memory_order_acquire);
  if (std::holds_alternative<proto::HealthRequest>(req.body)) {
    body = HandleHealth(ctx, peer);
  } else if (std::holds_alternative<proto::InfoRequest>(req.body)) {
    body = HandleInfo(ctx);
  } else if (std::holds_alternative<proto::ShutdownRequest>(req.body)) {
    spdlog::info("shutdown requested by {} ({})", peer.Describe(), RoleName(peer.role));
    ctx.shutdown_requested = true;
    body = proto::ReplyBody(proto::ShutdownReply{"stopping"});
  } else if (s == State::kStarting) {
    body = Status::Unavailable("gemd is starting", "stage: " + ctx.stage() + "; retry shortly");
  } else if (s == State::kStopping) {
    body = Status::Unavailable("gemd is stopping");
  } else if (req.type.rfind("tree.", 0) == 0) {
    body = HandleTree(ctx, peer, req);
  } else if (req.type.rfind("search.", 0) == 0) {
    body = HandleSearch(ctx, peer, req);
  } else if (req.type.rfind("cache.", 0) == 0) {
    body = HandleCache(ctx, peer, req);
  } else if (req.type.rfind("report.", 0) == 0) {
    body = HandleReport(ctx, peer, req);
  } else if (req.type.rfind("cluster.", 0) == 0) {
    body = HandleCluster(ctx, peer, req);
  }
  return body;
}

}  // namespace

proto::Reply Dispatch(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  proto::Reply reply;
  reply.id = req.id;
  reply.type = req.type;
  BodyResult body = Status::Internal("unhandled request type " + req.type);
  // The boundary: nothing a library throws may end gemd.
  try {
    body = Run(ctx, peer, req);
  } catch (const std::bad_alloc&) {
    body = Status::ResourceExhausted("request " + req.type, "out of memory; nothing was changed");
  } catch (const std::exception& e) {
    body = Status::Internal("request " + req.type, std::string("unexpected error: ") + e.what());
  } catch (...) {
    body = Status::Internal("request " + req.type, "unexpected error");
  }
  if (body.ok()) {
    reply.body = std::move(*body);
  } else {
    reply.status = body.status();
    if (reply.status.code() == Status::Code::kInternal) {
      spdlog::error("{} from {}: {}", req.type, peer.Describe(), reply.status.ToString());
    } else {
      spdlog::debug("{} from {}: {}", req.type, peer.Describe(), reply.status.ToString());
    }
  }
  return reply;
}

}  // namespace gemd
