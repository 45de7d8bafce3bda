// Copyright the gem authors. The dispatcher (dispatcher.h): units, leases, workers, heartbeats.
#include "cluster/dispatcher.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "gem/zap.h"

namespace gem::cluster {

using Clock = std::chrono::steady_clock;

std::shared_ptr<const TreeSpec> MakeTreeSpec(TreeSpec spec) {
  spec.fingerprint = TreeFingerprint(spec.models, spec.task_digest, spec.queries, spec.configs);
  spec.id = spec.name + "/" + spec.task + "@" + spec.fingerprint.Hex().substr(0, 12);
  return std::make_shared<const TreeSpec>(std::move(spec));
}

struct Dispatcher::Sockets {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t zap{ctx, zmq::socket_type::rep};
};

// One Evaluate() in progress.
struct Dispatcher::Call {
  std::vector<TripleResult>* results = nullptr;
  size_t remaining = 0;
  Status status;
  // Units completed for this call since the caller last looked: where, and how many triples.
  std::vector<std::pair<Placement, uint32_t>> placements;
};

struct Dispatcher::UnitState {
  uint64_t id = 0;
  std::shared_ptr<const TreeSpec> tree;
  uint64_t job = 0;
  uint32_t model = 0;
  std::vector<uint32_t> queries;
  std::vector<uint32_t> variants;
  uint64_t lease = 0;  // current lease, 0 while queued
  std::string peer;    // routing id of the leaseholder
  uint32_t attempts = 0;
  std::vector<ResultKey> keys() const {
    std::vector<ResultKey> k;
    for (uint32_t q : queries) {
      for (uint32_t v : variants) {
        k.push_back({tree->models[model], tree->queries[q], tree->configs[v]});
      }
    }
    return k;
  }
};

struct Dispatcher::Peer {
  std::string routing_id;
  Hello hello;
  std::string key_name;
  std::string tree;     // the tree it holds
  std::string loading;  // the tree it is building ("" when none)
  bool ready = false;   // it said `ready` since it was last given a load or a unit
  uint64_t unit = 0;    // leased unit, 0 when none
  Clock::time_point last_heard, last_sent, idle_since;
  Placement placement() const { return {hello.worker, hello.node, hello.gpu, hello.device}; }
  std::string name() const { return hello.worker + " on " + hello.node; }
};

Dispatcher::Dispatcher(DispatcherOptions options, Cache* cache, Keyring* keyring)
    : options_(std::move(options)), cache_(cache), keyring_(keyring) {}

Dispatcher::~Dispatcher() { Stop(/*stop_workers=*/false); }

Status Dispatcher::Start() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::IOError("eventfd", "cannot create");
  admission_open_ = !options_.hold_admission;
  auto s = std::make_unique<Sockets>();
  try {
    s->zap.set(zmq::sockopt::linger, 0);
    s->zap.bind("inproc://zeromq.zap.01");
    s->router.set(zmq::sockopt::linger, 500);  // a final `stop` to the workers still goes out
    s->router.set(zmq::sockopt::router_mandatory, true);
    s->router.set(zmq::sockopt::router_handover, true);
    s->router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_message_bytes));
    s->router.set(zmq::sockopt::curve_server, true);
    s->router.set(zmq::sockopt::curve_secretkey, options_.server_secret_key);
    s->router.set(zmq::sockopt::zap_domain, "gem-worker");
    s->router.bind(options_.endpoint);
    std::lock_guard<std::mutex> lock(mu_);
    bound_endpoint_ = s->router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IOError("worker endpoint " + options_.endpoint, e.what());
  }
  sockets_ = std::move(s);
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void Dispatcher::Stop(bool stop_workers) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    stop_workers_ = stop_workers;
  }
  Wake();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  sockets_.reset();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

std::string Dispatcher::endpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bound_endpoint_;
}

void Dispatcher::OpenAdmission() {
  if (!admission_open_.exchange(true)) Wake();
}

void Dispatcher::Wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

// ---- the I/O thread --------------------------------------------------------------------------

