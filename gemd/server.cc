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
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "auth.h"
#include "handlers.h"
#include "notify.h"

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
  explicit Impl(Context& c) : ctx(c) {}

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
  // Requests answered on their own thread (tree.register), in arrival order.
  struct Pending {
    Peer peer;
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
  void Send(const Peer& peer, const proto::Reply& reply);
  void StartWatch(const Peer& peer, const proto::Request& req);
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
    if (cfg.endpoint.rfind("ipc://", 0) == 0) {
      ipc_path = cfg.endpoint.substr(6);
      std::error_code ec;
      auto parent = std::filesystem::path(ipc_path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
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

void Server::Impl::Send(const Peer& peer, const proto::Reply& reply) {
  std::string frame = proto::EncodeReply(reply);
  try {
    peer.socket->send(zmq::buffer(peer.routing_id), zmq::send_flags::sndmore);
    if (peer.delimiter) peer.socket->send(zmq::message_t(), zmq::send_flags::sndmore);
    peer.socket->send(zmq::buffer(frame), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::warn("reply to {} lost: {}", peer.info.Describe(), e.what());
  }
}

void Server::Impl::Handle(Peer& peer, const zmq::message_t& payload) {
  proto::Request req;
  Status st = proto::DecodeRequest(
      std::string_view(static_cast<const char*>(payload.data()), payload.size()), &req,
      ctx.config.max_message_bytes);
  if (!st.ok()) {
    spdlog::warn("bad request from {}: {}", peer.info.Describe(), st.ToString());
    Send(peer, proto::ErrorReply(req.id, req.type, st));
    return;
  }
  if (std::holds_alternative<proto::SearchWatchRequest>(req.body)) {
    StartWatch(peer, req);
    return;
  }
  if (std::holds_alternative<proto::TreeRegisterRequest>(req.body)) {
    // Registering a model tree turns every fine-tune into a delta: minutes for large models.
    // It runs on its own thread so that this one keeps answering everyone else and feeding
    // systemd's watchdog; PumpPending sends the reply when it is ready.
    PeerInfo info = peer.info;
    pending.push_back({peer, std::async(std::launch::async,
                                        [this, info, req] { return Dispatch(ctx, info, req); })});
    return;
  }
  Send(peer, Dispatch(ctx, peer.info, req));
}

void Server::Impl::PumpPending(bool wait) {
  for (auto it = pending.begin(); it != pending.end();) {
    if (!wait && it->reply.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    Send(it->peer, it->reply.get());
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
      // No such property on this transport: the client's claim is all we have.
    }
    if (frames.size() != first + 1) {
      Send(peer, proto::ErrorReply(0, "",
                                   Status::InvalidArgument(
                                       "message", "expected one payload frame, got " +
                                                      std::to_string(frames.size() - first))));
      continue;
    }
    Handle(peer, payload);
  }
}

void Server::Impl::StartWatch(const Peer& peer, const proto::Request& req) {
  const auto& r = std::get<proto::SearchWatchRequest>(req.body);
  if (ctx.state.load(std::memory_order_acquire) != State::kReady) {
    Send(peer, proto::ErrorReply(req.id, req.type, Status::Unavailable("gemd is not ready")));
    return;
  }
  if (!ctx.jobs->Get(r.job)) {
    Send(peer, proto::ErrorReply(req.id, req.type,
                                 Status::NotFound("job " + std::to_string(r.job), "no such job")));
    return;
  }
  Watcher w;
  w.peer = peer;
  w.request_id = req.id;
  w.job = r.job;
  w.version = 0;  // forces an immediate first event
  watchers.push_back(std::move(w));
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
    Send(it->peer, reply);
    it->version = v;
    it->last_sent = now;
    it = final ? watchers.erase(it) : std::next(it);
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
  // A registration in progress finishes (its files and record stay consistent) and is answered.
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
