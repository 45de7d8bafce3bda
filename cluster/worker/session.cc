// Copyright the gem authors. A gem-worker's session with gemd (session.h).
#include "cluster/worker/session.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <zmq.hpp>

namespace gem::cluster {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The evaluation thread: takes one Load or Unit at a time, hands back Loaded or UnitResult.
class Evaluation {
 public:
  Evaluation(std::unique_ptr<TreeHost> host, int wake_fd)
      : host_(std::move(host)), wake_fd_(wake_fd), thread_([this] { Loop(); }) {}
  ~Evaluation() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool busy() const {
    std::lock_guard<std::mutex> lock(mu_);
    return todo_.has_value() || running_;
  }
  void Post(Message m) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo_ = std::move(m);
    }
    cv_.notify_all();
  }
  std::optional<Message> TakeDone() {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = std::move(done_);
    done_.reset();
    return d;
  }
  std::string tree() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tree_;
  }

 private:
  void Loop() {
    while (true) {
      Message m;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_ || todo_.has_value(); });
        if (quit_) return;
        m = std::move(*todo_);
        todo_.reset();
        running_ = true;
      }
      Message out;
      const auto t0 = Clock::now();
      if (auto* load = std::get_if<Load>(&m)) {
        spdlog::info("building {} (task {})", load->tree, load->task);
        auto fp = host_->Load(*load);
        Loaded l{load->tree, fp.ok() ? *fp : "", fp.ok() ? "" : fp.status().ToString(), Since(t0)};
        if (fp.ok()) {
          spdlog::info("holding {} ({:.1f} s)", load->tree, l.seconds);
        } else {
          spdlog::error("cannot build {}: {}", load->tree, l.error);
        }
        out = std::move(l);
      } else if (auto* unit = std::get_if<Unit>(&m)) {
        UnitResult r;
        r.unit = unit->unit;
        r.lease = unit->lease;
        Status st = host_->Evaluate(*unit, &r.results);
        if (!st.ok()) {
          r.results.clear();
          r.error = st.ToString();
        }
        r.seconds = Since(t0);
        spdlog::debug("unit {} (job {}, model {}, {} queries x {} variants): {:.3f} s{}",
                      unit->unit, unit->job, unit->model, unit->queries.size(),
                      unit->variants.size(), r.seconds, st.ok() ? "" : " " + r.error);
        out = std::move(r);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = std::move(out);
        tree_ = host_->tree();
        running_ = false;
      }
      uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
  }

  std::unique_ptr<TreeHost> host_;
  int wake_fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Message> todo_;  // guarded by mu_
  std::optional<Message> done_;  // guarded by mu_
  std::string tree_;             // guarded by mu_
  bool running_ = false;         // guarded by mu_
  bool quit_ = false;            // guarded by mu_
  std::thread thread_;
};

}  // namespace

