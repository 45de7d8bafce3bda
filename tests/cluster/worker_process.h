// Copyright the gem authors. A gem-worker subprocess for a test (outside Slurm), and the keys it
// needs: gemd's server key pair and a worker key pair admitted by a keyring.
#ifndef GEM_TESTS_CLUSTER_WORKER_PROCESS_H_
#define GEM_TESTS_CLUSTER_WORKER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace gem::testing {

class WorkerProcess {
 public:
  // Starts build/bin/gem-worker with these arguments; its output goes to `log`.
  WorkerProcess(const std::vector<std::string>& args, const std::string& log);
  ~WorkerProcess();  // SIGKILL if still running
  void Signal(int sig);
  // Waits up to timeout_s for it to exit; its exit status, 128 + signal, or -1 on timeout.
  int Wait(double timeout_s);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_CLUSTER_WORKER_PROCESS_H_
