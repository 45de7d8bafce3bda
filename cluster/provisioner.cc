// Copyright the gem authors. The provisioner (provisioner.h): sizing, Slurm polling, recovery.
#include "cluster/provisioner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "protocol/codec.h"

namespace gem::cluster {

using Clock = std::chrono::steady_clock;
namespace codec = gem::protocol::codec;

namespace {

constexpr const char* kRecordPrefix = "cluster/";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += (out.empty() ? "" : " | ") + all[i];
  }
  return out.empty() ? "(empty)" : out;
}

}  // namespace

std::string EncodeSubmission(const Submission& s) {
  msgpack::sbuffer buf;
  codec::Packer pk(buf);
  codec::PackMessage(pk, s);
  return std::string(buf.data(), buf.size());
}

Result<Submission> DecodeSubmission(std::string_view bytes) {
  msgpack::object_handle oh;
  try {
    size_t off = 0;
    oh = msgpack::unpack(bytes.data(), bytes.size(), off);
    if (off != bytes.size()) return Status::Corruption("cluster submission", "trailing bytes");
  } catch (const std::exception& e) {
    return Status::Corruption("cluster submission", e.what());
  }
  Submission s;
  Status st = codec::ReadMessage(oh.get(), "", &s);
  if (!st.ok()) return Status::Corruption("cluster submission", st.message());
  return s;
}

struct TaskState {
  std::string state = "PENDING";
  std::string node, reason;
  bool ended = false;
  bool cancel_sent = false;
  bool joined_ever = false;
  uint32_t workers = 0;
  Clock::time_point running_since{}, idle_since = Clock::now();
};

struct Provisioner::Live {
  Submission sub;
  std::map<std::string, TaskState> tasks;  // "123_4" -> state
};

Provisioner::Provisioner(ProvisionerOptions options, const Slurm* slurm, Keyring* keyring,
                         Dispatcher* dispatcher, Store* store)
    : options_(std::move(options)),
      slurm_(slurm),
      keyring_(keyring),
      dispatcher_(dispatcher),
      store_(store) {}

Provisioner::~Provisioner() { Stop(); }

Status Provisioner::Persist(const Submission& s) {
  return store_->Put(Family::kJobs, kRecordPrefix + s.name, EncodeSubmission(s));
}

Status Provisioner::Recover() {
  std::error_code ec;
  std::filesystem::create_directories(options_.work_dir, ec);
  if (ec) return Status::IOError(options_.work_dir, "cannot create: " + ec.message());
  GEM_RETURN_IF_ERROR(WriteKeyFile(options_.work_dir + "/server.pub", options_.server_public_key,
                                   /*secret=*/false, "CURVE public key of gemd's worker socket"));
  std::vector<Submission> found;
  GEM_RETURN_IF_ERROR(
      store_->Scan(Family::kJobs, kRecordPrefix, [&](std::string_view key, std::string_view value) {
        auto s = DecodeSubmission(value);
        if (s.ok()) {
          found.push_back(std::move(*s));
        } else {
          spdlog::error("cluster: record '{}' skipped: {}", key, s.status().ToString());
        }
        return true;
      }));
  std::lock_guard<std::mutex> lock(mu_);
  for (const Submission& s : found) {
    if (s.name.size() > 1) next_ = std::max<uint64_t>(next_, std::stoull(s.name.substr(1)) + 1);
    Live live;
    live.sub = s;
    for (uint32_t i = 0; i < s.tasks; ++i) live.tasks[s.slurm_job + "_" + std::to_string(i)] = {};
    auto q = slurm_->Query({s.slurm_job});
    if (!q.ok()) {
      spdlog::error("cluster: cannot ask Slurm about worker job {} ({}): {}; kept for later",
                    s.name, s.slurm_job, q.status().ToString());
      live_[s.name] = std::move(live);
      continue;
    }
    std::map<std::string, SlurmTask> by_id;
    for (auto& t : *q) by_id[t.id] = t;
    bool any_live = false;
    for (auto& [id, t] : live.tasks) {
      auto it = by_id.find(id);
      t.ended = it == by_id.end() || it->second.ended();
      if (it != by_id.end()) {
        t.state = it->second.state;
        t.node = it->second.node;
      }
      t.joined_ever = true;  // its workers joined the previous gemd (or never will: timeout)
      t.running_since = Clock::now();
      any_live |= !t.ended;
    }
    const std::string key_file = options_.work_dir + "/" + s.name + "/worker.key";
    if (any_live && s.endpoint == options_.endpoint && std::filesystem::exists(key_file, ec) &&
        keyring_->Add(s.name, s.public_key).ok()) {
      spdlog::info("cluster: adopted worker job {} (Slurm {}): its workers reconnect", s.name,
                   s.slurm_job);
      stats_.adopted_jobs++;
    } else if (any_live) {
      spdlog::warn(
          "cluster: cancelling worker job {} (Slurm {}): it connects to {}, gemd now "
          "serves {}",
          s.name, s.slurm_job, s.endpoint, options_.endpoint);
      (void)slurm_->Cancel(s.slurm_job);
      for (auto& [id, t] : live.tasks) t.cancel_sent = true;
      stats_.cancelled_at_recovery++;
    }
    live_[s.name] = std::move(live);
    if (!any_live) Retire(s.name);
  }
  dispatcher_->OpenAdmission();  // the adopted jobs' keys are in the keyring
  return Status::OK();
}

