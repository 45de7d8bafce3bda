// Copyright the gem authors. The bounded queue of slow requests (work_queue.h).
#include "work_queue.h"

namespace gemd {

WorkQueue::WorkQueue(std::string name, size_t capacity)
    : name_(std::move(name)), capacity_(capacity), worker_([this] { Run(); }) {}

WorkQueue::~WorkQueue() { Stop(); }

std::optional<std::future<gem::protocol::Reply>> WorkQueue::TrySubmit(Work work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || waiting_.size() + (running_ ? 1 : 0) >= capacity_) return std::nullopt;
  std::packaged_task<gem::protocol::Reply(bool)> task(std::move(work));
  auto future = task.get_future();
  waiting_.push_back(std::move(task));
  cv_.notify_one();
  return future;
}

size_t WorkQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size() + (running_ ? 1 : 0);
}

void WorkQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void WorkQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopped_ || !waiting_.empty(); });
    if (waiting_.empty()) return;  // stopped and drained
    auto task = std::move(waiting_.front());
    waiting_.pop_front();
    const bool stopping = stopped_;
    running_ = true;
    lock.unlock();
    task(stopping);  // the work catches its own exceptions; packaged_task keeps any other
    lock.lock();
    running_ = false;
  }
}

}  // namespace gemd
