// Copyright the gem authors. One cgroup v2 per sandboxed run (sandbox_internal.h).
//
// Killing by cgroup ends every process the program started, whatever it did to escape its
// process group or session (setsid, double fork) and without scanning /proc for pids that may
// meanwhile belong to someone else.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "task/sandbox_internal.h"

namespace gem::sandbox_internal {

namespace {

std::atomic<uint32_t> g_cgroup_counter{0};

// Where the cgroup v2 hierarchy is mounted ("" when it is not).
std::string Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "... <mount point> <options> [optional fields] - <fstype> <source> <super options>"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    head >> id >> parent >> devno >> root >> mount_point;
    if (root == "/") return mount_point;
  }
  return "";
}

// This process's cgroup v2 path ("0::/a/b" in /proc/self/cgroup), "" when none.
std::string OwnCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

std::string ReadSmall(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool WriteSmall(const std::string& path, const char* text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  close(fd);
  return ok;
}

// Cgroups left by a process that died before it could remove them (kill -9): their name holds
// the pid that made them. Removed once per process, when that pid is gone.
void RemoveStale(const std::string& parent) {
  DIR* d = opendir(parent.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    long pid = 0;
    if (std::sscanf(e->d_name, "gem-sandbox-%ld-", &pid) != 1 || pid <= 0) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    const std::string dir = parent + "/" + e->d_name;
    WriteSmall(dir + "/cgroup.kill", "1");
    for (int i = 0; i < 50 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  closedir(d);
}

}  // namespace

std::unique_ptr<RunCgroup> RunCgroup::Create() {
  const std::string mount = Cgroup2Mount();
  const std::string own = OwnCgroup();
  if (mount.empty() || own.empty() || own.find("..") != std::string::npos) return nullptr;
  std::string parent = mount + (own == "/" ? "" : own);
  static std::once_flag stale_once;
  std::call_once(stale_once, [&] { RemoveStale(parent); });
  const uint32_t n = g_cgroup_counter.fetch_add(1, std::memory_order_relaxed);
  std::string dir = parent + "/gem-sandbox-" + std::to_string(getpid()) + "-" + std::to_string(n);
  if (mkdir(dir.c_str(), 0755) != 0) return nullptr;
  std::unique_ptr<RunCgroup> cg(new RunCgroup());
  cg->path_ = dir;
  cg->procs_fd_ = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (cg->procs_fd_ < 0) return nullptr;  // the destructor removes the directory
  return cg;
}

bool RunCgroup::Populated() const {
  std::string events = ReadSmall(path_ + "/cgroup.events");
  if (!events.empty()) return events.find("populated 1") != std::string::npos;
  return !ReadSmall(path_ + "/cgroup.procs").empty();
}

bool RunCgroup::Kill() {
  const bool have_kill = WriteSmall(path_ + "/cgroup.kill", "1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (Populated()) {
    if (!have_kill) {  // Linux < 5.14: signal every member (a cgroup's list, not a pid scan)
      std::istringstream pids(ReadSmall(path_ + "/cgroup.procs"));
      for (long pid; pids >> pid;) {
        if (pid > 0) kill(static_cast<pid_t>(pid), SIGKILL);
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

RunCgroup::~RunCgroup() {
  if (procs_fd_ >= 0) close(procs_fd_);
  if (path_.empty()) return;
  Kill();
  for (int i = 0; i < 100 && rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace gem::sandbox_internal
