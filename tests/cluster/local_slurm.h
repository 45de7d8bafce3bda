// Copyright the gem authors. A real Slurm cluster for a test: scripts/local-slurm.sh starts
// munged, slurmctld and one slurmd per node name (n1, n2, ...) on this machine, in a temp dir,
// with fake GPUs (docs/CLUSTER.md, "A cluster on one machine"); the destructor cancels its jobs
// and stops it.
//
// Tests that need it begin with GEM_REQUIRE_LOCAL_SLURM(cluster_dir): when Slurm's packages are
// not installed (or the test does not run as root) the test is skipped with a message that says
// so on stderr and in the test's result, in capitals; when they are installed, a cluster that
// does not start fails the test.
#ifndef GEM_TESTS_CLUSTER_LOCAL_SLURM_H_
#define GEM_TESTS_CLUSTER_LOCAL_SLURM_H_

#include <map>
#include <string>

namespace gem::testing {

class LocalSlurm {
 public:
  // Why a local cluster cannot run here ("" when it can): scripts/local-slurm.sh check.
  static std::string Unavailable();

  LocalSlurm() = default;
  ~LocalSlurm();  // Stop()
  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;

  // Starts a cluster of `nodes` nodes with `gpus` fake GPUs each in `dir` (created). False with
  // error() set (the script's output and the daemons' log tails) on failure.
  bool Start(const std::string& dir, int nodes = 2, int gpus = 2);
  void Stop();

  const std::string& dir() const { return dir_; }
  std::string conf() const { return dir_ + "/etc/slurm.conf"; }
  // The environment that points Slurm's commands (and gemd) at this cluster.
  std::map<std::string, std::string> env() const { return {{"SLURM_CONF", conf()}}; }
  const std::string& error() const { return error_; }
  // True when the fake GPUs are device files, so Slurm gives each task GPU indices (and
  // CUDA_VISIBLE_DEVICES); false where mknod was refused and they are only counted.
  bool gpu_indices() const;
  // The last lines of the cluster's logs (for failure messages).
  std::string LogTails() const;

 private:
  std::string dir_, error_;
  bool running_ = false;
};

}  // namespace gem::testing

// Skips the test, loudly, when no local cluster can run here; otherwise starts one in DIR as
// `slurm` (a LocalSlurm), setting SLURM_CONF for this process, and fails the test if it does not
// start.
#define GEM_REQUIRE_LOCAL_SLURM(slurm, dir, ...)                                                   \
  ::gem::testing::LocalSlurm slurm;                                                                \
  do {                                                                                             \
    const std::string why_ = ::gem::testing::LocalSlurm::Unavailable();                            \
    if (!why_.empty()) {                                                                           \
      std::fprintf(stderr,                                                                         \
                   "\n*** SKIPPED: NO SLURM ON THIS MACHINE: %s ***\n*** scripts/install-deps.sh " \
                   "installs slurmctld, slurmd, slurm-client and munge ***\n\n",                   \
                   why_.c_str());                                                                  \
      GTEST_SKIP() << "SKIPPED: NO SLURM ON THIS MACHINE: " << why_;                               \
    }                                                                                              \
    ASSERT_TRUE(slurm.Start(dir __VA_OPT__(, ) __VA_ARGS__)) << slurm.error();                     \
    ::setenv("SLURM_CONF", slurm.conf().c_str(), 1);                                               \
  } while (0)

#endif  // GEM_TESTS_CLUSTER_LOCAL_SLURM_H_