namespace {

// RFC 27: admits CURVE clients whose key is in the keyring, with the key's name as User-Id.
void AnswerZap(zmq::socket_t& zap, const Keyring& keyring) {
  try {
    gem::ZapRequest r;
    if (!gem::ReceiveZapRequest(zap, &r)) return;
    if (r.frames >= 7 && r.version == "1.0" && r.mechanism == "CURVE" && !r.curve_key.empty()) {
      if (auto name = keyring.Find(r.curve_key)) {
        gem::SendZapReply(zap, r, true, "OK", *name);
        return;
      }
      spdlog::warn("cluster: refused worker {} from {}: key not of a live worker job",
                   BinaryToZ85(r.curve_key), r.address);
    } else {
      spdlog::warn("cluster: refused {} peer from {}: workers must use CURVE", r.mechanism,
                   r.address);
    }
    gem::SendZapReply(zap, r, false, "not authorised");
  } catch (const zmq::error_t& e) {
    spdlog::error("cluster: ZAP handler: {}", e.what());
  }
}

}  // namespace

void Dispatcher::Run() {
  Sockets& s = *sockets_;
  const long tick_ms = std::clamp<long>(options_.heartbeat_ms / 4, 10, 250);
  while (true) {
    // While admission is held, ZAP requests wait in their socket (the handshakes with them).
    const bool admit = admission_open_.load();
    zmq::pollitem_t items[] = {{s.router.handle(), 0, ZMQ_POLLIN, 0},
                               {s.zap.handle(), 0, static_cast<short>(admit ? ZMQ_POLLIN : 0), 0},
                               {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 3, std::chrono::milliseconds(tick_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("cluster: poll: {}", e.what());
    }
    if (items[2].revents & ZMQ_POLLIN) {
      uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof n);
    }
    for (int k = 0; k < 64 && admit && (items[1].revents & ZMQ_POLLIN); ++k) {
      AnswerZap(s.zap, *keyring_);
    }
    for (int k = 0; k < 256; ++k) {
      std::vector<zmq::message_t> frames;
      try {
        if (!zmq::recv_multipart(s.router, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
      } catch (const zmq::error_t& e) {
        spdlog::warn("cluster: receive: {}", e.what());
        break;
      }
      if (frames.size() != 2) {
        spdlog::warn("cluster: dropped a message of {} frames (expected 2)", frames.size());
        continue;
      }
      const char* user = frames[1].gets("User-Id");
      HandleFrame(frames[0].to_string(), user ? user : "", frames[1].to_string());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        if (stop_workers_) {
          for (auto& [id, p] : peers_) SendTo(*p, cluster::Stop{"gemd is stopping"});
        }
        break;
      }
    }
    Tick();
    Assign();
  }
  cv_.notify_all();
}

void Dispatcher::SendTo(Peer& peer, const Message& m) {
  // REQUIRES: the I/O thread (the socket is its own).
  try {
    zmq::message_t id(peer.routing_id), body(Encode(m));
    if (!sockets_->router.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !sockets_->router.send(body, zmq::send_flags::dontwait)) {
      spdlog::warn("cluster: {}: send queue full, dropped a {}", peer.name(), TypeOf(m));
    }
    peer.last_sent = Clock::now();
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the peer disconnected; its silence will declare it gone.
    spdlog::debug("cluster: {}: cannot send {}: {}", peer.name(), TypeOf(m), e.what());
  }
}

void Dispatcher::HandleFrame(const std::string& routing_id, const std::string& user_id,
                             const std::string& frame) {
  Message m;
  Status st = Decode(frame, &m, options_.max_message_bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(routing_id);
  Peer* peer = it == peers_.end() ? nullptr : it->second.get();
  if (!st.ok()) {
    spdlog::warn("cluster: bad message from {} ({}): {}", peer ? peer->name() : routing_id, user_id,
                 st.ToString());
    return;
  }
  const auto now = Clock::now();
  if (auto* hello = std::get_if<Hello>(&m)) {
    if (peer != nullptr && peer->unit != 0) {
      // The same routing id said hello again (it reconnected and lost its session): whatever it
      // held is gone with the old session.
      WorkerGone(routing_id, "it said hello again");
      peer = nullptr;
    }
    auto p = std::make_unique<Peer>();
    p->routing_id = routing_id;
    p->hello = *hello;
    p->key_name = user_id;
    p->tree = hello->tree;
    p->last_heard = p->idle_since = now;
    Peer& ref = *p;
    peers_[routing_id] = std::move(p);
    stats_.workers_joined++;
    spdlog::info("cluster: worker {} joined: node {}, device {}{}, job {} (key {})", hello->worker,
                 hello->node, hello->device, hello->gpu.empty() ? "" : ", gpu " + hello->gpu,
                 hello->slurm_job, user_id);
    SendTo(ref, Welcome{hello->worker, options_.heartbeat_ms, options_.liveness});
    return;
  }
  if (peer == nullptr) {
    // gemd restarted (or declared it gone): it must introduce itself again. A result it sends
    // meanwhile belongs to a lease that is no longer held: dropped, never written.
    if (auto* r = std::get_if<UnitResult>(&m)) {
      stats_.stale_results_dropped += r->results.size();
      spdlog::info("cluster: dropped a result of unit {} from {}: that worker was declared gone",
                   r->unit, routing_id);
    }
    Peer tmp;
    tmp.routing_id = routing_id;
    tmp.hello.worker = routing_id;
    if (!std::holds_alternative<Bye>(m)) {
      SendTo(tmp, Refuse{"unknown session: say hello", /*rejoin=*/true});
    }
    return;
  }
  peer->last_heard = now;
  if (std::holds_alternative<Ready>(m)) {
    peer->ready = true;
  } else if (auto* loaded = std::get_if<Loaded>(&m)) {
    if (loaded->tree != peer->loading) return;  // an answer to a load we no longer care about
    peer->loading.clear();
    std::string problem;
    // Which tree? Any unit of it knows its spec.
    std::shared_ptr<const TreeSpec> spec;
    for (auto& [id, u] : units_) {
      if (u->tree->id == loaded->tree) spec = u->tree;
    }
    if (!loaded->error.empty()) {
      problem =
          "worker " + peer->name() + " could not build tree " + loaded->tree + ": " + loaded->error;
    } else if (spec && loaded->fingerprint != spec->fingerprint.Hex()) {
      problem = "worker " + peer->name() + " built tree " + loaded->tree +
                " with other digests than gemd (fingerprint " + loaded->fingerprint.substr(0, 12) +
                ", gemd " + spec->fingerprint.ShortHex() +
                "): another gem version or other files on its node";
    }
    if (!problem.empty()) {
      spdlog::error("cluster: {}", problem);
      // The same files and binaries serve every worker: fail the searches rather than hang.
      std::vector<uint64_t> failing;
      for (auto& [id, u] : units_) {
        if (u->tree->id == loaded->tree && u->lease == 0) failing.push_back(id);
      }
      for (uint64_t id : failing) FailUnitLocked(*units_[id], problem);
      stats_.workers_refused++;
      SendTo(*peer, cluster::Stop{problem});
      return;
    }
    peer->tree = loaded->tree;
    spdlog::info("cluster: worker {} holds {} ({:.1f} s to build)", peer->name(), peer->tree,
                 loaded->seconds);
  } else if (auto* r = std::get_if<UnitResult>(&m)) {
    auto u = units_.find(r->unit);
    if (u == units_.end() || u->second->lease != r->lease || u->second->peer != routing_id) {
      stats_.stale_results_dropped += r->results.size();
      spdlog::info("cluster: dropped a result of unit {} lease {} from {}: no longer its lease",
                   r->unit, r->lease, peer->name());
    } else if (!r->error.empty()) {
      FailUnitLocked(*u->second, "worker " + peer->name() + ": " + r->error);
    } else {
      FinishUnitLocked(*u->second, *r, *peer);
    }
    if (peer->unit == r->unit) {
      peer->unit = 0;
      peer->idle_since = now;
    }
    cv_.notify_all();
  } else if (auto* bye = std::get_if<Bye>(&m)) {
    WorkerGone(routing_id, "it left: " + bye->reason);
  }
  // Heartbeat: last_heard is all it does.
}

void Dispatcher::FinishUnitLocked(UnitState& u, const UnitResult& r, const Peer& peer) {
  const TreeSpec& t = *u.tree;
  std::vector<ResultKey> keys;
  std::vector<CachedResult> values;
  std::vector<TripleResult> answers;
  std::set<std::pair<uint32_t, uint32_t>> asked, seen;
  for (uint32_t q : u.queries) {
    for (uint32_t v : u.variants) asked.insert({q, v});
  }
  for (const auto& qr : r.results) {
    if (!asked.count({qr.query, qr.variant}) || !seen.insert({qr.query, qr.variant}).second) {
      FailUnitLocked(u, "worker " + peer.name() + " answered query " + std::to_string(qr.query) +
                            " variant " + std::to_string(qr.variant) +
                            ", which its unit did not ask (or twice)");
      return;
    }
    TripleResult a;
    a.correct = qr.correct ? 1 : 0;
    a.detail.output = qr.output;
    a.detail.reason = qr.reason;
    a.detail.tokens_in = qr.tokens_in;
    a.detail.tokens_out = qr.tokens_out;
    a.detail.seconds = static_cast<float>(qr.seconds);
    a.detail.variant = static_cast<uint8_t>(qr.variant);
    keys.push_back({t.models[u.model], t.queries[qr.query], t.configs[qr.variant]});
    values.push_back(
        CachedResult::FromDetail(a.correct, a.detail, cache_->options().max_inline_output));
    answers.push_back(std::move(a));
  }
  if (seen.size() != asked.size()) {
    FailUnitLocked(u, "worker " + peer.name() + " answered " + std::to_string(seen.size()) +
                          " of the " + std::to_string(asked.size()) + " evaluations of its unit");
    return;
  }
  // Written before any search sees them: a result a search used is on disk.
  Status written = cache_->PutBatch(keys, values, &t.task_digest);
  if (written.ok()) stats_.results_written += keys.size();
  stats_.units_done++;
  const Placement where = peer.placement();
  std::map<Call*, uint32_t> answered;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto in = inflight_.find(keys[i]);
    if (in == inflight_.end()) continue;
    for (const Subscriber& s : in->second) {
      if (!written.ok()) {
        if (s.call->status.ok()) {
          s.call->status = written.WithContext("writing a worker's results to the cache");
        }
        continue;
      }
      (*s.call->results)[s.index] = answers[i];
      s.call->remaining--;
      answered[s.call]++;
    }
    inflight_.erase(in);
  }
  for (auto& [call, n] : answered) call->placements.push_back({where, n});
  units_.erase(u.id);
}

void Dispatcher::FailUnitLocked(UnitState& u, const std::string& error) {
  for (const ResultKey& k : u.keys()) {
    auto in = inflight_.find(k);
    if (in == inflight_.end()) continue;
    for (const Subscriber& s : in->second) {
      if (s.call->status.ok()) s.call->status = Status::Aborted("cluster evaluation", error);
    }
    inflight_.erase(in);
  }
  queue_.erase(std::remove(queue_.begin(), queue_.end(), u.id), queue_.end());
  units_.erase(u.id);
  cv_.notify_all();
}

void Dispatcher::WorkerGone(const std::string& routing_id, const std::string& why) {
  // REQUIRES: mu_ held.
  auto it = peers_.find(routing_id);
  if (it == peers_.end()) return;
  Peer& p = *it->second;
  stats_.workers_lost++;
  if (p.unit != 0) {
    auto u = units_.find(p.unit);
    if (u != units_.end()) {
      u->second->lease = 0;
      u->second->peer.clear();
      u->second->attempts++;
      queue_.push_front(u->first);  // first in line: a search is waiting on it
      stats_.units_requeued++;
      spdlog::warn(
          "cluster: worker {} gone ({}); its unit {} (model {}, {} queries) goes to "
          "another worker",
          p.name(), why, u->first, u->second->model, u->second->queries.size());
    }
  } else {
    spdlog::info("cluster: worker {} gone ({})", p.name(), why);
  }
  peers_.erase(it);
}

void Dispatcher::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  const auto hb = std::chrono::milliseconds(options_.heartbeat_ms);
  std::vector<std::string> silent;
  for (auto& [id, p] : peers_) {
    if (now - p->last_heard > hb * options_.liveness) {
      silent.push_back(id);
    } else if (now - p->last_sent >= hb) {
      SendTo(*p, Heartbeat{});
    }
  }
  for (const auto& id : silent) {
    WorkerGone(id, "silent for " + std::to_string(options_.liveness) + " heartbeats");
  }
  for (const auto& [task, reason] : to_stop_) {
    for (auto& [id, p] : peers_) {
      if (p->hello.slurm_job == task) SendTo(*p, cluster::Stop{reason});
    }
  }
  to_stop_.clear();
}

void Dispatcher::Assign() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto q = queue_.begin(); q != queue_.end();) {
    UnitState& u = *units_.at(*q);
    Peer* holder = nullptr;  // ready and holding the unit's tree
    Peer* other = nullptr;   // ready, idle, not building anything: could load it
    for (auto& [id, p] : peers_) {
      if (!p->ready || p->unit != 0 || !p->loading.empty()) continue;
      if (p->tree == u.tree->id) {
        holder = p.get();
        break;
      }
      if (other == nullptr) other = p.get();
    }
    if (holder != nullptr) {
      u.lease = next_lease_++;
      u.peer = holder->routing_id;
      holder->ready = false;
      holder->unit = u.id;
      SendTo(*holder, Unit{u.id, u.lease, u.job, u.tree->id, u.model, u.queries, u.variants});
      q = queue_.erase(q);
      continue;
    }
    if (other != nullptr) {
      // Build the tree there; the unit waits for whichever worker holds it first.
      other->loading = u.tree->id;
      other->ready = false;
      SendTo(*other, Load{u.tree->id, u.tree->record, u.tree->task, u.tree->data_dir,
                          u.tree->origin_data_dir, u.tree->tasks_dir, u.tree->replay_delay_ms});
      spdlog::info("cluster: worker {} builds {}", other->name(), u.tree->id);
    }
    ++q;
  }
}

