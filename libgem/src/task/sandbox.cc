// Copyright the gem authors. The Python sandbox (gem/sandbox.h has the contract).
//
// Shape: the parent prepares every buffer (paths, argv, envp, map files), then clone()s a child
// with the namespaces the host permits. The child only makes async-signal-safe calls (it is a
// fork of a possibly multithreaded process): it joins its own session, sets up the mounts,
// lowers its limits, drops to the throwaway uid, and execs python on a small runner script.
// Before exec it reports, through a close-on-exec pipe, which mechanisms took effect (or the
// step that failed). The parent waits with a wall-clock deadline, reading stdout/stderr, then
// SIGKILLs the whole process group whatever happened, reaps, and removes the working directory.
#include "gem/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "task/sandbox_internal.h"

namespace gem {

namespace {

// The runner: the program is compiled from solution.py and executed in fresh globals; only when
// it finishes without raising does the runner write the completion mark to fd 3. So a program
// that exits early (sys.exit(0), os._exit(0)) before its asserts ran is not a pass.
// In "audit" mode (no network namespace) an audit hook refuses sockets and the ways around it
// (starting other programs, loading native code).
constexpr char kRunner[] = R"PY(import sys, os
def _gem_guard(event, args):
    if event.startswith("socket.") or event in (
            "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
            "pty.spawn", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata"):
        raise PermissionError("gem sandbox: %s refused (no network access)" % event)
def _gem_run():
    if len(sys.argv) > 1 and sys.argv[1] == "audit":
        sys.addaudithook(_gem_guard)
    with open("solution.py", "rb") as f:
        source = f.read()
    code = compile(source, "solution.py", "exec")
    exec(code, {"__name__": "solution", "__builtins__": __builtins__})
    os.write(3, b"GEM-SANDBOX-COMPLETED\n")
_gem_run()
)PY";
constexpr char kCompletedMark[] = "GEM-SANDBOX-COMPLETED";

// Throwaway uids (root only): 0x70000000 + (pid & 0xffff) << 8 + a per-process counter, so
// concurrent runs in one process or in different processes get distinct uids.
constexpr uint32_t kSandboxUidBase = 0x70000000u;
std::atomic<uint32_t> g_run_counter{0};

constexpr size_t kOutKeep = 16 * 1024;
constexpr size_t kChildStack = 256 * 1024;

// Mechanism bits reported by the child.
enum : uint32_t {
  kMechUid = 1u << 0,
  kMechNetns = 1u << 1,
  kMechMntns = 1u << 2,
  kMechPidns = 1u << 3,
  kMechUserns = 1u << 4,
  kMechProc = 1u << 5,
  kMechRlimits = 1u << 6,
  kMechLandlock = 1u << 7,
  kMechLandlockNet = 1u << 8,
  kMechAudit = 1u << 9,
  kMechSeccomp = 1u << 10,
  kMechCgroup = 1u << 11,
};

// Setup steps, for error messages.
enum Step : int32_t {
  kStepNone = 0,
  kStepSetsid,
  kStepUserMap,
  kStepMountPrivate,
  kStepHide,
  kStepBindWork,
  kStepReadOnly,
  kStepWorkWritable,
  kStepRlimit,
  kStepDropIds,
  kStepChdir,
  kStepFds,
  kStepPrctl,
  kStepLandlock,
  kStepSeccomp,
  kStepExec,
};
const char* StepName(int32_t s) {
  switch (s) {
    case kStepSetsid:
      return "setsid";
    case kStepUserMap:
      return "writing the user namespace's uid/gid maps";
    case kStepMountPrivate:
      return "making mounts private";
    case kStepHide:
      return "hiding a path with tmpfs";
    case kStepBindWork:
      return "bind-mounting the working directory";
    case kStepReadOnly:
      return "remounting the tree read-only";
    case kStepWorkWritable:
      return "making the working directory writable";
    case kStepRlimit:
      return "setting rlimits";
    case kStepDropIds:
      return "dropping to the sandbox uid/gid";
    case kStepChdir:
      return "entering the working directory";
    case kStepFds:
      return "setting up file descriptors";
    case kStepPrctl:
      return "prctl";
    case kStepLandlock:
      return "applying the Landlock ruleset";
    case kStepSeccomp:
      return "installing the seccomp filter";
    case kStepExec:
      return "exec of python";
    default:
      return "setup";
  }
}

struct Report {
  uint32_t mask = 0;
  int32_t step = kStepNone;
  int32_t err = 0;
};

// Everything the child needs, prepared by the parent (the child must not allocate).
struct ChildArgs {
  uint32_t flags = 0;  // clone flags used
  bool drop_uid = false;
  uint32_t uid = 0, gid = 0;
  uint32_t outer_uid = 0, outer_gid = 0;
  std::string uid_map, gid_map;
  const char* work_dir = nullptr;
  std::vector<const char*> hidden;
  const char* python = nullptr;
  std::vector<char*> argv_plain, argv_audit;  // runner without / with the audit hook
  std::vector<char*> envp;
  struct rlimit lim_cpu, lim_as, lim_fsize, lim_nproc, lim_nofile, lim_core;
  int fd_stdin = -1, fd_out = -1, fd_err = -1, fd_done = -1, fd_report = -1;
  bool landlock = false;
  std::vector<const char*> read_paths;  // Landlock: readable trees (the work dir is writable too)
  const sock_fprog* seccomp = nullptr;  // installed right before exec when set
  int cgroup_procs = -1;                // the run's cgroup.procs, joined first when set
};

// The child side (below, to ChildMain) is never instrumented by a sanitizer: it runs between
// clone() and exec on a small stack of its own, under the program's rlimits (ASan's runtime
// cannot even map memory there; it died before reporting an exec failure, a false pass).
#define GEM_CHILD_SIDE __attribute__((no_sanitize("address", "undefined", "thread")))

GEM_CHILD_SIDE void WriteReport(int fd, uint32_t mask, int32_t step, int32_t err) {
  Report r{mask, step, err};
  ssize_t n = write(fd, &r, sizeof(r));
  (void)n;
}

GEM_CHILD_SIDE bool WriteFile(const char* path, const char* data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = strlen(data);
  bool ok = write(fd, data, len) == static_cast<ssize_t>(len);
  close(fd);
  return ok;
}

GEM_CHILD_SIDE int MountSetattr(const char* path, unsigned flags, uint64_t set, uint64_t clr) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.attr_set = set;
  attr.attr_clr = clr;
  return static_cast<int>(syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof(attr)));
}

