// Copyright the gem authors. The job scheduler (scheduler.h).
#include "scheduler.h"

#include <algorithm>

namespace gemd {

Scheduler::Scheduler(std::vector<std::string> devices, RunFn run)
    : devices_(std::move(devices)), run_(std::move(run)) {}

Scheduler::~Scheduler() {
  Interrupt();
  Join();
}

void Scheduler::Start() {
  for (const auto& d : devices_) workers_.emplace_back([this, d] { Worker(d); });
}

bool Scheduler::Enqueue(uint64_t job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (interrupted_) return false;
    queue_.push_back(job);
  }
  cv_.notify_one();
  return true;
}

bool Scheduler::Dequeue(uint64_t job) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(queue_.begin(), queue_.end(), job);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void Scheduler::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

void Scheduler::Join() {
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

size_t Scheduler::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t Scheduler::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void Scheduler::Worker(const std::string& device) {
  while (true) {
    uint64_t job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return interrupted_ || !queue_.empty(); });
      if (interrupted_) return;
      job = queue_.front();
      queue_.pop_front();
      ++running_;
    }
    run_(job, device);
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
}

}  // namespace gemd
