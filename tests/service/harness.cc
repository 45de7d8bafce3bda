// Copyright the gem authors. Test harness for the service (harness.h).
#include "service/harness.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gem::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/gemsvc.XXXXXX";
  char* p = mkdtemp(tmpl);
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string BinPath(const std::string& name) { return std::string(GEM_BIN_DIR) + "/" + name; }
std::string TreePath(const std::string& file) {
  return std::string(GEM_SOURCE_DIR) + "/data/trees/" + file;
}

namespace {

std::vector<char*> CArgs(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, double timeout_s,
                     int64_t as_uid, int64_t as_gid) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (as_uid >= 0) {
      gid_t g = static_cast<gid_t>(as_gid >= 0 ? as_gid : as_uid);
      if (setgroups(0, nullptr) != 0 || setresgid(g, g, g) != 0 ||
          setresuid(static_cast<uid_t>(as_uid), static_cast<uid_t>(as_uid),
                    static_cast<uid_t>(as_uid)) != 0) {
        std::fprintf(stderr, "cannot become uid %lld: %s\n", static_cast<long long>(as_uid),
                     std::strerror(errno));
        _exit(127);
      }
    }
    auto args = CArgs(argv);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      r.err += "\n[harness: killed after " + std::to_string(timeout_s) + " s]";
      break;
    }
    if (poll(fds, 2, left) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = DecodeWait(status);
  return r;
}

Gemd::Gemd(std::string dir, std::vector<std::string> extra_args,
           std::map<std::string, std::string> env)
    : dir_(std::move(dir)),
      endpoint_("ipc://" + dir_ + "/gemd.sock"),
      extra_args_(std::move(extra_args)),
      env_(std::move(env)) {}

Gemd::~Gemd() {
  if (pid_ > 0) Kill9();
}

void Gemd::Launch() {
  exit_logged_ = false;
  std::vector<std::string> argv = {BinPath("gemd"), "--data-dir",  data_dir(), "--endpoint",
                                   endpoint_,       "--log-level", "debug"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::string log_path = dir_ + "/gemd.log";
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [k, v] : env_) setenv(k.c_str(), v.c_str(), 1);
    auto args = CArgs(argv);
    execv(args[0], args.data());
    _exit(127);
  }
}

bool Gemd::Start() {
  Launch();
  RunResult r = Ctl({"--wait-for-daemon", "20", "health"}, 30);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "gemd did not become ready: " << r.err << "\nlog:\n" << log();
    return false;
  }
  return true;
}

void Gemd::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool Gemd::Exited(std::string* how) const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_) {
    return false;
  }
  if (how != nullptr) {
    const bool signalled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
    *how = "gemd (pid " + std::to_string(pid_) + ") has exited " +
           (signalled ? "on signal " : "with status ") + std::to_string(info.si_status) +
           (!signalled && info.si_status == 66 ? " (a sanitizer's report)" : "");
    if (exit_logged_.exchange(true)) {
      *how += " (its log is shown above)";
    } else {
      // From a sanitizer's report when there is one (its start names the race), else the end.
      std::string l = log();
      size_t from = l.size() > 16384 ? l.size() - 16384 : 0;
      for (const char* mark : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer"}) {
        if (size_t at = l.find(mark); at != std::string::npos) from = std::min(from, at);
      }
      *how += "; its log" + std::string(from > 0 ? " from byte " + std::to_string(from) : "") +
              ":\n" + l.substr(from, 32768);
    }
  }
  return true;
}

int Gemd::Stop() {
  if (pid_ <= 0) return -1;
  if (!Exited()) Ctl({"shutdown"}, 10);  // else: its status is what the caller checks
  for (int i = 0; i < 300; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return DecodeWait(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "gemd did not stop within 15 s after shutdown";
  Kill9();
  return -1;
}

std::string Gemd::log() const {
  std::ifstream in(dir_ + "/gemd.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Gemd::CtlArgv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BinPath("gemctl"), "--endpoint", endpoint_};
  // A gemd that has exited will not answer: gemctl says so (exit 3, "is gemd running?") after
  // a second instead of its default 30.
  if (Exited() && std::find(args.begin(), args.end(), "--timeout") == args.end()) {
    argv.insert(argv.end(), {"--timeout", "1"});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult Gemd::Ctl(const std::vector<std::string>& args, double timeout_s) const {
  return RunProgram(CtlArgv(args), {}, timeout_s);
}

RunResult Gemd::CtlAs(int64_t uid, int64_t gid, const std::vector<std::string>& args,
                      double timeout_s) const {
  return RunProgram(CtlArgv(args), {}, timeout_s, uid, gid);
}

nlohmann::json Gemd::CtlJson(const std::vector<std::string>& args, double timeout_s) const {
  std::string how;
  if (Exited(&how)) {
    ADD_FAILURE() << "gemctl " << (args.empty() ? "" : args[0]) << ": " << how;
    return nullptr;
  }
  std::vector<std::string> a = {"--json"};
  a.insert(a.end(), args.begin(), args.end());
  RunResult r = Ctl(a, timeout_s);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& x : args) cmd += x + " ";
    ADD_FAILURE() << "gemctl " << cmd << "exited " << r.exit_code << ": " << r.err << r.out;
    return nullptr;
  }
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "gemctl printed no JSON (" << e.what() << "): " << r.out;
    return nullptr;
  }
}

}  // namespace gem::testing