// Landlock (Linux 5.13+), unprivileged: the child may read only beneath a few system trees and
// its working directory, write only there (and /dev/null), and, with ABI 4+, neither bind nor
// connect TCP sockets; with ABI 6+, it may not signal processes outside its own domain. Our
// Debian headers predate the network and scope fields, so the structures are spelled here.
constexpr long kSysLandlockCreateRuleset = 444, kSysLandlockAddRule = 445,
               kSysLandlockRestrictSelf = 446;
struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct __attribute__((packed)) LandlockPathBeneath {
  uint64_t allowed_access;
  int32_t parent_fd;
};
constexpr uint64_t kLlExecute = 1u << 0, kLlWriteFile = 1u << 1, kLlReadFile = 1u << 2,
                   kLlReadDir = 1u << 3, kLlRemoveDir = 1u << 4, kLlRemoveFile = 1u << 5,
                   kLlMakeChar = 1u << 6, kLlMakeDir = 1u << 7, kLlMakeReg = 1u << 8,
                   kLlMakeSock = 1u << 9, kLlMakeFifo = 1u << 10, kLlMakeBlock = 1u << 11,
                   kLlMakeSym = 1u << 12, kLlRefer = 1u << 13, kLlTruncate = 1u << 14;
constexpr uint64_t kLlNetBindTcp = 1u << 0, kLlNetConnectTcp = 1u << 1;
constexpr uint64_t kLlScopeAbstractUnix = 1u << 0, kLlScopeSignal = 1u << 1;

