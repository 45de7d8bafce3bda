// Copyright the gem authors. The job table: every search gemd was asked to run, in memory and in
// the store's "jobs" family.
//
// Records (docs/GEMD.md, "Store layout"): key "job/<id, 20 decimal digits>" -> JobInfo,
// "result/<id>" -> SearchResultReply, "meta/next_id" -> decimal. Values are msgpack maps with
// the wire field names (gem::protocol::EncodeRecord). A record is rewritten on every state change
// and at most once a second with progress, so after a crash a job's record is at most a second
// behind (its cached evaluations are not: the cache writes each chunk as it completes).
//
// Thread-safety: thread-safe. Each job carries a version that increases on every change, so the
// server can stream changes to watchers without callbacks from worker threads.
#ifndef GEMD_JOBS_H_
#define GEMD_JOBS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gem/protocol.h"
#include "gem/status.h"
#include "gem/store.h"

namespace gemd {

class JobTable {
 public:
  // REQUIRES: store outlives the table.
  explicit JobTable(gem::Store* store);

  // Reads every job record. Jobs recorded as queued or running were cut off by a stop or crash:
  // they become "interrupted" (persisted), resumable with search.resume.
  gem::Status Load();

  // Records a new queued job; assigns id and created_at. Returns the stored job.
  gem::Result<gem::protocol::JobInfo> Create(gem::protocol::JobInfo job);

  std::optional<gem::protocol::JobInfo> Get(uint64_t id) const;
  // Newest first, filtered by user and state when non-empty.
  std::vector<gem::protocol::JobInfo> List(const std::string& user, const std::string& state) const;
  // Changes a job under the lock. `persist`: always write the record (state changes); otherwise
  // it is written when the last write of this job is older than a second (progress).
  gem::Status Update(uint64_t id, const std::function<void(gem::protocol::JobInfo&)>& fn,
                     bool persist = true);
  // Increases on every Update of the job; 0 for unknown jobs.
  uint64_t Version(uint64_t id) const;

  // The job's stop flag (for gem::SearchOptions::cancel) and why it was raised.
  std::shared_ptr<std::atomic<bool>> StopFlag(uint64_t id);
  void RequestStop(uint64_t id, const std::string& as_state);  // kJobCancelled or kJobInterrupted
  std::string StopState(uint64_t id) const;                    // "" when no stop was requested
  void ClearStop(uint64_t id);

  gem::Status PutResult(uint64_t id, const gem::protocol::SearchResultReply& result);
  gem::Result<gem::protocol::SearchResultReply> GetResult(uint64_t id) const;

  uint32_t Count(const char* state) const;

 private:
  struct Entry {
    gem::protocol::JobInfo info;
    uint64_t version = 1;
    int64_t persisted_ms = 0;
    std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
    std::string stop_state;
  };
  gem::Status PersistLocked(Entry& e);

  gem::Store* store_;
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> jobs_;  // guarded by mu_
  uint64_t next_id_ = 1;            // guarded by mu_
};

std::string JobKey(uint64_t id);
// Unix time in milliseconds (the clock of job timestamps).
int64_t NowMs();

}  // namespace gemd

#endif  // GEMD_JOBS_H_
