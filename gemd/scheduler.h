// Copyright the gem authors. The job scheduler: a FIFO queue and one worker thread per device.
//
// Devices are named "cpu:0", "cpu:1", ... (config cpu_workers), then "cuda:0", ... for the GPUs
// found (config gpus, gpu_workers; devices.h). A worker takes the oldest queued job, runs it
// to the end on its device, then takes the next: several jobs may be queued, and as many run at
// once as there are devices. The run function is gemd's search runner; it never touches sockets
// (the server thread never runs one).
//
// A running job may borrow the devices that are idle (Borrow) to spread its search over them
// (config spread, gem/spread_evaluator.h); a lent device takes no job until it is given back
// (Release). Jobs queued meanwhile wait for a device: one search uses the whole node.
//
// Interrupt() stops taking jobs and wakes idle workers (running jobs are stopped by the caller
// through their stop flags); Join() waits for the workers to finish. Separate, as in bitcoind:
// interrupt first, everywhere, then join.
//
// Thread-safety: thread-safe.
#ifndef GEMD_SCHEDULER_H_
#define GEMD_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace gemd {

class Scheduler {
 public:
  using RunFn = std::function<void(uint64_t job, const std::string& device)>;
  Scheduler(std::vector<std::string> devices, RunFn run);
  ~Scheduler();  // Interrupt() + Join()

  void Start();
  // Queues a job; false when interrupted.
  bool Enqueue(uint64_t job);
  // Removes a job that has not started; false when it is not queued.
  bool Dequeue(uint64_t job);
  void Interrupt();
  void Join();

  // Reserves for the job running on `own` every other device that is idle now (no job, not lent)
  // and that `admit` accepts (by name), in device order; they take no job until Release().
  std::vector<std::string> Borrow(const std::string& own,
                                  const std::function<bool(const std::string&)>& admit);
  // Gives borrowed devices back; their workers take queued jobs again.
  void Release(const std::vector<std::string>& devices);

  const std::vector<std::string>& devices() const { return devices_; }
  size_t queued() const;
  size_t running() const;
  size_t lent() const;

 private:
  void Worker(const std::string& device);

  const std::vector<std::string> devices_;
  const RunFn run_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<uint64_t> queue_;  // guarded by mu_
  size_t running_ = 0;          // guarded by mu_
  std::set<std::string> busy_;  // devices running a job; guarded by mu_
  std::set<std::string> lent_;  // devices lent to another device's job; guarded by mu_
  bool interrupted_ = false;    // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace gemd

#endif  // GEMD_SCHEDULER_H_