// Returns -1 on failure (errno set), else the kMechLandlock* bits applied (0: no Landlock).
GEM_CHILD_SIDE int ApplyLandlock(const ChildArgs& a) {
  long abi = syscall(kSysLandlockCreateRuleset, nullptr, 0, 1u /* ..._VERSION */);
  if (abi < 1) return 0;
  uint64_t write = kLlWriteFile | kLlRemoveDir | kLlRemoveFile | kLlMakeChar | kLlMakeDir |
                   kLlMakeReg | kLlMakeSock | kLlMakeFifo | kLlMakeBlock | kLlMakeSym;
  if (abi >= 2) write |= kLlRefer;
  if (abi >= 3) write |= kLlTruncate;
  const uint64_t read = kLlReadFile | kLlReadDir | kLlExecute;
  LandlockRulesetAttr attr{read | write, 0, 0};
  size_t size = sizeof(uint64_t);
  if (abi >= 4) {
    attr.handled_access_net = kLlNetBindTcp | kLlNetConnectTcp;
    size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = kLlScopeAbstractUnix | kLlScopeSignal;
    size = sizeof(attr);
  }
  int rs = static_cast<int>(syscall(kSysLandlockCreateRuleset, &attr, size, 0));
  if (rs < 0) return -1;
  auto allow = [&](const char* path, uint64_t access) GEM_CHILD_SIDE -> bool {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT;  // a tree this system lacks: nothing to allow
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
      access &= kLlExecute | kLlWriteFile | kLlReadFile | kLlTruncate;  // file rights only
    }
    LandlockPathBeneath pb{access, fd};
    long r = syscall(kSysLandlockAddRule, rs, 1 /* PATH_BENEATH */, &pb, 0);
    int e = errno;
    close(fd);
    errno = e;
    return r == 0;
  };
  bool ok = allow(a.work_dir, read | write) &&
            allow("/dev/null", kLlReadFile | kLlWriteFile | (abi >= 3 ? kLlTruncate : 0));
  for (const char* p : a.read_paths) ok = ok && allow(p, read);
  if (ok && syscall(kSysLandlockRestrictSelf, rs, 0) != 0) ok = false;
  int e = errno;
  close(rs);
  errno = e;
  if (!ok) return -1;
  return static_cast<int>(kMechLandlock |
                          (abi >= 4 ? static_cast<uint32_t>(kMechLandlockNet) : 0u));
}

