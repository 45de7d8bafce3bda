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
  cv_.notify_all();  // notify_one might wake only a lent worker, which would not take it
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

size_t Scheduler::lent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lent_.size();
}

std::vector<std::string> Scheduler::Borrow(const std::string& own,
                                           const std::function<bool(const std::string&)>& admit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> got;
  if (interrupted_) return got;
  for (const std::string& d : devices_) {
    if (d == own || busy_.count(d) || lent_.count(d) || !admit(d)) continue;
    lent_.insert(d);
    got.push_back(d);
  }
  return got;
}

void Scheduler::Release(const std::vector<std::string>& devices) {
  if (devices.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& d : devices) lent_.erase(d);
  }
  cv_.notify_all();
}

void Scheduler::Worker(const std::string& device) {
  while (true) {
    uint64_t job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return interrupted_ || (!queue_.empty() && !lent_.count(device)); });
      if (interrupted_) return;
      job = queue_.front();
      queue_.pop_front();
      ++running_;
      busy_.insert(device);
    }
    run_(job, device);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      busy_.erase(device);
    }
    cv_.notify_all();  // a device that was lent may have been skipped for this queue
  }
}

}  // namespace gemd
