// Copyright the gem authors. Test harness for the service: a real gemd subprocess on a temp ipc
// endpoint and temp data dir, driven by the real gemctl binary (GEM_BIN_DIR).
#ifndef GEM_TESTS_SERVICE_HARNESS_H_
#define GEM_TESTS_SERVICE_HARNESS_H_

#include <sys/types.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gem::testing {

// A fresh directory under /tmp (short: ipc paths are limited to 107 bytes), removed at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // the exit status, or 128 + signal
  std::string out, err;
};

// Runs a program to completion (argv[0] is the path), with extra environment variables; with
// as_uid >= 0 (the test must be root) as that uid and gid, without supplementary groups.
RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {}, double timeout_s = 60,
                     int64_t as_uid = -1, int64_t as_gid = -1);

std::string BinPath(const std::string& name);   // GEM_BIN_DIR/name
std::string TreePath(const std::string& file);  // GEM_SOURCE_DIR/data/trees/file

class Gemd {
 public:
  // dir: the test's temp dir; the endpoint is ipc://<dir>/gemd.sock, the data dir <dir>/data,
  // the log <dir>/gemd.log (appended across restarts).
  explicit Gemd(std::string dir, std::vector<std::string> extra_args = {},
                std::map<std::string, std::string> env = {});
  ~Gemd();  // kill -9 if still running

  // Starts gemd and waits (gemctl --wait-for-daemon) until it is ready. False on failure.
  bool Start();
  // Starts gemd without waiting for it.
  void Launch();
  void Kill9();
  // gemctl shutdown, then waits for the process; returns its exit status.
  int Stop();
  bool running() const { return pid_ > 0; }
  // Whether the gemd we launched has ended on its own (it is left to Stop/Kill9 to reap); with
  // `how`, its exit status and, the first time, the end of its log (under a sanitizer: the
  // report). Lets a test fail at once, naming why, instead of waiting for answers that will not
  // come.
  bool Exited(std::string* how = nullptr) const;
  pid_t pid() const { return pid_; }

  const std::string& endpoint() const { return endpoint_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log() const;  // the log's content

  // gemctl --endpoint <ours> args...
  RunResult Ctl(const std::vector<std::string>& args, double timeout_s = 60) const;
  // The same as another user (the test must be root; the socket must let that user in).
  RunResult CtlAs(int64_t uid, int64_t gid, const std::vector<std::string>& args,
                  double timeout_s = 60) const;
  // gemctl --json ... parsed; fails the test (ADD_FAILURE) and returns null on a non-zero exit,
  // at once if gemd has exited.
  nlohmann::json CtlJson(const std::vector<std::string>& args, double timeout_s = 60) const;

 private:
  std::vector<std::string> CtlArgv(const std::vector<std::string>& args) const;

  std::string dir_, endpoint_;
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  mutable std::atomic<bool> exit_logged_{false};  // Exited() has shown the log of this exit
};

}  // namespace gem::testing

#endif  // GEM_TESTS_SERVICE_HARNESS_H_
