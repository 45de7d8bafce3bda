// Copyright the gem authors. The systemd integration: the unit passes systemd-analyze verify,
// the sysusers/tmpfiles files apply to a scratch root, and gemd's sd_notify messages (STATUS
// during start-up, READY, WATCHDOG, STOPPING) arrive on a real NOTIFY_SOCKET.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "service/harness.h"

namespace gem::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Systemd(const std::string& file) {
  return std::string(GEM_SOURCE_DIR) + "/systemd/" + file;
}

bool HaveProgram(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
    if (access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

TEST(Systemd, UnitPassesSystemdAnalyzeVerify) {
  if (!HaveProgram("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  // verify checks that ExecStart's program exists: point it at the gemd we built.
  std::string unit = ReadAll(Systemd("gemd.service"));
  ASSERT_NE(unit.find("/usr/local/sbin/gemd"), std::string::npos);
  unit = std::regex_replace(unit, std::regex("/usr/local/sbin/gemd"), BinPath("gemd"));
  std::string path = dir.path() + "/gemd.service";
  std::ofstream(path) << unit;
  RunResult r =
      RunProgram({"/usr/bin/systemd-analyze", "verify", path}, {{"SYSTEMD_LOG_COLOR", "0"}}, 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // verify reports bad values as warnings with exit status 0: any message is a failure.
  EXPECT_EQ(r.err, "") << "systemd-analyze verify complained";

  // What the issue asks of the unit, beyond parsing (settings only, not comments).
  std::string settings;
  {
    std::istringstream lines(unit);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line[0] != '#') settings += line + "\n";
  }
  for (const char* want :
       {"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=gemd", "StateDirectory=gemd",
        "RuntimeDirectory=gemd", "ConfigurationDirectory=gemd", "DeviceAllow=/dev/nvidiactl",
        "DeviceAllow=char-nvidia-frontend", "ProtectSystem=strict", "NoNewPrivileges=true"}) {
    EXPECT_NE(settings.find(want), std::string::npos) << "gemd.service lacks " << want;
  }
  EXPECT_EQ(settings.find("PrivateDevices=true"), std::string::npos)
      << "PrivateDevices=true would hide /dev/nvidia*";
}

// Issue 16: exposure 3.4 and a group-writable store. Offline checks of the unit files as shipped
// (tests/service/systemd_unit_test.cc boots them in a real systemd).
TEST(Systemd, UnitsAreHardenedAndTheStoreIsPrivate) {
  if (!HaveProgram("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  for (const char* file : {"gemd.service", "gem-sandbox.socket", "gem-sandbox@.service"}) {
    std::string unit = ReadAll(Systemd(file));
    unit = std::regex_replace(unit, std::regex("/usr/local/sbin/gemd"), BinPath("gemd"));
    unit = std::regex_replace(unit, std::regex("/usr/local/libexec/gem/gem-sandbox"),
                              BinPath("gem-sandbox"));
    std::ofstream(dir.path() + "/" + file) << unit;
  }
  const std::map<std::string, std::string> env = {{"SYSTEMD_LOG_COLOR", "0"}};
  RunResult r = RunProgram({"/usr/bin/systemd-analyze", "verify", dir.path() + "/gemd.service",
                            dir.path() + "/gem-sandbox.socket"},
                           env, 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "systemd-analyze verify complained";
  auto exposure = [&](const std::string& unit) {
    RunResult a = RunProgram({"/usr/bin/systemd-analyze", "security", "--offline=true",
                              "--no-pager", dir.path() + "/" + unit},
                             env, 60);
    std::smatch m;
    if (!std::regex_search(a.out, m, std::regex("Overall exposure level for [^:]+: ([0-9.]+)"))) {
      ADD_FAILURE() << "no exposure for " << unit << ": " << a.out << a.err;
      return 99.0;
    }
    return std::stod(m[1]);
  };
  EXPECT_LE(exposure("gemd.service"), 2.0);
  EXPECT_LE(exposure("gem-sandbox@.service"), 2.0);

  const std::string gemd_unit = ReadAll(Systemd("gemd.service"));
  for (const char* want :
       {"UMask=0077", "StateDirectoryMode=0700", "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged", "Wants=gem-sandbox.socket"}) {
    EXPECT_NE(gemd_unit.find(want), std::string::npos) << "gemd.service lacks " << want;
  }
  const std::string sandbox = ReadAll(Systemd("gem-sandbox@.service"));
  for (const char* want : {"DynamicUser=yes", "PrivateNetwork=true", "RestrictAddressFamilies=none",
                           "KillMode=control-group", "InaccessiblePaths=-/run/gemd"}) {
    EXPECT_NE(sandbox.find(want), std::string::npos) << "gem-sandbox@.service lacks " << want;
  }
  const std::string socket = ReadAll(Systemd("gem-sandbox.socket"));
  EXPECT_NE(socket.find("SocketGroup=gemd"), std::string::npos);
  EXPECT_NE(socket.find("SocketMode=0660"), std::string::npos);
  // The shipped settings send generated code to the grader service, and gemd accepts them.
  const std::string example = ReadAll(Systemd("gemd.toml.example"));
  EXPECT_NE(example.find("service_socket = \"/run/gem-sandbox/sandbox.sock\""), std::string::npos);
  Gemd gemd(dir.path(), {"--config", Systemd("gemd.toml.example")});
  ASSERT_TRUE(gemd.Start());
  EXPECT_NE(gemd.log().find("grader service at /run/gem-sandbox/sandbox.sock"), std::string::npos)
      << gemd.log();
  EXPECT_EQ(gemd.Stop(), 0);
}

// gemd's own files are private whatever umask it is started with (it sets 0077) and a store
// left group-writable by an older gemd is tightened at start-up.
TEST(Systemd, GemdKeepsItsStorePrivate) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/data/db");
  chmod((dir.path() + "/data/db").c_str(), 0777);
  {
    Gemd gemd(dir.path());
    ASSERT_TRUE(gemd.Start());
    ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m",
                        "--queries", "20"})
                  .exit_code,
              0);
    EXPECT_EQ(gemd.Stop(), 0);
    EXPECT_NE(gemd.log().find("was mode 0777"), std::string::npos) << gemd.log();
  }
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/data/db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0027, 0u)
      << "db/ is group-writable or open to others: " << std::oct << (st.st_mode & 07777);
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/data/db")) {
    ASSERT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0u) << e.path() << " mode " << std::oct << (st.st_mode & 07777);
  }
}

