// Copyright the gem authors. Persistent worker pool (see thread_pool.h).
#include "engine/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace gem {
namespace {

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void Run(int parts, int threads, const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> job_lock(job_mu_);  // one job at a time
    {
      std::unique_lock<std::mutex> l(mu_);
      while (static_cast<int>(workers_.size()) < threads - 1) {
        workers_.emplace_back([this] { Work(); });
      }
      fn_ = &fn;
      parts_ = parts;
      next_.store(0);
      done_ = 0;
      active_ = threads - 1;  // workers allowed to join this job
      ++generation_;
    }
    cv_.notify_all();
    Drain();
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [&] { return done_ == parts_ && busy_ == 0; });
    fn_ = nullptr;
  }

 private:
  void Drain() {
    for (;;) {
      int p = next_.fetch_add(1);
      if (p >= parts_) return;
      (*fn_)(p);
      std::lock_guard<std::mutex> l(mu_);
      if (++done_ == parts_) done_cv_.notify_all();
    }
  }

  void Work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || (generation_ != seen && active_ > 0); });
      if (stop_) return;
      seen = generation_;
      --active_;
      ++busy_;
      l.unlock();
      Drain();
      l.lock();
      if (--busy_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  int parts_ = 0;
  std::atomic<int> next_{0};
  int done_ = 0;
  int active_ = 0;
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

void ParallelParts(int parts, int threads, const std::function<void(int)>& fn) {
  threads = std::min(threads, parts);
  if (threads <= 1) {
    for (int p = 0; p < parts; ++p) fn(p);
    return;
  }
  static Pool* pool = new Pool();  // lives for the process; workers idle on a condvar
  pool->Run(parts, threads, fn);
}

}  // namespace gem
