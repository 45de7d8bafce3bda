// Copyright the gem authors. A real systemd in namespaces for tests (booted_systemd.h).
#include "service/booted_systemd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gem::testing {

namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Cgroup2Mount() {
  std::istringstream in(Slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    if (root == "/") return mount_point;
  }
  return "";
}

std::string OwnCgroup() {
  std::istringstream in(Slurp("/proc/self/cgroup"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

// Removes a cgroup tree, deepest first; cgroups still populated are retried for a while.
void RemoveCgroupTree(const std::string& dir) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::string> dirs;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path().string());
    }
    std::sort(dirs.begin(), dirs.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& d : dirs) rmdir(d.c_str());
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

pid_t ChildOf(pid_t pid) {
  std::istringstream in(
      Slurp("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  pid_t child = -1;
  in >> child;
  return child;
}

}  // namespace

std::string BootedSystemd::Boot(double timeout_s) {
  auto missing = [&](const std::string& why) {
    missing_ = true;
    return why;
  };
  if (geteuid() != 0) return missing("booting systemd in namespaces needs root");
  for (const char* p : {"/lib/systemd/systemd", "/usr/bin/unshare", "/usr/bin/nsenter",
                        "/usr/bin/setpriv", "/usr/bin/systemd-machine-id-setup"}) {
    if (access(p, X_OK) != 0) return missing(std::string(p) + " is not installed");
  }
  if (Slurp("/proc/filesystems").find("overlay") == std::string::npos) {
    return missing("the kernel has no overlayfs");
  }
  const std::string mount = Cgroup2Mount(), own = OwnCgroup();
  if (mount.empty() || own.empty()) return missing("no cgroup v2 hierarchy is mounted");
  static int counter = 0;
  cgroup_ = mount + (own == "/" ? "" : own) + "/gem-systemd-test-" + std::to_string(getpid()) +
            "-" + std::to_string(counter++);
  if (mkdir(cgroup_.c_str(), 0755) != 0) {
    std::string why = "cannot make a cgroup at " + cgroup_ + ": " + std::strerror(errno);
    cgroup_.clear();
    return missing(why);
  }
  const std::string script = std::string(GEM_SOURCE_DIR) + "/tests/service/systemd_boot.sh";
  const std::string log = stage_.path() + ".log";
  unshare_ = fork();
  if (unshare_ == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int procs = open((cgroup_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (procs < 0 || write(procs, "0", 1) != 1) _exit(120);
    const std::string src = GEM_SOURCE_DIR, bin = GEM_BIN_DIR;
    execl("/usr/bin/unshare", "unshare", "--pid", "--mount", "--cgroup", "--net", "--uts", "--ipc",
          "--fork", "--propagation", "private", "/bin/bash", script.c_str(), stage_.path().c_str(),
          src.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(timeout_s * 1000));
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(unshare_, &status, WNOHANG) == unshare_) {
      unshare_ = -1;
      return "the namespaces' init exited during boot:\n" + Slurp(log);
    }
    if (systemd_ < 0) {
      pid_t c = ChildOf(unshare_);
      if (c > 0 && Slurp("/proc/" + std::to_string(c) + "/comm") == "systemd\n") systemd_ = c;
    }
    if (systemd_ > 0) {
      RunResult r = Run({"/bin/systemctl", "is-system-running"}, 10);
      state = r.out.substr(0, r.out.find('\n'));
      if (state == "running") return "";
      if (state == "degraded") {
        return "systemd booted degraded:\n" + Run({"/bin/systemctl", "--failed", "--no-pager"}).out;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "systemd did not finish booting in " + std::to_string(timeout_s) + " s (state '" + state +
         "'); boot log:\n" + Slurp(log);
}

BootedSystemd::~BootedSystemd() {
  if (systemd_ > 0) kill(systemd_, SIGKILL);  // PID 1 of the namespace: takes all with it
  if (unshare_ > 0) {
    kill(unshare_, SIGKILL);
    int status;
    waitpid(unshare_, &status, 0);
  }
  if (!cgroup_.empty()) {
    // Anything left (there should be nothing) dies with the cgroup.
    std::ofstream(cgroup_ + "/cgroup.kill") << "1";
    RemoveCgroupTree(cgroup_);
  }
  std::error_code ec;
  fs::remove(stage_.path() + ".log", ec);
}

RunResult BootedSystemd::Run(const std::vector<std::string>& argv, double timeout_s,
                             const std::string& user) const {
  std::vector<std::string> full = {"/usr/bin/nsenter", "-t", std::to_string(systemd_), "-a", "--"};
  if (!user.empty()) {
    full.insert(full.end(),
                {"/usr/bin/setpriv", "--reuid", user, "--regid", user, "--clear-groups", "--"});
  }
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProgram(full, {}, timeout_s);
}

RunResult BootedSystemd::Systemctl(const std::vector<std::string>& args, double timeout_s) const {
  std::vector<std::string> argv = {"/bin/systemctl", "--no-pager"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, timeout_s);
}

bool BootedSystemd::WriteFile(const std::string& path, const std::string& content) const {
  const std::string host = "/proc/" + std::to_string(systemd_) + "/root" + path;
  std::ofstream out(host, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  chmod(host.c_str(), 0644);
  return static_cast<bool>(out);
}

std::string BootedSystemd::ReadFile(const std::string& path) const {
  return Slurp("/proc/" + std::to_string(systemd_) + "/root" + path);
}

std::string BootedSystemd::Journal(const std::string& unit) const {
  return Run({"/bin/journalctl", "--no-pager", "-o", "cat", "-u", unit}, 20).out;
}

}  // namespace gem::testing
