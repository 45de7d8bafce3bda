// Copyright the gem authors. Slurm, as gemd uses it: submit a job array, ask how its tasks are,
// cancel them. Through Slurm's own commands (sbatch, squeue, scancel), whose output formats are
// stable across releases (its C API is not), so gemd needs nothing but the client tools of the
// cluster it runs on, and talks to whatever slurmctld SLURM_CONF (or /etc/slurm) names.
//
// Job ids are strings as Slurm prints them: "123" for a job, "123_4" for task 4 of array job 123.
//
// Failure: every call returns a Status whose message names the command and quotes its stderr
// (e.g. "sbatch: error: invalid partition specified: gpu"). A command that cannot be started is
// IOError; a non-zero exit is Unavailable (slurmctld down, timed out) or InvalidArgument (Slurm
// refused the request); see each function.
//
// Thread-safety: thread-safe (each call runs its own subprocess). Calls block for as long as the
// command runs (normally milliseconds; Slurm's commands retry for up to MessageTimeout when
// slurmctld does not answer).
#ifndef GEM_CLUSTER_SLURM_H_
#define GEM_CLUSTER_SLURM_H_

#include <map>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem::cluster {

struct SlurmOptions {
  // Where sbatch, squeue and scancel are ("" = the PATH). Default "".
  std::string bin_dir;
};

// One task of a job as squeue shows it.
struct SlurmTask {
  std::string id;      // "123_4" (or "123" for a job that is not an array)
  std::string state;   // squeue's long state: PENDING, RUNNING, COMPLETING, CANCELLED, ...
  std::string node;    // node list ("" while pending)
  std::string reason;  // squeue's reason ("None", "Resources", "Priority", ...)
  // True for states after which the task runs no more (see IsEndedState).
  bool ended() const;
};

// True for Slurm's final job states (COMPLETED, CANCELLED, FAILED, TIMEOUT, PREEMPTED, NODE_FAIL,
// BOOT_FAIL, DEADLINE, OUT_OF_MEMORY, SPECIAL_EXIT, REVOKED). PENDING, RUNNING, CONFIGURING,
// COMPLETING, SUSPENDED, REQUEUED, RESIZING, STOPPED, SIGNALING ... are not final.
bool IsEndedState(const std::string& state);

class Slurm {
 public:
  explicit Slurm(SlurmOptions options = {}) : options_(std::move(options)) {}

  // sbatch --parsable [args...] script. Returns the job id ("123"; the cluster name after a ';'
  // is dropped). InvalidArgument with sbatch's message when Slurm refuses the job (bad
  // partition, account, gres, time), IOError when sbatch cannot be run.
  Result<std::string> Submit(const std::string& script, const std::vector<std::string>& args) const;

  // The tasks of the given jobs that slurmctld still knows (squeue --array --states=all, so
  // finished tasks appear until MinJobAge has passed). A job slurmctld no longer knows is simply
  // absent: callers treat it as ended. Unavailable when squeue fails for any other reason.
  Result<std::vector<SlurmTask>> Query(const std::vector<std::string>& jobs) const;

  // scancel ID (a job or "123_4", one task). Cancelling a job that already ended is OK.
  Status Cancel(const std::string& id) const;

  // True when squeue answers (a slurmctld is reachable).
  bool Reachable() const;

 private:
  std::string Bin(const char* name) const;
  SlurmOptions options_;
};

// The result of running a program: exit status (or 128 + signal), stdout and stderr.
struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs argv (no shell) to completion. IOError when it cannot be started.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_SLURM_H_