void Provisioner::Start() {
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Provisioner::Stop() {
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Provisioner::Loop() {
  std::unique_lock<std::mutex> lock(run_mu_);
  while (!stop_) {
    lock.unlock();
    Tick();
    lock.lock();
    run_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
  }
}

void Provisioner::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (auto& [name, s] : live_) {
    bool any_live = false;
    for (auto& [id, t] : s.tasks) any_live |= !t.ended;
    if (any_live) {
      Status st = slurm_->Cancel(s.sub.slurm_job);
      if (st.ok()) {
        spdlog::info("cluster: cancelled worker job {} (Slurm {})", name, s.sub.slurm_job);
      } else {
        spdlog::error("cluster: cannot cancel worker job {} (Slurm {}): {}", name, s.sub.slurm_job,
                      st.ToString());
      }
    }
    names.push_back(name);
  }
  for (const auto& n : names) Retire(n);
}

void Provisioner::Retire(const std::string& name) {
  // REQUIRES: mu_ held.
  keyring_->Remove(name);
  std::error_code ec;
  std::filesystem::remove(options_.work_dir + "/" + name + "/worker.key", ec);
  (void)store_->Delete(Family::kJobs, kRecordPrefix + name);
  live_.erase(name);
}

void Provisioner::LaunchFailed(Live& s, const std::string& task, const std::string& why) {
  // REQUIRES: mu_ held.
  stats_.launch_failures++;
  const std::string index = task.substr(task.find('_') + 1);
  const std::string log = options_.work_dir + "/" + s.sub.name + "/" + index + ".out";
  const std::string problem = "worker job " + s.sub.name + " (Slurm " + task + ") " + why +
                              ": no gem-worker ever joined; its log " + log +
                              " ends: " + Tail(log, 4);
  spdlog::error("cluster: {}", problem);
  dispatcher_->FailPending(problem);
  hold_until_ = Clock::now() + std::chrono::seconds(30);
}

void Provisioner::Poll() {
  // REQUIRES: mu_ held.
  std::vector<std::string> jobs;
  for (auto& [name, s] : live_) jobs.push_back(s.sub.slurm_job);
  if (jobs.empty()) return;
  auto q = slurm_->Query(jobs);
  if (!q.ok()) {
    spdlog::warn("cluster: squeue: {}", q.status().ToString());
    return;
  }
  std::map<std::string, SlurmTask> by_id;
  for (auto& t : *q) by_id[t.id] = t;
  const auto now = Clock::now();
  std::vector<std::string> ended_now, retire;
  for (auto& [name, s] : live_) {
    bool any_live = false;
    for (auto& [id, t] : s.tasks) {
      if (t.ended) continue;
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        // Unknown to slurmctld: ended longer than MinJobAge ago (or never known: a job that
        // was submitted a moment ago always is).
        t.ended = true;
        t.state = "ENDED";
      } else {
        if (it->second.state == "RUNNING" && t.state != "RUNNING") t.running_since = now;
        t.state = it->second.state;
        t.node = it->second.node;
        t.reason = it->second.reason;
        t.ended = it->second.ended();
      }
      if (t.ended) {
        stats_.ended_tasks++;
        ended_now.push_back(id);
        spdlog::info("cluster: worker task {} ({}) ended: {}", id, name, t.state);
        const bool ran = t.state == "COMPLETED" || t.state == "FAILED" || t.state == "TIMEOUT" ||
                         t.state == "OUT_OF_MEMORY";
        if (!t.joined_ever && !t.cancel_sent && ran) {
          LaunchFailed(s, id, "ended (" + t.state + ")");
        }
      } else {
        any_live = true;
      }
    }
    if (!any_live) retire.push_back(name);
  }
  if (!ended_now.empty()) dispatcher_->SlurmTasksEnded(ended_now);
  for (const auto& n : retire) Retire(n);
}

