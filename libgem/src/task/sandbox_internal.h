// Copyright the gem authors. Pieces of the sandbox (gem/sandbox.h) that the parent prepares and
// the child applies: the seccomp filter and the per-run cgroup; and the grader service's wire
// format. Private to libgem/src/task.
#ifndef GEM_TASK_SANDBOX_INTERNAL_H_
#define GEM_TASK_SANDBOX_INTERNAL_H_

#include <linux/filter.h>

#include <memory>
#include <string>
#include <string_view>

#include "gem/sandbox.h"
#include "gem/status.h"

namespace gem::sandbox_internal {

// The seccomp program every sandboxed program runs under (built once with libseccomp, then
// installed by the child with one prctl, which is async-signal-safe). Refused with EACCES:
// socket() of every family, socketpair() other than AF_UNIX; with EPERM: ptrace and
// process_vm_*, bpf, perf_event_open, userfaultfd, keyrings, mounts, unshare/setns and clone()
// with namespace flags, kexec and modules, open_by_handle_at; with ENOSYS: io_uring (which can
// open sockets) and clone3 (whose flags a filter cannot read; libc falls back to clone). Foreign
// syscall ABIs (x32, i386) kill the process. nullptr when the filter cannot be built.
const sock_fprog* SeccompProgram();

// A cgroup v2 of its own for one run, made beside this process's cgroup when this process may
// (root, or a delegated subtree). The child moves itself in by writing "0" to procs_fd() before
// it runs anything of the program; Kill() then ends every process in it, wherever they went in
// the process tree, and waits until the cgroup is empty. The destructor kills and removes it.
class RunCgroup {
 public:
  // nullptr when no cgroup v2 is mounted or this process may not make one.
  static std::unique_ptr<RunCgroup> Create();
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  int procs_fd() const { return procs_fd_; }
  const std::string& path() const { return path_; }
  // cgroup.kill (Linux 5.14+; else SIGKILL to every pid listed, until none is left), then waits
  // up to 2 s for the cgroup to empty. True when it is empty.
  bool Kill();
  // Whether any process is still in it.
  bool Populated() const;

 private:
  RunCgroup() = default;
  std::string path_;
  int procs_fd_ = -1;
};

// The grader service's wire format (docs/SECURITY.md, "The grader service"). A request is
//   "gem-sandbox 1\n" "limits W C A F P O\n" "program N\n" then N bytes of program;
// a reply is
//   "gem-sandbox 1\n" "status CODE N\n" N bytes of message (CODE is a gem::Status code; when
//   it is not 0 nothing follows), then "result END EXIT SIGNAL COMPLETED SECONDS UID PGID\n",
//   then "isolation N\n", "out N\n", "err N\n", each followed by its N bytes.
inline constexpr size_t kMaxServiceProgram = 4u << 20;
std::string EncodeServiceRequest(std::string_view program, const SandboxLimits& limits);
Status DecodeServiceRequest(std::string_view bytes, std::string* program, SandboxLimits* limits);
std::string EncodeServiceReply(const Result<SandboxResult>& result);
Result<SandboxResult> DecodeServiceReply(std::string_view bytes);

// RunPython through the service at host.service_socket.
Result<SandboxResult> RunInService(std::string_view program, const SandboxLimits& limits,
                                   const SandboxHost& host);

}  // namespace gem::sandbox_internal

#endif  // GEM_TASK_SANDBOX_INTERNAL_H_
