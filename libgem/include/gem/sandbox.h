// Copyright the gem authors. Sandbox: run model-written Python without letting it hurt the host.
//
// RunPython() executes one program in a fresh /usr/bin/python3 subprocess and reports how it
// ended. It is the most dangerous thing gemd does, so every mechanism the host permits is used,
// and the result says which took effect (SandboxResult::isolation):
//
//   always   own session and process group (setsid); rlimits on CPU time, address space, file
//            size, processes and open files (and no core files); a private working directory
//            (mode 0700) removed afterwards; the environment replaced by a fixed minimal one;
//            no new privileges; stdin /dev/null; a wall-clock limit after which the whole
//            process group is SIGKILLed; killed too if the calling process dies.
//   "uid"    when the caller is root: the child runs as a throwaway unprivileged uid/gid (one
//            per run, no supplementary groups), so the process limit is its own and file
//            permissions apply (a 0700 data dir of another user is unreadable).
//   "netns"  a new network namespace: no interfaces but a downed loopback, so no connection
//            can be made to anything, the host's loopback included.
//   "mntns"  a new mount namespace: the whole tree remounted read-only except the working
//            directory, and every path in `hidden_paths` covered by an empty, unreadable tmpfs.
//   "pidns"  a new PID namespace with a fresh /proc: the program sees no other process, and
//            when it ends every process it started dies with it.
//   "userns" when the caller is not root, the namespaces above are made inside a new user
//            namespace (where the kernel permits unprivileged ones).
//   "landlock" when the kernel has Landlock (5.13+; unprivileged): the program may read only
//            beneath /usr, /bin, /sbin, /lib*, /etc, /dev, /proc, python's own tree and its
//            working directory, write only in its working directory (and /dev/null), and, with
//            Landlock ABI 4+, neither bind nor connect TCP sockets; with ABI 6+ it cannot signal
//            processes outside the sandbox. This holds with or without namespaces, so a data dir
//            elsewhere (e.g. /var/lib/gemd, /srv, /home) is unreadable even to a non-root daemon's
//            child when no namespace can be made.
//   "seccomp" a seccomp filter: no socket of any family can be made (so no network, UDP
//            included, and no UNIX socket such as gemd's, which neither a network namespace nor
//            Landlock stops), no io_uring, ptrace, bpf, keyring, mount or namespace calls.
//   "cgroup" when this process may make a cgroup v2 (root, or a delegated subtree): the run
//            has its own, and its end kills the cgroup, so no process it started outlives it,
//            whatever it did to leave its session. (Without a cgroup: the pid namespace's end;
//            as root without either, a kill by the throwaway uid.)
//   "audit"  when no kernel barrier for the network holds (no network namespace, Landlock
//            network rules or seccomp): a Python audit hook installed before the program runs
//            refuses sockets, starting programs and loading native code (PermissionError).
//   "service" the program ran in the grader service (SandboxHost::service_socket): under
//            systemd, a gem-sandbox@.service per program with a uid of its own (DynamicUser),
//            no network and its own cgroup, which systemd kills when it ends; inside, the
//            mechanisms above that the unit leaves possible.
//
// Threat model: the program is buggy or hostile code a model wrote. The sandbox protects the
// host (processes, files, network, other teams' data); it does not stop code written to fake a
// pass from inside the interpreter (a grade is for honest evaluation, not an adversary's proof).
//
// Thread-safety: RunPython is thread-safe (it forks with prepared buffers only). Each call
// blocks its thread until the program ends or its time is up.
#ifndef GEM_SANDBOX_H_
#define GEM_SANDBOX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem {

// Limits. They change verdicts, so graders take them from the query (they are in its digest).
struct SandboxLimits {
  uint32_t wall_ms = 3000;                      // wall clock, then SIGKILL to the whole group
  uint32_t cpu_seconds = 0;                     // RLIMIT_CPU; 0 = ceil(wall) + 1
  uint64_t address_space = 1ull << 30;          // RLIMIT_AS, bytes (1 GiB)
  uint64_t file_size = 16ull << 20;             // RLIMIT_FSIZE, bytes (16 MiB)
  uint32_t processes = 32;                      // RLIMIT_NPROC
  uint32_t open_files = 64;                     // RLIMIT_NOFILE
};

// Where and how to run. These describe the host, never the verdict.
struct SandboxHost {
  std::string python = "/usr/bin/python3";
  // Parent of the per-run working directories. Must be reachable by an unprivileged uid.
  std::string work_root = "/tmp";
  // Paths the program must not see (gemd passes its data dir): covered by an empty tmpfs in the
  // mount namespace; they should also be mode 0700 so the throwaway uid cannot read them.
  std::vector<std::string> hidden_paths;
  // Use namespaces when the kernel permits (the default). false forces the fallback path.
  bool use_namespaces = true;
  // Use Landlock when the kernel has it (the default). false leaves it out (for tests).
  bool use_landlock = true;
  // Use a seccomp filter (the default): the program cannot create sockets of any family (no
  // network, UDP included, and no UNIX socket such as gemd's), nor io_uring, ptrace, bpf,
  // keyring, mount or namespace calls. false leaves it out (for tests).
  bool use_seccomp = true;
  // Run each program in a cgroup (v2) of its own when this process may make one (root, or a
  // delegated subtree), and end the run by killing the cgroup: no process it started survives,
  // whatever it did to its session or process group. false leaves it out (for tests).
  bool use_cgroup = true;
  // Run the program in the grader service listening on this UNIX socket instead of in a child
  // of this process: systemd/gem-sandbox.socket starts a gem-sandbox@.service per program, with
  // a uid of its own (DynamicUser), no network, and its own cgroup that systemd kills when it
  // ends (docs/SECURITY.md). "" (the default): run it here.
  std::string service_socket;
  // Refuse (FailedPrecondition) rather than run the program under this process's own uid,
  // which happens when the sandbox runs in this process and it is not root. gemd sets it:
  // graded code must never run as gemd or as a caller.
  bool require_other_uid = false;
};

struct SandboxResult {
  enum class End : uint8_t { kExited, kSignaled, kTimedOut };
  End end = End::kExited;
  int exit_code = 0;             // when kExited
  int signal = 0;                // when kSignaled (or the signal that ended a timed-out run)
  bool completed = false;        // the runner reached its end: the program raised nothing
  std::string out;               // stdout (first 16 KiB)
  std::string err;               // stderr (last 16 KiB)
  double seconds = 0;            // wall time
  int pgid = 0;                  // the child's process group (host view), for checks
  uint32_t uid = 0;              // the uid it ran as (host view)
  std::string work_dir;          // the private working directory (removed when RunPython returns)
  std::string isolation;         // mechanisms in effect, e.g. "uid,netns,mntns,pidns,rlimits"
};

// Runs `program` (Python source) under the limits. Returns the result for any way the program
// ends (including crashes and timeouts); returns an error Status only when the sandbox itself
// could not be set up (e.g. python missing, fork failed), naming what failed.
Result<SandboxResult> RunPython(std::string_view program, const SandboxLimits& limits,
                                const SandboxHost& host);

// The grader service's side (the gem-sandbox program, run by systemd per connection with the
// socket as stdin and stdout): reads one request from in_fd until EOF, runs it with RunPython
// under `host` (its service_socket ignored), writes the reply to out_fd. The reply carries any
// error too; the returned Status says whether the request itself was readable.
Status ServeSandboxRequest(int in_fd, int out_fd, const SandboxHost& host);

}  // namespace gem

#endif  // GEM_SANDBOX_H_
