// Copyright the gem authors. A bounded queue of slow requests, run off the server thread.
//
// Some requests take long: tree.register converts every fine-tune of a manifest into a delta
// (minutes for large models), cache.stats scans the store. The server thread must keep
// answering everyone and feeding systemd's watchdog, so it hands such requests to a WorkQueue:
// one worker thread that runs them in arrival order. The queue is bounded: when `capacity`
// requests are already waiting or running, TrySubmit refuses the next one (the server answers
// ResourceExhausted naming the limit) instead of starting a thread per request, which is how a
// burst of registrations once ran gemd into the process limit and std::system_error.
//
// Thread-safety: thread-safe. Stop() lets the running request finish and runs every request
// still waiting with `stopping` = true (they answer at once that gemd is stopping).
#ifndef GEMD_WORK_QUEUE_H_
#define GEMD_WORK_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gem/protocol.h"

namespace gemd {

class WorkQueue {
 public:
  // The work: makes the reply; `stopping` is true when gemd stops before it started.
  using Work = std::function<gem::protocol::Reply(bool stopping)>;

  WorkQueue(std::string name, size_t capacity);
  ~WorkQueue();  // Stop()

  // Queues `work` and returns the future of its reply, or nullopt when `capacity` requests are
  // already waiting or running (or the queue is stopped).
  std::optional<std::future<gem::protocol::Reply>> TrySubmit(Work work);
  void Stop();

  const std::string& name() const { return name_; }
  size_t capacity() const { return capacity_; }
  size_t size() const;  // waiting + running

 private:
  void Run();

  const std::string name_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<gem::protocol::Reply(bool)>> waiting_;  // guarded by mu_
  bool running_ = false;                                                // guarded by mu_
  bool stopped_ = false;                                                // guarded by mu_
  std::thread worker_;
};

}  // namespace gemd

#endif  // GEMD_WORK_QUEUE_H_
