// Copyright the gem authors. The sandbox's seccomp filter (sandbox_internal.h).
//
// Built with libseccomp in the parent, once, and exported as a BPF program; the forked child,
// which may only make async-signal-safe calls, installs it with a single prctl right before it
// execs python (after PR_SET_NO_NEW_PRIVS, so no privilege is needed).
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <vector>

#include "task/sandbox_internal.h"

namespace gem::sandbox_internal {

namespace {

struct Program {
  std::vector<sock_filter> code;
  sock_fprog prog{};
  bool ok = false;
};

bool Build(Program* out) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  bool ok = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0;  // the child sets it itself
  auto deny = [&](int errno_value, int nr) {
    if (nr < 0) return;  // a syscall this architecture lacks
    ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errno_value), nr, 0) == 0;
  };
  // No sockets at all: no network of any kind (UDP included), no UNIX socket such as gemd's.
  deny(EACCES, SCMP_SYS(socket));
  ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
                              SCMP_A0(SCMP_CMP_NE, AF_UNIX)) == 0;
  for (int nr : {SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
                 SCMP_SYS(clone3)}) {
    deny(ENOSYS, nr);
  }
  for (int nr : {SCMP_SYS(ptrace),
                 SCMP_SYS(process_vm_readv),
                 SCMP_SYS(process_vm_writev),
                 SCMP_SYS(bpf),
                 SCMP_SYS(perf_event_open),
                 SCMP_SYS(userfaultfd),
                 SCMP_SYS(keyctl),
                 SCMP_SYS(add_key),
                 SCMP_SYS(request_key),
                 SCMP_SYS(mount),
                 SCMP_SYS(umount2),
                 SCMP_SYS(pivot_root),
                 SCMP_SYS(move_mount),
                 SCMP_SYS(open_tree),
                 SCMP_SYS(fsopen),
                 SCMP_SYS(fsconfig),
                 SCMP_SYS(fsmount),
                 SCMP_SYS(fspick),
                 SCMP_SYS(mount_setattr),
                 SCMP_SYS(unshare),
                 SCMP_SYS(setns),
                 SCMP_SYS(kexec_load),
                 SCMP_SYS(kexec_file_load),
                 SCMP_SYS(init_module),
                 SCMP_SYS(finit_module),
                 SCMP_SYS(delete_module),
                 SCMP_SYS(open_by_handle_at),
                 SCMP_SYS(name_to_handle_at),
                 SCMP_SYS(acct),
                 SCMP_SYS(swapon),
                 SCMP_SYS(swapoff),
                 SCMP_SYS(reboot)}) {
    deny(EPERM, nr);
  }
  for (uint64_t flag : {uint64_t{CLONE_NEWUSER}, uint64_t{CLONE_NEWNS}, uint64_t{CLONE_NEWNET},
                        uint64_t{CLONE_NEWPID}, uint64_t{CLONE_NEWIPC}, uint64_t{CLONE_NEWUTS},
                        uint64_t{CLONE_NEWCGROUP}}) {
    ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)) == 0;
  }
  if (ok) {
    // libseccomp 2.5 exports to a file descriptor; a memfd keeps it in memory.
    int fd = memfd_create("gem-seccomp", MFD_CLOEXEC);
    ok = fd >= 0 && seccomp_export_bpf(ctx, fd) == 0;
    if (ok) {
      off_t size = lseek(fd, 0, SEEK_END);
      ok = size > 0 && size % sizeof(sock_filter) == 0 && lseek(fd, 0, SEEK_SET) == 0;
      if (ok) {
        out->code.resize(static_cast<size_t>(size) / sizeof(sock_filter));
        ok = read(fd, out->code.data(), static_cast<size_t>(size)) == size;
      }
    }
    if (fd >= 0) close(fd);
  }
  seccomp_release(ctx);
  if (!ok) return false;
  out->prog.len = static_cast<unsigned short>(out->code.size());
  out->prog.filter = out->code.data();
  out->ok = true;
  return true;
}

}  // namespace

const sock_fprog* SeccompProgram() {
  static Program* program = [] {
    auto* p = new Program();  // lives for the process: children use it after fork
    Build(p);
    return p;
  }();
  return program->ok ? &program->prog : nullptr;
}

}  // namespace gem::sandbox_internal