Status RunSession(const SessionOptions& o, std::unique_ptr<TreeHost> host,
                  const std::atomic<int>* signalled) {
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return Status::IOError("eventfd", "cannot create");
  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  try {
    sock.set(zmq::sockopt::linger, 2000);  // let a final bye or result go out
    sock.set(zmq::sockopt::routing_id, o.hello.worker);
    sock.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(o.max_message_bytes));
    sock.set(zmq::sockopt::reconnect_ivl, 100);
    sock.set(zmq::sockopt::reconnect_ivl_max, 2000);
    sock.set(zmq::sockopt::curve_serverkey, o.server_public_key);
    sock.set(zmq::sockopt::curve_publickey, o.public_key);
    sock.set(zmq::sockopt::curve_secretkey, o.secret_key);
    sock.connect(o.endpoint);
  } catch (const zmq::error_t& e) {
    ::close(wake_fd);
    return Status::InvalidArgument("gemd endpoint " + o.endpoint, e.what());
  }
  // A unit in progress cannot be interrupted (the engine has no stop hook): when the worker
  // leaves while one runs, the evaluation (and its wake fd) is left to the process's exit.
  auto* evaluation = new Evaluation(std::move(host), wake_fd);
  Evaluation& eval = *evaluation;

  auto last_sent = Clock::now();
  auto send = [&](const Message& m) {
    try {
      zmq::message_t body(Encode(m));
      (void)sock.send(body, zmq::send_flags::dontwait);
      last_sent = Clock::now();
    } catch (const zmq::error_t& e) {
      spdlog::warn("cannot send {}: {}", TypeOf(m), e.what());
    }
  };

  uint32_t heartbeat_ms = kDefaultHeartbeatMs, liveness = kDefaultLiveness;
  bool joined = false, ready_sent = false;
  auto last_heard = Clock::now(), lost_since = Clock::now(), hello_at = Clock::now();
  auto say_hello = [&] {
    Hello h = o.hello;
    h.tree = eval.tree();
    send(h);
    hello_at = Clock::now();
  };
  say_hello();
  spdlog::info("worker {} (node {}, device {}{}) connecting to {}", o.hello.worker, o.hello.node,
               o.hello.device, o.hello.gpu.empty() ? "" : ", gpu " + o.hello.gpu, o.endpoint);

  Status result = Status::OK();
  while (true) {
    if (signalled != nullptr && signalled->load() != 0) {
      const int sig = signalled->load();
      send(Bye{std::string(sig == SIGTERM ? "SIGTERM" : "signal " + std::to_string(sig)) +
               " (scancel, preemption or the time limit)"});
      spdlog::info("leaving: signal {}", sig);
      break;
    }
    zmq::pollitem_t items[] = {{sock.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_fd, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("poll: {}", e.what());
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t n;
      (void)!::read(wake_fd, &n, sizeof n);
    }
    bool leave = false;
    while (true) {
      zmq::message_t msg;
      std::optional<size_t> got;
      try {
        got = sock.recv(msg, zmq::recv_flags::dontwait);
      } catch (const zmq::error_t& e) {
        spdlog::warn("receive: {}", e.what());
      }
      if (!got) break;
      Message m;
      Status st = Decode(msg.to_string_view(), &m, o.max_message_bytes);
      if (!st.ok()) {
        spdlog::warn("bad message from gemd: {}", st.ToString());
        continue;
      }
      last_heard = Clock::now();
      if (auto* w = std::get_if<Welcome>(&m)) {
        joined = true;
        ready_sent = false;
        heartbeat_ms = std::max<uint32_t>(w->heartbeat_ms, 10);
        liveness = std::max<uint32_t>(w->liveness, 2);
        spdlog::info("joined gemd as {} (heartbeat {} ms x {})", w->worker, heartbeat_ms, liveness);
      } else if (auto* r = std::get_if<Refuse>(&m)) {
        if (!r->rejoin) {
          spdlog::error("gemd refused this worker: {}", r->reason);
          result = Status::FailedPrecondition("gemd refused this worker", r->reason);
          leave = true;
          break;
        }
        if (joined || Since(hello_at) * 1000 > heartbeat_ms) {
          spdlog::info("gemd does not know this session ({}): hello again", r->reason);
          joined = false;
          say_hello();
        }
      } else if (std::holds_alternative<Load>(m) || std::holds_alternative<Unit>(m)) {
        if (!joined || eval.busy()) {
          spdlog::warn("ignored a {} (busy or not joined)", TypeOf(m));
        } else {
          ready_sent = false;
          eval.Post(std::move(m));
        }
      } else if (auto* s = std::get_if<Stop>(&m)) {
        spdlog::info("gemd says stop: {}", s->reason);
        send(Bye{"stopped by gemd: " + s->reason});
        leave = true;
        break;
      }
      // Heartbeat: last_heard is all it does.
    }
    if (leave) break;

    if (auto done = eval.TakeDone()) {
      if (joined) {
        send(*done);
      } else {
        spdlog::info("dropped a {}: gemd was lost meanwhile", TypeOf(*done));
      }
    }
    const auto hb = std::chrono::milliseconds(heartbeat_ms);
    if (joined) {
      if (Clock::now() - last_heard > hb * liveness) {
        spdlog::warn("gemd silent for {} heartbeats: waiting for it (at most {:.0f} s)", liveness,
                     o.lost_timeout_s);
        joined = false;
        lost_since = Clock::now();
        say_hello();
      } else {
        if (!ready_sent && !eval.busy()) {
          send(Ready{});
          ready_sent = true;
        }
        if (Clock::now() - last_sent >= hb) send(Heartbeat{});
      }
    } else {
      if (Since(lost_since) > o.lost_timeout_s) {
        spdlog::error("gemd lost for {:.0f} s: leaving", o.lost_timeout_s);
        send(Bye{"gemd lost"});
        result = Status::Unavailable("gemd at " + o.endpoint,
                                     "no answer for " + std::to_string(o.lost_timeout_s) + " s");
        break;
      }
      if (Clock::now() - hello_at >= hb) say_hello();
    }
  }
  sock.close();
  ctx.close();
  if (!eval.busy()) {
    delete evaluation;
    ::close(wake_fd);
  }
  return result;
}

}  // namespace gem::cluster