TEST(Systemd, SysusersAndTmpfilesApplyToAScratchRoot) {
  if (!HaveProgram("systemd-sysusers") || !HaveProgram("systemd-tmpfiles")) {
    GTEST_SKIP() << "systemd-sysusers / systemd-tmpfiles are not installed";
  }
  if (geteuid() != 0) GTEST_SKIP() << "creating files owned by another group needs root";
  TempDir root;
  std::filesystem::create_directories(root.path() + "/etc");
  RunResult r =
      RunProgram({"/usr/bin/systemd-sysusers", "--root=" + root.path(), Systemd("gemd.sysusers")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string group = ReadAll(root.path() + "/etc/group");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(group, m, std::regex("^gemd:x:(\\d+):", std::regex::multiline)))
      << group;
  const gid_t gid = static_cast<gid_t>(std::stoul(m[1]));
  EXPECT_NE(ReadAll(root.path() + "/etc/passwd").find("gemd:x:"), std::string::npos);
  r = RunProgram(
      {"/usr/bin/systemd-tmpfiles", "--root=" + root.path(), "--create", Systemd("gemd.tmpfiles")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(stat((root.path() + "/etc/gemd/curve/authorized").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, gid);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

// A unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
      ADD_FAILURE() << "bind " << path;
    timeval tv{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() { close(fd_); }
  // Collects datagrams until one contains `needle` or `seconds` pass.
  bool WaitFor(const std::string& needle, double seconds) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    for (const auto& m : messages)
      if (m.find(needle) != std::string::npos) return true;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      messages.emplace_back(buf, static_cast<size_t>(n));
      if (messages.back().find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string All() const {
    std::string s;
    for (const auto& m : messages) s += "[" + m + "] ";
    return s;
  }
  std::vector<std::string> messages;

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Systemd, NotifyReadyStatusWatchdogStopping) {
  TempDir dir;
  NotifySocket ns(dir.path() + "/notify");
  Gemd gemd(dir.path(), {},
            {{"NOTIFY_SOCKET", dir.path() + "/notify"}, {"WATCHDOG_USEC", "400000"}});
  ASSERT_TRUE(gemd.Start());
  EXPECT_TRUE(ns.WaitFor("READY=1", 10)) << ns.All();
  // Start-up stages come before READY, as STATUS.
  size_t ready = 0;
  while (ready < ns.messages.size() && ns.messages[ready].find("READY=1") == std::string::npos)
    ++ready;
  bool stage_before_ready = false;
  for (size_t i = 0; i < ready; ++i)
    stage_before_ready |= ns.messages[i].find("STATUS=loading trees") != std::string::npos;
  EXPECT_TRUE(stage_before_ready) << ns.All();
  EXPECT_NE(ns.messages[ready].find("STATUS=ready"), std::string::npos) << ns.All();
  // WatchdogSec/2 = 0.2 s: several pings in a second.
  ns.messages.clear();
  EXPECT_TRUE(ns.WaitFor("WATCHDOG=1", 2)) << ns.All();
  ns.messages.clear();
  EXPECT_TRUE(ns.WaitFor("WATCHDOG=1", 2)) << ns.All();
  // Status follows the work.
  ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m",
                      "--queries", "50"})
                .exit_code,
            0);
  EXPECT_TRUE(ns.WaitFor("STATUS=ready: 0 running, 0 queued, 1 trees", 3)) << ns.All();
  EXPECT_EQ(gemd.Stop(), 0);
  EXPECT_TRUE(ns.WaitFor("STOPPING=1", 3)) << ns.All();
}

TEST(Systemd, BadSettingIsNamedAndExitsNonZero) {
  TempDir dir;
  // A failed start exits 1 (Restart=on-failure) with a message naming the setting and line.
  std::filesystem::create_directories(dir.path() + "/data");
  std::ofstream(dir.path() + "/bad.toml") << "[server]\nendpiont = \"ipc:///tmp/x\"\n";
  RunResult r = RunProgram(
      {BinPath("gemd"), "--config", dir.path() + "/bad.toml", "--data-dir", dir.path() + "/data"},
      {{"NOTIFY_SOCKET", dir.path() + "/notify"}}, 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown setting 'server.endpiont'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gem::testing