// The child. Only async-signal-safe calls from here on.
GEM_CHILD_SIDE int ChildMain(void* p) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(p);
  uint32_t mask = 0;
  auto fail = [&](int32_t step) GEM_CHILD_SIDE -> int {
    WriteReport(a.fd_report, mask, step, errno);
    _exit(127);
  };
  // Into the run's own cgroup before anything else, so everything the program starts is in it.
  if (a.cgroup_procs >= 0 && write(a.cgroup_procs, "0", 1) == 1) mask |= kMechCgroup;
  if (setsid() < 0) return fail(kStepSetsid);
  if (a.flags & CLONE_NEWUSER) {
    if (!WriteFile("/proc/self/setgroups", "deny") ||
        !WriteFile("/proc/self/uid_map", a.uid_map.c_str()) ||
        !WriteFile("/proc/self/gid_map", a.gid_map.c_str())) {
      return fail(kStepUserMap);
    }
    mask |= kMechUserns;
  }
  if (a.flags & CLONE_NEWNET) mask |= kMechNetns;
  if (a.flags & CLONE_NEWNS) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return fail(kStepMountPrivate);
    }
    if (a.flags & CLONE_NEWPID) {
      // A fresh /proc shows only this namespace's processes. Some container runtimes forbid
      // it; the pid namespace still holds, so that is not fatal.
      if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) {
        mask |= kMechProc;
      }
    }
    for (const char* h : a.hidden) {
      if (mount("tmpfs", h, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=4k,mode=000") != 0 &&
          errno != ENOENT) {
        return fail(kStepHide);
      }
    }
    if (mount(a.work_dir, a.work_dir, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return fail(kStepBindWork);
    }
    if (MountSetattr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0) != 0) {
      return fail(kStepReadOnly);
    }
    if (MountSetattr(a.work_dir, 0, 0, MOUNT_ATTR_RDONLY) != 0) return fail(kStepWorkWritable);
    mask |= kMechMntns;
  }
  if (a.flags & CLONE_NEWPID) mask |= kMechPidns;
  // Move the four descriptors out of the way first, so no dup2 clobbers a later source.
  int src[4] = {a.fd_stdin, a.fd_out, a.fd_err, a.fd_done};
  int high[4];
  for (int i = 0; i < 4; ++i) {
    high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 64);
    if (high[i] < 0) return fail(kStepFds);
  }
  for (int i = 0; i < 4; ++i) {
    if (dup2(high[i], i) < 0) return fail(kStepFds);
  }
  // Everything else closes at exec (the report pipe stays usable until then).
  if (syscall(SYS_close_range, 4u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) return fail(kStepFds);
  if (setrlimit(RLIMIT_CPU, &a.lim_cpu) != 0 || setrlimit(RLIMIT_AS, &a.lim_as) != 0 ||
      setrlimit(RLIMIT_FSIZE, &a.lim_fsize) != 0 || setrlimit(RLIMIT_NPROC, &a.lim_nproc) != 0 ||
      setrlimit(RLIMIT_NOFILE, &a.lim_nofile) != 0 || setrlimit(RLIMIT_CORE, &a.lim_core) != 0) {
    return fail(kStepRlimit);
  }
  mask |= kMechRlimits;
  if (a.drop_uid) {
    // Raw syscalls: the child of clone() shares no threads, but glibc's setgroups/setres*id
    // believe the parent's threads are still there and wait forever for them to follow
    // (__nptl_setxid): a deadlock whenever the caller is multithreaded, as gemd is.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 ||
        syscall(SYS_setresgid, a.gid, a.gid, a.gid) != 0 ||
        syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) {
      return fail(kStepDropIds);
    }
    mask |= kMechUid;
  }
  if (chdir(a.work_dir) != 0) return fail(kStepChdir);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail(kStepPrctl);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return fail(kStepPrctl);
  if (a.landlock) {
    int ll = ApplyLandlock(a);
    if (ll < 0) return fail(kStepLandlock);
    mask |= static_cast<uint32_t>(ll);
  }
  if (a.seccomp != nullptr) {
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a.seccomp, 0, 0) != 0) {
      return fail(kStepSeccomp);
    }
    mask |= kMechSeccomp;
  }
  // Without a kernel barrier for the network, the runner's audit hook refuses sockets.
  char* const* argv = a.argv_plain.data();
  if (!(mask & (kMechNetns | kMechLandlockNet | kMechSeccomp))) {
    argv = a.argv_audit.data();
    mask |= kMechAudit;
  }
  WriteReport(a.fd_report, mask, kStepNone, 0);
  execve(a.python, argv, a.envp.data());
  return fail(kStepExec);
}

Status WriteWholeFile(const std::string& path, std::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(path, strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return Status::IOError(path, strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
  return Status::OK();
}

// Removes a tree the sandbox wrote, whatever modes it left (directories may be 000).
void RemoveTree(int parent_fd, const char* name) {
  struct stat st;
  if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    fchmodat(parent_fd, name, 0700, 0);
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      if (DIR* d = fdopendir(fd)) {
        std::vector<std::string> names;
        while (struct dirent* e = readdir(d)) {
          if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names.push_back(e->d_name);
        }
        for (const auto& n : names) RemoveTree(dirfd(d), n.c_str());
        closedir(d);  // closes fd
      } else {
        close(fd);
      }
    }
    unlinkat(parent_fd, name, AT_REMOVEDIR);
  } else {
    unlinkat(parent_fd, name, 0);
  }
}

struct Pipe {
  int r = -1, w = -1;
  ~Pipe() { Close(); }
  void Close() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
    r = w = -1;
  }
  void CloseWrite() {
    if (w >= 0) close(w);
    w = -1;
  }
  bool Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    r = fds[0];
    w = fds[1];
    return true;
  }
};