// ---- searches' side --------------------------------------------------------------------------

Status Dispatcher::Evaluate(const std::shared_ptr<const TreeSpec>& tree,
                            std::span<const Triple> triples, uint64_t job,
                            const std::atomic<bool>* stop, std::vector<TripleResult>* results,
                            const std::function<void(const Placement&, uint32_t)>& on_unit) {
  results->assign(triples.size(), TripleResult{});
  if (triples.empty()) return Status::OK();
  Call call;
  call.results = results;
  call.remaining = triples.size();
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Status::Aborted("cluster", "gemd is stopping");
  // model -> query -> variants still to send (not in flight for anyone).
  std::map<uint32_t, std::map<uint32_t, std::vector<uint32_t>>> fresh;
  for (size_t i = 0; i < triples.size(); ++i) {
    const Triple& t = triples[i];
    ResultKey key{tree->models[t.model], tree->queries[t.query], tree->configs[t.variant]};
    auto [in, inserted] = inflight_.try_emplace(key);
    in->second.push_back({&call, i});
    if (inserted) {
      fresh[t.model][t.query].push_back(t.variant);
    } else {
      stats_.results_joined++;
    }
  }
  // Units: per model, the queries that want the same variants, at most unit_queries each.
  const size_t limit = std::max<uint32_t>(1, options_.unit_queries);
  for (auto& [model, by_query] : fresh) {
    std::map<std::vector<uint32_t>, std::vector<uint32_t>> by_variants;
    for (auto& [query, variants] : by_query) {
      std::sort(variants.begin(), variants.end());
      variants.erase(std::unique(variants.begin(), variants.end()), variants.end());
      by_variants[variants].push_back(query);
    }
    for (auto& [variants, queries] : by_variants) {
      for (size_t start = 0; start < queries.size(); start += limit) {
        auto u = std::make_unique<UnitState>();
        u->id = next_unit_++;
        u->tree = tree;
        u->job = job;
        u->model = model;
        u->variants = variants;
        u->queries.assign(queries.begin() + start,
                          queries.begin() + std::min(queries.size(), start + limit));
        queue_.push_back(u->id);
        units_[u->id] = std::move(u);
      }
    }
  }
  lock.unlock();
  Wake();
  lock.lock();
  while (true) {
    cv_.wait_for(lock, std::chrono::milliseconds(20));
    if (on_unit && !call.placements.empty()) {
      auto done = std::move(call.placements);
      call.placements.clear();
      lock.unlock();
      for (const auto& [where, n] : done) on_unit(where, n);
      lock.lock();
    }
    if (call.remaining == 0 || !call.status.ok()) break;
    if ((stop != nullptr && stop->load()) || stopping_) {
      call.status = Status::Aborted(stopping_ ? "cluster: gemd is stopping" : "search stopped");
      break;
    }
  }
  DetachCallLocked(&call);
  return call.status;
}

