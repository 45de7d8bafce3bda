// Copyright the gem authors. Persistent worker pool (see thread_pool.h).
//
// A decoding step is a few hundred short jobs (each matmul, attention) microseconds apart, so a
// worker that just finished a job spins for a short while (kSpin) watching for the next one
// before it sleeps on the condition variable, and the caller spins briefly for the workers to
// finish before it sleeps: on a quiet machine the hand-offs cost no system calls. The spins are
// bounded, so idle workers sleep (an unbounded spin, like OpenMP's default, fought the
// neighbours on the shared 2-core machine).
#include "engine/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace gem {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSpin = std::chrono::microseconds(200);

// Spins until pred() or the deadline; true when pred() held.
template <typename Pred>
bool SpinUntil(const Pred& pred) {
  const auto deadline = Clock::now() + kSpin;
  for (int n = 1;; ++n) {
    if (pred()) return true;
    _mm_pause();
    if ((n & 63) == 0 && Clock::now() > deadline) return pred();
  }
}

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      stop_flag_.store(true);
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
      done_.store(0);
      active_ = threads - 1;  // workers allowed to join this job
      ++generation_;
      generation_seen_.store(generation_, std::memory_order_release);
      if (sleepers_ > 0) cv_.notify_all();
    }
    Drain();
    auto finished = [&] { return done_.load() == parts_ && busy_.load() == 0; };
    if (!SpinUntil(finished)) {
      std::unique_lock<std::mutex> l(mu_);
      caller_waiting_.store(true);
      done_cv_.wait(l, finished);
      caller_waiting_.store(false);
    }
    fn_ = nullptr;
  }

 private:
  void Drain() {
    for (;;) {
      const int p = next_.fetch_add(1);
      if (p >= parts_) return;
      (*fn_)(p);
      done_.fetch_add(1);
    }
  }

  void Work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      auto ready = [&] { return stop_ || (generation_ != seen && active_ > 0); };
      if (!ready()) {
        // The next job usually comes within microseconds: watch for it before sleeping.
        l.unlock();
        SpinUntil([&] {
          return stop_flag_.load() || generation_seen_.load(std::memory_order_acquire) != seen;
        });
        l.lock();
        ++sleepers_;
        cv_.wait(l, ready);
        --sleepers_;
      }
      if (stop_) return;
      seen = generation_;
      --active_;
      busy_.fetch_add(1);
      l.unlock();
      Drain();
      busy_.fetch_sub(1);
      if (caller_waiting_.load()) {
        std::lock_guard<std::mutex> g(mu_);
        done_cv_.notify_all();
      }
      l.lock();
    }
  }

  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;              // guarded by mu_
  const std::function<void(int)>* fn_ = nullptr;  // set under mu_, read by joined workers
  int parts_ = 0;
  std::atomic<int> next_{0};
  std::atomic<int> done_{0};
  std::atomic<int> busy_{0};  // workers inside the current job
  std::atomic<bool> caller_waiting_{false};
  int active_ = 0;                            // guarded by mu_
  int sleepers_ = 0;                          // guarded by mu_
  uint64_t generation_ = 0;                   // guarded by mu_
  std::atomic<uint64_t> generation_seen_{0};  // generation_, for spinning workers
  bool stop_ = false;                         // guarded by mu_
  std::atomic<bool> stop_flag_{false};
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