// Reads what is available from fd (non-blocking) into out; returns false at EOF/error.
bool Drain(int fd, std::string* out, bool keep_tail) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      if (out->size() > 2 * kOutKeep) {
        if (keep_tail) {
          out->erase(0, out->size() - kOutKeep);
        } else {
          out->resize(kOutKeep);
        }
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;  // EOF or error
  }
}

std::string Mechanisms(uint32_t mask) {
  std::string s;
  auto add = [&](uint32_t bit, const char* name) {
    if (mask & bit) s += std::string(s.empty() ? "" : ",") + name;
  };
  add(kMechUid, "uid");
  add(kMechUserns, "userns");
  add(kMechNetns, "netns");
  add(kMechMntns, "mntns");
  add(kMechPidns, "pidns");
  add(kMechProc, "proc");
  add(kMechLandlock, "landlock");
  add(kMechLandlockNet, "landlock-net");
  add(kMechSeccomp, "seccomp");
  add(kMechCgroup, "cgroup");
  add(kMechRlimits, "rlimits");
  add(kMechAudit, "audit");
  return s;
}

// Whether any live (non-zombie) process has real uid `uid`, from /proc (parent side only).
bool UidHasProcesses(uint32_t uid) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return false;
  bool found = false;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300];
    snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
    FILE* f = fopen(path, "re");
    if (f == nullptr) continue;
    char line[256];
    bool zombie = false, mine = false;
    while (fgets(line, sizeof(line), f)) {
      unsigned r;
      if (strncmp(line, "State:", 6) == 0 && strchr(line, 'Z')) zombie = true;
      if (sscanf(line, "Uid: %u", &r) == 1 && r == uid) mine = true;
    }
    fclose(f);
    if (mine && !zombie) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

