// Copyright the gem authors. The server loop (server.h).
#include "server.h"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "auth.h"
#include "handlers.h"
#include "notify.h"
#include "request_limits.h"
#include "work_queue.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;
using Clock = std::chrono::steady_clock;

namespace {

// A live listener on a unix socket path answers connect(); a stale file left by a crash doesn't.
bool UnixSocketInUse(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

struct Server::Impl {
  explicit Impl(Context& c)
      : ctx(c),
        registrations("registrations", c.config.max_queued_registrations),
        reads("reads", kMaxQueuedReads) {}

  // cache.stats and cache.export scan the store: at most this many wait off the server thread.
  static constexpr size_t kMaxQueuedReads = 8;

  struct Peer {
    zmq::socket_t* socket = nullptr;
    std::string routing_id;
    bool delimiter = false;
    PeerInfo info;
  };
  struct Watcher {
    Peer peer;
    uint64_t request_id = 0;
    uint64_t job = 0;
    uint64_t version = 0;
    Clock::time_point last_sent;
  };

  Context& ctx;
  zmq::context_t zctx{1};
  std::unique_ptr<zmq::socket_t> ipc, tcp, zap;
  AuthorizedKeys keys;
  std::string ipc_path;
  std::list<Watcher> watchers;
  std::map<std::string, uint32_t> watchers_per_peer;  // routing id -> open streams
  // Slow requests, answered off this thread (work_queue.h), and their replies to send.
  WorkQueue registrations;  // tree.register
  WorkQueue reads;          // cache.stats, cache.export
  struct Pending {
    Peer peer;
    uint64_t id = 0;
    std::string type;
    std::future<proto::Reply> reply;
  };
  std::list<Pending> pending;
  std::string last_status;
  std::thread thread;
  std::atomic<bool> stop{false};

  Status Bind();
  void Loop();
  void Drain(zmq::socket_t& sock, bool is_tcp);
  void Handle(Peer& peer, const zmq::message_t& payload);
  bool Send(const Peer& peer, const proto::Reply& reply);
  void SendError(const Peer& peer, uint64_t id, std::string_view type, const Status& st);
  void Queue(WorkQueue& queue, const Peer& peer, const proto::Request& req);
  void StartWatch(const Peer& peer, const proto::Request& req);
  void DropWatcher(std::list<Watcher>::iterator it);
  void PumpWatchers();
  void PumpPending(bool wait);
  void UpdateStatus();
};

Status Server::Impl::Bind() {
  const auto& cfg = ctx.config;
  const int64_t hard_cap = static_cast<int64_t>(cfg.max_message_bytes) * 2 + (64 << 10);
  try {
    if (!cfg.tcp_endpoint.empty()) {
      auto secret = ReadZ85KeyFile(cfg.curve_secret_key_file);
      if (!secret.ok()) return secret.status().WithContext("curve_secret_key_file");
      auto k = LoadAuthorizedKeys(cfg.curve_authorized_keys);
      if (!k.ok()) return k.status().WithContext("curve_authorized_keys");
      keys = std::move(*k);
      if (keys.empty()) {
        spdlog::warn("curve_authorized_keys {} lists no key: every tcp client will be refused",
                     cfg.curve_authorized_keys);
      }
      // The ZAP handler must be bound before any socket that uses it accepts a connection.
      zap = std::make_unique<zmq::socket_t>(zctx, zmq::socket_type::rep);
      zap->set(zmq::sockopt::linger, 0);
      zap->bind("inproc://zeromq.zap.01");
      tcp = std::make_unique<zmq::socket_t>(zctx, zmq::socket_type::router);
      tcp->set(zmq::sockopt::linger, 0);
      tcp->set(zmq::sockopt::maxmsgsize, hard_cap);
      tcp->set(zmq::sockopt::router_mandatory, true);
      tcp->set(zmq::sockopt::curve_server, true);
      tcp->set(zmq::sockopt::curve_secretkey, *secret);
      tcp->set(zmq::sockopt::zap_domain, "gemd");
      tcp->bind(cfg.tcp_endpoint);
      spdlog::info("listening on {} (CURVE, {} authorised keys)",
                   tcp->get(zmq::sockopt::last_endpoint), keys.size());
    }
    ipc = std::make_unique<zmq::socket_t>(zctx, zmq::socket_type::router);
    ipc->set(zmq::sockopt::linger, 0);
    ipc->set(zmq::sockopt::maxmsgsize, hard_cap);
    // A reply to a client that is gone fails (EHOSTUNREACH) instead of vanishing, so the watch
    // streams of vanished clients are dropped at their next event.
    ipc->set(zmq::sockopt::router_mandatory, true);
    if (cfg.endpoint.rfind("ipc://", 0) == 0) {
      ipc_path = cfg.endpoint.substr(6);
      std::error_code ec;
      auto parent = std::filesystem::path(ipc_path).parent_path();
      // A directory gemd makes for its socket must let clients reach it (gemd's umask is 0077).
      if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
        std::filesystem::create_directories(parent, ec);
        ::chmod(parent.c_str(), 0755);
      }
      if (std::filesystem::exists(ipc_path, ec) && UnixSocketInUse(ipc_path)) {
        ipc_path.clear();
        return Status::Unavailable("endpoint " + cfg.endpoint, "in use by another running server");
      }
    }
    ipc->bind(cfg.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IOError("bind", e.what());
  }
  if (!ipc_path.empty()) {
    mode_t mode = static_cast<mode_t>(std::strtoul(cfg.ipc_mode.c_str(), nullptr, 8));
    if (::chmod(ipc_path.c_str(), mode) != 0) {
      return Status::IOError(ipc_path, std::string("chmod: ") + std::strerror(errno));
    }
    if (!cfg.ipc_group.empty()) {
      struct group* g = ::getgrnam(cfg.ipc_group.c_str());
      if (g == nullptr || ::chown(ipc_path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
        return Status::IOError(ipc_path, "cannot give the socket to group " + cfg.ipc_group);
      }
    }
  }
  spdlog::info("listening on {} (mode {})", cfg.endpoint, cfg.ipc_mode);
  return Status::OK();
}

bool Server::Impl::Send(const Peer& peer, const proto::Reply& reply) {
  std::string frame = proto::EncodeReply(reply);
  try {
    // Never block this thread on one client: a reply to a client whose queue is full is lost
    // (as libzmq drops it without ROUTER_MANDATORY), and one to a vanished client fails.
    if (!peer.socket->send(zmq::buffer(peer.routing_id),
                           zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      spdlog::warn("reply to {} lost: its queue is full", peer.info.Describe());
      return false;
    }
    if (peer.delimiter) {
      peer.socket->send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    peer.socket->send(zmq::buffer(frame), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH)
      spdlog::warn("reply to {} lost: {}", peer.info.Describe(), e.what());
    return false;
  }
  return true;
}

void Server::Impl::SendError(const Peer& peer, uint64_t id, std::string_view type,
                             const Status& st) {
  // An unreadable request may carry a huge type or a message quoting one: the reply echoes at
  // most 64 bytes of the type and 1 KiB of message.
  Status capped =
      st.message().size() > 1024 ? Status::FromCode(st.code(), LogSafe(st.message(), 1024)) : st;
  Send(peer, proto::ErrorReply(id, type.size() > kMaxNameBytes ? "" : std::string(type), capped));
}

void Server::Impl::Queue(WorkQueue& queue, const Peer& peer, const proto::Request& req) {
  Context* c = &ctx;
  PeerInfo info = peer.info;
  auto future = queue.TrySubmit([c, info, req](bool stopping) {
    if (stopping) {
      return proto::ErrorReply(req.id, req.type, Status::Unavailable("gemd is stopping"));
    }
    return Dispatch(*c, info, req);
  });
  if (!future) {
    Status full = Status::ResourceExhausted("request " + req.type,
                                            "the " + queue.name() + " queue is full (" +
                                                std::to_string(queue.capacity()) +
                                                " waiting or running); retry later");
    spdlog::warn("{} from {} refused: {}", req.type, peer.info.Describe(), full.message());
    SendError(peer, req.id, req.type, full);
    return;
  }
  pending.push_back({peer, req.id, req.type, std::move(*future)});
}

void Server::Impl::Handle(Peer& peer, const zmq::message_t& payload) {
  proto::Request req;
  Status st = proto::DecodeRequest(
      std::string_view(static_cast<const char*>(payload.data()), payload.size()), &req,
      ctx.config.max_message_bytes);
  if (st.ok()) st = CheckRequestLimits(req);
  if (!st.ok()) {
    spdlog::warn("bad request {} from {}: {}", LogSafe(req.type, kMaxNameBytes),
                 peer.info.Describe(), LogSafe(st.ToString(), 200));
    SendError(peer, req.id, req.type, st);
    return;
  }
  // Every refusal is a named error, and logged.
  if (Status allowed = ctx.access.Authorize(peer.info, req); !allowed.ok()) {
    spdlog::warn("refused {} from {}: {}", req.type, peer.info.Describe(), allowed.message());
    SendError(peer, req.id, req.type, allowed);
    return;
  }
  if (std::holds_alternative<proto::SearchWatchRequest>(req.body)) {
    StartWatch(peer, req);
    return;
  }
  if (ctx.state.load(std::memory_order_acquire) == State::kReady) {
    if (std::holds_alternative<proto::TreeRegisterRequest>(req.body)) {
      // Registering a model tree turns every fine-tune into a delta: minutes for large models.
      // It runs off this thread so that this one keeps answering everyone else and feeding
      // systemd's watchdog; PumpPending sends the reply when it is ready.
      Queue(registrations, peer, req);
      return;
    }
    if (std::holds_alternative<proto::CacheStatsRequest>(req.body) ||
        std::holds_alternative<proto::CacheExportRequest>(req.body)) {
      Queue(reads, peer, req);  // they scan the store
      return;
    }
  }
  Send(peer, Dispatch(ctx, peer.info, req));
}

void Server::Impl::PumpPending(bool wait) {
  for (auto it = pending.begin(); it != pending.end();) {
    if (!wait && it->reply.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    try {
      Send(it->peer, it->reply.get());
    } catch (const std::exception& e) {  // Dispatch never throws; this is belt and braces
      SendError(
          it->peer, it->id, it->type,
          Status::Internal("request " + it->type, std::string("unexpected error: ") + e.what()));
    }
    it = pending.erase(it);
  }
}

void Server::Impl::Drain(zmq::socket_t& sock, bool is_tcp) {
  for (int budget = 0; budget < 256; ++budget) {
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(sock, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        return;
      }
    } catch (const zmq::error_t& e) {
      spdlog::warn("receive failed: {}", e.what());
      return;
    }
    if (frames.size() < 2) continue;  // a ROUTER always prefixes the routing id
    if (frames[0].size() == 0) continue;  // not a routing id a reply could reach
    Peer peer;
    peer.socket = &sock;
    peer.routing_id = frames[0].to_string();
    peer.info.transport = is_tcp ? "tcp" : "ipc";
    size_t first = 1;
    if (frames.size() >= 3 && frames[1].size() == 0) {
      peer.delimiter = true;
      first = 2;
    }
    zmq::message_t& payload = frames[first];
    try {
      if (is_tcp) {
        peer.info.curve_user = payload.gets("User-Id");
      } else {
        peer.info.uid = UidFromPeerAddress(payload.gets("Peer-Address"));
      }
    } catch (const zmq::error_t&) {
      // No such property: the peer stays unidentified (role none: health only).
    }
    ctx.access.Identify(&peer.info);
    if (frames.size() != first + 1) {
      SendError(peer, 0, "",
                Status::InvalidArgument("message", "expected one payload frame, got " +
                                                       std::to_string(frames.size() - first)));
      continue;
    }
    Handle(peer, payload);
  }
}

void Server::Impl::StartWatch(const Peer& peer, const proto::Request& req) {
  const auto& r = std::get<proto::SearchWatchRequest>(req.body);
  if (ctx.state.load(std::memory_order_acquire) != State::kReady) {
    SendError(peer, req.id, req.type, Status::Unavailable("gemd is not ready"));
    return;
  }
  if (!ctx.jobs->Get(r.job)) {
    SendError(peer, req.id, req.type,
              Status::NotFound("job " + std::to_string(r.job), "no such job"));
    return;
  }
  // Each stream costs an event every 2.5 s until its job ends: bounded per client and in all.
  uint32_t& mine = watchers_per_peer[peer.routing_id];
  if (mine >= ctx.config.max_watchers_per_client || watchers.size() >= ctx.config.max_watchers) {
    const bool per_client = mine >= ctx.config.max_watchers_per_client;
    if (mine == 0) watchers_per_peer.erase(peer.routing_id);
    Status full = Status::ResourceExhausted(
        "search.watch", per_client ? "this connection already watches " +
                                         std::to_string(ctx.config.max_watchers_per_client) +
                                         " jobs (server.max_watchers_per_client)"
                                   : std::to_string(ctx.config.max_watchers) +
                                         " watch streams are open (server.max_watchers)");
    spdlog::warn("search.watch from {} refused: {}", peer.info.Describe(), full.message());
    SendError(peer, req.id, req.type, full);
    return;
  }
  ++mine;
  Watcher w;
  w.peer = peer;
  w.request_id = req.id;
  w.job = r.job;
  w.version = 0;  // forces an immediate first event
  watchers.push_back(std::move(w));
  ctx.watchers.store(static_cast<uint32_t>(watchers.size()));
}

void Server::Impl::DropWatcher(std::list<Watcher>::iterator it) {
  auto n = watchers_per_peer.find(it->peer.routing_id);
  if (n != watchers_per_peer.end() && --n->second == 0) watchers_per_peer.erase(n);
  watchers.erase(it);
  ctx.watchers.store(static_cast<uint32_t>(watchers.size()));
}

void Server::Impl::PumpWatchers() {
  const auto now = Clock::now();
  for (auto it = watchers.begin(); it != watchers.end();) {
    uint64_t v = ctx.jobs->Version(it->job);
    bool changed = v != it->version;
    bool heartbeat = now - it->last_sent >= std::chrono::milliseconds(proto::kHeartbeatIntervalMs);
    if (!changed && !heartbeat) {
      ++it;
      continue;
    }
    auto job = ctx.jobs->Get(it->job);
    proto::Reply reply;
    reply.id = it->request_id;
    reply.type = proto::SearchWatchRequest::kType;
    proto::WatchEvent ev;
    ev.job = job ? *job : proto::JobInfo{};
    bool final = !job || proto::IsFinalJobState(job->status);
    ev.event = final ? "end" : changed ? "progress" : "heartbeat";
    reply.more = !final;
    reply.body = ev;
    const bool delivered = Send(it->peer, reply);
    it->version = v;
    it->last_sent = now;
    if (final || !delivered) {  // the stream ended, or its client is gone
      auto gone = it++;
      DropWatcher(gone);
    } else {
      ++it;
    }
  }
}

void Server::Impl::UpdateStatus() {
  if (ctx.state.load(std::memory_order_acquire) != State::kReady) return;
  std::string s = "ready: " + std::to_string(ctx.jobs->Count(proto::kJobRunning)) + " running, " +
                  std::to_string(ctx.scheduler->queued()) + " queued, " +
                  std::to_string(ctx.trees->size()) + " trees";
  if (s != last_status) {
    last_status = s;
    notify::Status(s);
  }
}

void Server::Impl::Loop() {
  std::vector<zmq::pollitem_t> items;
  items.push_back({ipc->handle(), 0, ZMQ_POLLIN, 0});
  if (tcp) items.push_back({tcp->handle(), 0, ZMQ_POLLIN, 0});
  if (zap) items.push_back({zap->handle(), 0, ZMQ_POLLIN, 0});
  while (!stop.load()) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("poll: {}", e.what());
    }
    size_t i = 0;
    if (items[i++].revents & ZMQ_POLLIN) Drain(*ipc, false);
    if (tcp && (items[i++].revents & ZMQ_POLLIN)) Drain(*tcp, true);
    if (zap && (items[i++].revents & ZMQ_POLLIN)) {
      for (int k = 0; k < 64; ++k) AnswerZap(*zap, keys);
    }
    if (ctx.state.load(std::memory_order_acquire) == State::kReady) PumpWatchers();
    PumpPending(/*wait=*/false);
    UpdateStatus();
    notify::WatchdogTick();
  }
  // A registration in progress finishes (its files and record stay consistent); those still
  // waiting are answered that gemd is stopping.
  registrations.Stop();
  reads.Stop();
  PumpPending(/*wait=*/true);
  // Final events for watchers: the stream ends with the job's state at shutdown.
  if (ctx.jobs) {
    for (auto& w : watchers) {
      proto::Reply reply = proto::ErrorReply(w.request_id, proto::SearchWatchRequest::kType,
                                             Status::Unavailable("gemd is stopping"));
      Send(w.peer, reply);
    }
  }
  watchers.clear();
  watchers_per_peer.clear();
  ctx.watchers.store(0);
}

Server::Server(Context& ctx) : impl_(std::make_unique<Impl>(ctx)) {}
Server::~Server() { Stop(); }

Status Server::Start() {
  std::promise<Status> bound;
  auto result = bound.get_future();
  impl_->thread = std::thread([this, &bound] {
    Status st = impl_->Bind();
    bool ok = st.ok();
    bound.set_value(st);
    if (ok) impl_->Loop();
  });
  Status st = result.get();
  if (!st.ok()) {
    impl_->thread.join();
    impl_->ipc.reset();
    impl_->tcp.reset();
    impl_->zap.reset();
  }
  return st;
}

void Server::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stop = true;
  impl_->thread.join();
  impl_->ipc.reset();
  impl_->tcp.reset();
  impl_->zap.reset();
  if (!impl_->ipc_path.empty()) ::unlink(impl_->ipc_path.c_str());
  impl_->zctx.close();
}

}  // namespace gemd
