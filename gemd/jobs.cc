// Copyright the gem authors. The job table (jobs.h).
#include "jobs.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string IdKey(const char* prefix, uint64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%020llu", prefix, static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace

std::string JobKey(uint64_t id) { return IdKey("job/", id); }

JobTable::JobTable(gem::Store* store) : store_(store) {}

Status JobTable::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  Status scan =
      store_->Scan(gem::Family::kJobs, "job/", [&](std::string_view key, std::string_view value) {
        proto::JobInfo job;
        Status st = proto::DecodeRecord(value, &job);
        if (!st.ok()) {
          spdlog::error("job record {} skipped: {}", key, st.ToString());
          return true;
        }
        Entry e;
        e.info = std::move(job);
        next_id_ = std::max(next_id_, e.info.id + 1);
        jobs_[e.info.id] = std::move(e);
        return true;
      });
  GEM_RETURN_IF_ERROR(scan);
  std::string next;
  if (store_->Get(gem::Family::kJobs, "meta/next_id", &next).ok()) {
    next_id_ = std::max<uint64_t>(next_id_, std::strtoull(next.c_str(), nullptr, 10));
  }
  for (auto& [id, e] : jobs_) {
    if (e.info.status == proto::kJobQueued || e.info.status == proto::kJobRunning) {
      spdlog::warn("job {} was {} when gemd stopped: marked interrupted (gemctl search resume {})",
                   id, e.info.status, id);
      e.info.error = "gemd stopped while the job was " + e.info.status;
      e.info.status = proto::kJobInterrupted;
      GEM_RETURN_IF_ERROR(PersistLocked(e));
    }
  }
  return Status::OK();
}

Status JobTable::PersistLocked(Entry& e) {
  e.persisted_ms = NowMs();
  return store_->Put(gem::Family::kJobs, JobKey(e.info.id), proto::EncodeRecord(e.info));
}

gem::Result<proto::JobInfo> JobTable::Create(proto::JobInfo job) {
  std::lock_guard<std::mutex> lock(mu_);
  job.id = next_id_;
  job.status = proto::kJobQueued;
  job.created_at = NowMs() / 1000;
  // The id counter is written first: an id is never reused, even if the job write fails.
  GEM_RETURN_IF_ERROR(
      store_->Put(gem::Family::kJobs, "meta/next_id", std::to_string(next_id_ + 1)));
  ++next_id_;
  Entry e;
  e.info = job;
  GEM_RETURN_IF_ERROR(PersistLocked(e));
  jobs_[job.id] = std::move(e);
  return job;
}

std::optional<proto::JobInfo> JobTable::Get(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.info;
}

std::vector<proto::JobInfo> JobTable::List(const std::string& user,
                                           const std::string& state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::JobInfo> out;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    const auto& j = it->second.info;
    if (!user.empty() && j.user != user) continue;
    if (!state.empty() && j.status != state) continue;
    out.push_back(j);
  }
  return out;
}

Status JobTable::Update(uint64_t id, const std::function<void(proto::JobInfo&)>& fn, bool persist) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("job " + std::to_string(id));
  Entry& e = it->second;
  fn(e.info);
  ++e.version;
  if (persist || NowMs() - e.persisted_ms >= 1000) return PersistLocked(e);
  return Status::OK();
}

uint64_t JobTable::Version(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? 0 : it->second.version;
}

std::shared_ptr<std::atomic<bool>> JobTable::StopFlag(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.stop;
}

void JobTable::RequestStop(uint64_t id, const std::string& as_state) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (it->second.stop_state.empty()) it->second.stop_state = as_state;
  it->second.stop->store(true);
}

std::string JobTable::StopState(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? std::string() : it->second.stop_state;
}

void JobTable::ClearStop(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.stop_state.clear();
  it->second.stop->store(false);
}

Status JobTable::PutResult(uint64_t id, const proto::SearchResultReply& result) {
  return store_->Put(gem::Family::kJobs, IdKey("result/", id), proto::EncodeRecord(result));
}

gem::Result<proto::SearchResultReply> JobTable::GetResult(uint64_t id) const {
  std::string value;
  Status st = store_->Get(gem::Family::kJobs, IdKey("result/", id), &value);
  if (!st.ok()) return st;
  proto::SearchResultReply r;
  GEM_RETURN_IF_ERROR(proto::DecodeRecord(value, &r));
  return r;
}

uint32_t JobTable::Count(const char* state) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t n = 0;
  for (const auto& [id, e] : jobs_) n += e.info.status == state;
  return n;
}

}  // namespace gemd