// Kills every process of `uid` (root only): a helper drops to that uid and kill(-1)s, which
// reaches exactly the processes that uid may signal, i.e. its own (and never the helper).
// kill(-1) reports success whenever any process exists, so whether some are left is read from
// /proc; a killed process lingers briefly, and a fork in flight may add one: up to ~1 s.
void KillAllOfUid(uint32_t uid) {
  for (int round = 0; round < 100 && UidHasProcesses(uid); ++round) {
    pid_t h = fork();
    if (h == 0) {
      if (syscall(SYS_setresgid, uid, uid, uid) == 0 &&
          syscall(SYS_setresuid, uid, uid, uid) == 0) {
        kill(-1, SIGKILL);
      }
      _exit(0);
    }
    if (h < 0) return;
    int st;
    while (waitpid(h, &st, 0) < 0 && errno == EINTR) {
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

Result<SandboxResult> RunPython(std::string_view program, const SandboxLimits& limits,
                                const SandboxHost& host) {
  if (!host.service_socket.empty()) {
    return sandbox_internal::RunInService(program, limits, host);
  }
  SandboxResult res;
  const bool root = geteuid() == 0;
  if (!root && host.require_other_uid) {
    return Status::FailedPrecondition(
        "sandbox", "the program would run as this process's own uid " + std::to_string(geteuid()) +
                       ": run as root (throwaway uids) or through the grader service "
                       "(sandbox.service_socket, systemd/gem-sandbox.socket), or allow it "
                       "explicitly (sandbox.allow_same_uid)");
  }

  // The private working directory.
  std::string tmpl =
      (host.work_root.empty() ? std::string("/tmp") : host.work_root) + "/gem-sandbox-XXXXXX";
  std::vector<char> tbuf(tmpl.begin(), tmpl.end());
  tbuf.push_back('\0');
  if (mkdtemp(tbuf.data()) == nullptr) {
    return Status::IOError("sandbox: cannot create a working directory in " + host.work_root,
                           strerror(errno));
  }
  const std::string dir(tbuf.data());
  res.work_dir = dir;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::string parent = dir.substr(0, dir.rfind('/'));
      std::string base = dir.substr(dir.rfind('/') + 1);
      int pfd = open(parent.empty() ? "/" : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pfd >= 0) {
        RemoveTree(pfd, base.c_str());
        close(pfd);
      }
    }
  } cleanup{dir};

  GEM_RETURN_IF_ERROR(WriteWholeFile(dir + "/solution.py", program, 0600));
  GEM_RETURN_IF_ERROR(WriteWholeFile(dir + "/runner.py", kRunner, 0600));

  ChildArgs a;
  a.outer_uid = geteuid();
  a.outer_gid = getegid();
  if (root) {
    uint32_t n = g_run_counter.fetch_add(1, std::memory_order_relaxed);
    a.uid = a.gid =
        kSandboxUidBase + ((static_cast<uint32_t>(getpid()) & 0xFFFFu) << 8) + (n & 0xFFu);
    a.drop_uid = true;
    for (const char* f : {"", "/solution.py", "/runner.py"}) {
      if (chown((dir + f).c_str(), a.uid, a.gid) != 0) {
        return Status::IOError("sandbox: chown " + dir + f, strerror(errno));
      }
    }
  } else {
    a.uid = a.outer_uid;
    a.gid = a.outer_gid;
  }
  res.uid = a.uid;
  a.uid_map = "0 " + std::to_string(a.outer_uid) + " 1\n";
  a.gid_map = "0 " + std::to_string(a.outer_gid) + " 1\n";
  a.work_dir = dir.c_str();
  for (const auto& h : host.hidden_paths) a.hidden.push_back(h.c_str());
  a.python = host.python.c_str();
  a.landlock = host.use_landlock;
  if (host.use_seccomp) {
    a.seccomp = sandbox_internal::SeccompProgram();
    if (a.seccomp == nullptr) return Status::Internal("sandbox", "cannot build the seccomp filter");
  }
  // The cgroup outlives the child: its destructor (after the waits below) kills what is left.
  std::unique_ptr<sandbox_internal::RunCgroup> cgroup;
  if (host.use_cgroup) cgroup = sandbox_internal::RunCgroup::Create();
  if (cgroup) a.cgroup_procs = cgroup->procs_fd();
  // Readable trees under Landlock: the system's programs and libraries, configuration, devices
  // and /proc; plus the tree python lives in when it is elsewhere (e.g. /opt/python/bin/python3).
  std::string python_root = host.python.substr(0, host.python.rfind('/'));
  python_root = python_root.substr(0, python_root.rfind('/'));
  for (const char* p :
       {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/dev", "/proc"}) {
    a.read_paths.push_back(p);
  }
  if (!python_root.empty()) a.read_paths.push_back(python_root.c_str());

  const uint32_t cpu = limits.cpu_seconds != 0 ? limits.cpu_seconds : limits.wall_ms / 1000 + 2;
  a.lim_cpu = {cpu, cpu + 1};
  a.lim_as = {limits.address_space, limits.address_space};
  a.lim_fsize = {limits.file_size, limits.file_size};
  a.lim_nproc = {limits.processes, limits.processes};
  a.lim_nofile = {limits.open_files, limits.open_files};
  a.lim_core = {0, 0};

  // Environment: fixed, minimal. PYTHONHASHSEED=0 makes set/dict-of-str iteration order, and so
  // verdicts of code that leans on it, the same on every run.
  std::vector<std::string> env = {
      "PATH=/usr/bin:/bin",     "HOME=" + dir,      "TMPDIR=" + dir,
      "LANG=C.UTF-8",           "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1",
      "PYTHONIOENCODING=utf-8",
  };
  for (auto& e : env) a.envp.push_back(e.data());
  a.envp.push_back(nullptr);

  Pipe out, err, done, report;
  if (!out.Open() || !err.Open() || !done.Open() || !report.Open()) {
    return Status::ResourceExhausted("sandbox: pipe", strerror(errno));
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return Status::IOError("sandbox: /dev/null", strerror(errno));
  a.fd_stdin = devnull;
  a.fd_out = out.w;
  a.fd_err = err.w;
  a.fd_done = done.w;
  a.fd_report = report.w;

  void* stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    close(devnull);
    return Status::ResourceExhausted("sandbox: child stack", strerror(errno));
  }

  // Try the namespaces; fall back to none when the kernel or our privileges refuse them.
  std::vector<uint32_t> attempts;
  const uint32_t ns = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  if (host.use_namespaces) attempts.push_back(root ? ns : (ns | CLONE_NEWUSER));
  attempts.push_back(0);
  pid_t pid = -1;
  std::string runner_path = dir + "/runner.py";
  {
    // -S: no site import (no site-packages, no sitecustomize); -s: no user site; -B: no .pyc.
    static char kS[] = "-S", ks[] = "-s", kB[] = "-B", kAudit[] = "audit", kPlain[] = "plain";
    char* py = const_cast<char*>(a.python);
    a.argv_plain = {py, kS, ks, kB, runner_path.data(), kPlain, nullptr};
    a.argv_audit = {py, kS, ks, kB, runner_path.data(), kAudit, nullptr};
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t flags : attempts) {
    a.flags = flags;
    pid = clone(ChildMain, static_cast<char*>(stack) + kChildStack,
                static_cast<int>(flags) | SIGCHLD, &a);
    if (pid >= 0) break;
    if (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS) break;
  }
  const int clone_errno = errno;
  close(devnull);
  out.CloseWrite();
  err.CloseWrite();
  done.CloseWrite();
  report.CloseWrite();
  munmap(stack, kChildStack);
  if (pid < 0) return Status::ResourceExhausted("sandbox: clone", strerror(clone_errno));
  res.pgid = pid;

  // The child's report arrives before exec (or at its failure); EOF once exec closed the pipe.
  Report rep, last;
  bool got = false;
  for (;;) {
    ssize_t n = read(report.r, &rep, sizeof(rep));
    if (n == static_cast<ssize_t>(sizeof(rep))) {
      last = rep;
      got = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (!got || last.step != kStepNone) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!got) return Status::Internal("sandbox: child died before reporting its setup");
    return Status::Internal(std::string("sandbox: ") + StepName(last.step) + " failed",
                            strerror(last.err));
  }
  res.isolation = Mechanisms(last.mask);

  fcntl(out.r, F_SETFL, O_NONBLOCK);
  fcntl(err.r, F_SETFL, O_NONBLOCK);
  fcntl(done.r, F_SETFL, O_NONBLOCK);
  std::string done_text;
  const auto deadline = t0 + std::chrono::milliseconds(limits.wall_ms);
  bool out_open = true, err_open = true, exited = false, timed_out = false;
  while (true) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      exited = true;
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    pollfd pf[2];
    nfds_t n = 0;
    if (out_open) pf[n++] = {out.r, POLLIN, 0};
    if (err_open) pf[n++] = {err.r, POLLIN, 0};
    poll(pf, n, std::min(wait_ms, 10) + 1);
    if (out_open) out_open = Drain(out.r, &res.out, false);
    if (err_open) err_open = Drain(err.r, &res.err, true);
  }
  (void)exited;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Kill the whole group while the leader is still unreaped, so the group id cannot have been
  // reused. In a pid namespace the leader is its init: its death takes every process with it.
  kill(-pid, SIGKILL);
  if (timed_out) kill(pid, SIGKILL);
  // Escapees from the group (setsid, double fork): the cgroup holds every one of them.
  const bool in_cgroup = cgroup && (last.mask & kMechCgroup);
  if (in_cgroup) cgroup->Kill();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Without a cgroup or a pid namespace, the last resort (root only): kill by the run's uid.
  if (!in_cgroup && a.drop_uid && !(a.flags & CLONE_NEWPID)) KillAllOfUid(a.uid);
  Drain(out.r, &res.out, false);
  Drain(err.r, &res.err, true);
  Drain(done.r, &done_text, false);
  if (res.out.size() > kOutKeep) res.out.resize(kOutKeep);
  if (res.err.size() > kOutKeep) res.err.erase(0, res.err.size() - kOutKeep);

  if (timed_out) {
    res.end = SandboxResult::End::kTimedOut;
    res.signal = SIGKILL;
  } else if (WIFSIGNALED(status)) {
    res.end = SandboxResult::End::kSignaled;
    res.signal = WTERMSIG(status);
  } else {
    res.end = SandboxResult::End::kExited;
    res.exit_code = WEXITSTATUS(status);
  }
  res.completed = !timed_out && done_text.find(kCompletedMark) != std::string::npos;
  return res;
}

}  // namespace gem
