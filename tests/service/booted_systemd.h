// Copyright the gem authors. A real systemd, booted as PID 1 of new namespaces on a throwaway
// overlay of this machine's root, with gem's shipped units installed (systemd_boot.sh), so that
// tests run gemd under its real unit: the same user, hardening and grader service as in
// production. Needs root, user-visible cgroup v2, overlayfs and unshare(1); Boot() says why not
// otherwise, and the test skips with that reason.
#ifndef GEM_TESTS_SERVICE_BOOTED_SYSTEMD_H_
#define GEM_TESTS_SERVICE_BOOTED_SYSTEMD_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "service/harness.h"

namespace gem::testing {

class BootedSystemd {
 public:
  BootedSystemd() = default;
  ~BootedSystemd();  // kills every process of the namespaces, removes the cgroup and the overlay
  BootedSystemd(const BootedSystemd&) = delete;
  BootedSystemd& operator=(const BootedSystemd&) = delete;

  // Boots and waits until systemd reports the system running. "" on success, else why not
  // (a missing prerequisite: the caller skips; a failed boot: the caller fails).
  std::string Boot(double timeout_s = 60);
  bool prerequisites_missing() const { return missing_; }

  // Runs argv inside the namespaces (nsenter), as root or, with `user`, via setpriv as that
  // user (its uid, primary group, no supplementary groups).
  RunResult Run(const std::vector<std::string>& argv, double timeout_s = 60,
                const std::string& user = "") const;
  // `systemctl ARGS...` inside.
  RunResult Systemctl(const std::vector<std::string>& args, double timeout_s = 60) const;
  // Writes a file inside the container (as root), mode 0644.
  bool WriteFile(const std::string& path, const std::string& content) const;
  std::string ReadFile(const std::string& path) const;
  // The journal of a unit, for failure messages.
  std::string Journal(const std::string& unit) const;

 private:
  TempDir stage_;
  std::string cgroup_;  // host path of the namespaces' cgroup
  pid_t unshare_ = -1;  // the unshare process (parent of systemd)
  pid_t systemd_ = -1;  // host pid of the container's PID 1
  bool missing_ = false;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_SERVICE_BOOTED_SYSTEMD_H_