Status Provisioner::Submit(uint32_t tasks) {
  // REQUIRES: mu_ held.
  std::error_code ec;
  std::string name;
  do {
    name = "s" + std::to_string(next_++);
  } while (std::filesystem::exists(options_.work_dir + "/" + name, ec));
  const std::string dir = options_.work_dir + "/" + name;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir, "cannot create: " + ec.message());
  ::chmod(dir.c_str(), 0700);
  auto keys = NewKeyPair();
  if (!keys.ok()) return keys.status();
  GEM_RETURN_IF_ERROR(WriteKeyFile(dir + "/worker.key", keys->secret_z85, /*secret=*/true,
                                   "CURVE secret key of gemd worker job " + name));
  WorkerCommand worker{
      options_.worker_program,
      {"--endpoint", options_.endpoint, "--server-key", options_.work_dir + "/server.pub",
       "--secret-key", dir + "/worker.key", "--lost-timeout",
       std::to_string(static_cast<int64_t>(std::max(1.0, options_.lost_timeout_s))), "--threads",
       std::to_string(std::max(1u, options_.sbatch.cpus_per_worker))}};
  worker.args.insert(worker.args.end(), options_.worker_args.begin(), options_.worker_args.end());
  auto script =
      RenderSbatchScript(options_.template_text, options_.sbatch, tasks, dir + "/%a.out", worker);
  if (!script.ok()) return script.status();
  {
    std::ofstream f(dir + "/job.sh");
    f << *script;
    if (!f) return Status::IOError(dir + "/job.sh", "cannot write");
  }
  GEM_RETURN_IF_ERROR(keyring_->Add(name, keys->public_z85));
  auto id = slurm_->Submit(dir + "/job.sh", {"--chdir=" + dir});
  if (!id.ok()) {
    keyring_->Remove(name);
    return id.status();
  }
  Live live;
  live.sub = {name, *id, tasks, options_.endpoint, keys->public_z85, UnixNow()};
  for (uint32_t i = 0; i < tasks; ++i) live.tasks[*id + "_" + std::to_string(i)] = {};
  Status st = Persist(live.sub);
  if (!st.ok()) spdlog::error("cluster: cannot record worker job {}: {}", name, st.ToString());
  stats_.submitted_jobs++;
  stats_.submitted_tasks += tasks;
  spdlog::info("cluster: submitted worker job {} (Slurm {}): {} task(s) x {} worker(s), script {}",
               name, *id, tasks, options_.sbatch.gpus_per_node, dir + "/job.sh");
  live_[name] = std::move(live);
  return Status::OK();
}

void Provisioner::Tick() {
  const auto workers = dispatcher_->workers();
  const size_t demand = dispatcher_->pending_units();
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  // Who works where.
  std::map<std::string, std::pair<uint32_t, bool>> by_task;  // task -> (workers, any busy)
  for (const auto& w : workers) {
    auto& e = by_task[w.slurm_job];
    e.first++;
    e.second |= w.busy;
  }
  for (auto& [name, s] : live_) {
    for (auto& [id, t] : s.tasks) {
      auto it = by_task.find(id);
      t.workers = it == by_task.end() ? 0 : it->second.first;
      if (t.workers > 0) t.joined_ever = true;
      if (demand > 0 || (it != by_task.end() && it->second.second)) t.idle_since = now;
    }
  }
  if (now - last_poll_ >= std::chrono::duration<double>(options_.poll_s)) {
    last_poll_ = now;
    Poll();
  }
  size_t live_tasks = 0;
  for (auto& [name, s] : live_) {
    for (auto& [id, t] : s.tasks) {
      if (t.ended || t.cancel_sent) continue;
      if (t.state == "RUNNING" && !t.joined_ever &&
          now - t.running_since > std::chrono::duration<double>(options_.join_timeout_s)) {
        (void)slurm_->Cancel(id);
        t.cancel_sent = true;
        LaunchFailed(s, id,
                     "ran " + std::to_string(static_cast<int>(options_.join_timeout_s)) + " s");
        continue;
      }
      if (demand == 0 &&
          now - t.idle_since > std::chrono::duration<double>(options_.idle_timeout_s)) {
        Status st = slurm_->Cancel(id);
        t.cancel_sent = true;
        stats_.cancelled_idle_tasks++;
        spdlog::info("cluster: worker task {} ({}) idle for {:.0f} s: cancelled{}", id, name,
                     options_.idle_timeout_s, st.ok() ? "" : " (" + st.ToString() + ")");
        continue;
      }
      live_tasks++;
    }
  }
  if (demand == 0 || now < hold_until_) return;
  const size_t per = std::max<uint32_t>(1, options_.sbatch.gpus_per_node);
  const size_t wanted = std::min<size_t>(options_.max_nodes, (demand + per - 1) / per);
  if (live_tasks >= wanted) return;
  Status st = Submit(static_cast<uint32_t>(wanted - live_tasks));
  if (!st.ok()) {
    const std::string problem = "cannot submit a worker job: " + st.ToString();
    spdlog::error("cluster: {}", problem);
    dispatcher_->FailPending(problem);
    hold_until_ = now + std::chrono::seconds(30);
  }
}

std::vector<TaskStatus> Provisioner::tasks() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TaskStatus> out;
  for (const auto& [name, s] : live_) {
    for (const auto& [id, t] : s.tasks) {
      out.push_back({id, name, t.ended ? "ENDED" : t.state, t.node, t.reason, t.workers});
    }
  }
  return out;
}

ProvisionerStats Provisioner::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace gem::cluster
