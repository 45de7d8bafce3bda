// Copyright the gem authors. Slurm's commands as subprocesses (slurm.h).
#include "cluster/slurm.h"

#include <pstreams/pstream.h>
#include <sys/wait.h>

#include <cstring>
#include <set>
#include <sstream>

namespace gem::cluster {
namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

std::string Describe(const std::vector<std::string>& argv, const ProcessResult& r) {
  std::string msg = "exit status " + std::to_string(r.exit_code);
  std::string err = Trim(r.err.empty() ? r.out : r.err);
  if (!err.empty()) msg += ": " + err;
  return msg;
}

}  // namespace

bool IsEndedState(const std::string& state) {
  static const std::set<std::string> kEnded = {
      "COMPLETED", "CANCELLED", "FAILED",        "TIMEOUT", "PREEMPTED",   "NODE_FAIL",
      "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"};
  return kEnded.count(state) > 0;
}

bool SlurmTask::ended() const { return IsEndedState(state); }

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv) {
  using redi::pstreams;
  redi::ipstream proc(argv, pstreams::pstdout | pstreams::pstderr);
  if (!proc.is_open() || proc.rdbuf()->error() != 0) {
    return Status::IOError(argv.empty() ? "" : argv[0],
                           std::string("cannot run: ") + std::strerror(proc.rdbuf()->error()));
  }
  ProcessResult r;
  // Slurm's commands print a few lines: reading stdout to its end and then stderr cannot fill
  // the stderr pipe in between.
  std::ostringstream out, err;
  out << proc.out().rdbuf();
  proc.clear();
  err << proc.err().rdbuf();
  r.out = out.str();
  r.err = err.str();
  proc.close();
  const int st = proc.rdbuf()->status();
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  // pstreams reports a failed exec as exit status 127 with nothing on either stream.
  if (r.exit_code == 127 && r.out.empty() && r.err.empty()) {
    return Status::IOError(argv[0], "cannot run (not found or not executable)");
  }
  return r;
}

std::string Slurm::Bin(const char* name) const {
  return options_.bin_dir.empty() ? name : options_.bin_dir + "/" + name;
}

Result<std::string> Slurm::Submit(const std::string& script,
                                  const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {Bin("sbatch"), "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(script);
  auto r = RunProcess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::InvalidArgument("sbatch " + script, Describe(argv, *r));
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  std::string id = Trim(r->out.substr(0, r->out.find(';')));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Internal("sbatch " + script, "unexpected output '" + Trim(r->out) + "'");
  }
  return id;
}

Result<std::vector<SlurmTask>> Slurm::Query(const std::vector<std::string>& jobs) const {
  std::vector<SlurmTask> tasks;
  if (jobs.empty()) return tasks;
  std::string list;
  for (const auto& j : jobs) list += (list.empty() ? "" : ",") + j;
  std::vector<std::string> argv = {Bin("squeue"),  "--noheader",     "--array",
                                   "--states=all", "--jobs=" + list, "--format=%i|%T|%N|%r"};
  auto r = RunProcess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    // squeue fails when none of the ids is known any more: they all ended long ago.
    if (r->err.find("Invalid job id") != std::string::npos) return tasks;
    return Status::Unavailable("squeue", Describe(argv, *r));
  }
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty()) continue;
    SlurmTask t;
    std::istringstream fields(line);
    std::getline(fields, t.id, '|');
    std::getline(fields, t.state, '|');
    std::getline(fields, t.node, '|');
    std::getline(fields, t.reason, '|');
    if (t.node == "(null)") t.node.clear();
    tasks.push_back(std::move(t));
  }
  return tasks;
}

Status Slurm::Cancel(const std::string& id) const {
  std::vector<std::string> argv = {Bin("scancel"), id};
  auto r = RunProcess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    // Already gone: nothing to cancel.
    if (r->err.find("Invalid job id") != std::string::npos ||
        r->err.find("already completing or completed") != std::string::npos) {
      return Status::OK();
    }
    return Status::Unavailable("scancel " + id, Describe(argv, *r));
  }
  return Status::OK();
}

bool Slurm::Reachable() const {
  auto r = RunProcess({Bin("squeue"), "--noheader", "--me", "--format=%i"});
  return r.ok() && r->exit_code == 0;
}

}  // namespace gem::cluster