void Dispatcher::DetachCallLocked(Call* call) {
  // Unsubscribe; a queued unit nobody waits for any more is dropped (a leased one runs to its
  // end and is written: its results are as good as any).
  std::set<uint64_t> touched;
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    auto& subs = it->second;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const Subscriber& s) { return s.call == call; }),
               subs.end());
    ++it;
  }
  for (auto q = queue_.begin(); q != queue_.end();) {
    UnitState& u = *units_.at(*q);
    bool wanted = false;
    for (const ResultKey& k : u.keys()) {
      auto in = inflight_.find(k);
      if (in != inflight_.end() && !in->second.empty()) wanted = true;
    }
    if (wanted) {
      ++q;
      continue;
    }
    for (const ResultKey& k : u.keys()) inflight_.erase(k);
    units_.erase(*q);
    q = queue_.erase(q);
  }
}

void Dispatcher::SlurmTasksEnded(const std::vector<std::string>& slurm_tasks) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> gone;
  for (auto& [id, p] : peers_) {
    for (const auto& t : slurm_tasks) {
      if (p->hello.slurm_job == t) gone.push_back(id);
    }
  }
  for (const auto& id : gone) WorkerGone(id, "its Slurm task ended");
  cv_.notify_all();
}

void Dispatcher::StopWorkersOf(const std::vector<std::string>& slurm_tasks,
                               const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : slurm_tasks) to_stop_.push_back({t, reason});
  }
  Wake();
}

void Dispatcher::FailPending(const std::string& problem) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<uint64_t> queued(queue_.begin(), queue_.end());
  for (uint64_t id : queued) {
    auto u = units_.find(id);
    if (u != units_.end()) FailUnitLocked(*u->second, problem);
  }
}

size_t Dispatcher::pending_units() const {
  std::lock_guard<std::mutex> lock(mu_);
  return units_.size();
}

std::vector<WorkerInfo> Dispatcher::workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerInfo> out;
  const auto now = Clock::now();
  for (const auto& [id, p] : peers_) {
    WorkerInfo w;
    w.id = p->hello.worker;
    w.slurm_job = p->hello.slurm_job;
    w.node = p->hello.node;
    w.gpu = p->hello.gpu;
    w.device = p->hello.device;
    w.key_name = p->key_name;
    w.tree = p->tree;
    w.busy = p->unit != 0 || !p->loading.empty();
    w.idle_s = w.busy ? 0 : std::chrono::duration<double>(now - p->idle_since).count();
    out.push_back(std::move(w));
  }
  return out;
}

DispatcherStats Dispatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace gem::cluster
