// Copyright the gem authors. gemd under its real unit (issue 16, items 2 and 6): a real systemd,
// booted in namespaces on an overlay of this machine (booted_systemd.h), runs the shipped
// gemd.service, gem-sandbox.socket and gem-sandbox@.service unchanged, gemd as user gemd with
// the unit's syscall filter and umask. Through that gemd, graded code attacks gemd's socket
// (issue 16: it sent `shutdown` and gemd stopped), the network (UDP got out), gemd's data dir and
// other runs' files, and leaves a sleeping process (it outlived its timeout by 35 s). Also: the
// store's permissions and `systemd-analyze security` on the running units.
//
// What this proves: the shipped units, as systemd applies them on this kernel, hold against
// these attacks, and gemd works under them. What it does not: devices (no GPU here, so
// DeviceAllow is untested), and cgroup controllers this container does not delegate (TasksMax,
// MemoryMax are set but not enforced here; rlimits inside the sandbox still are).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "service/attack_task.h"
#include "service/booted_systemd.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

// "gemd:x:998:998:..." -> 998.
int64_t IdOf(const std::string& passwd, const std::string& name) {
  std::istringstream in(passwd);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::istringstream f(line);
    std::string field;
    for (int i = 0; i < 3 && std::getline(f, field, ':'); ++i) {
    }
    return std::stoll(field);
  }
  return -1;
}

double Exposure(const std::string& analyze_out) {
  std::smatch m;
  if (!std::regex_search(analyze_out, m, std::regex("Overall exposure level for [^:]+: ([0-9.]+)")))
    return 99;
  return std::stod(m[1]);
}

TEST(SystemdUnit, GemdUnderItsUnitHoldsAgainstGradedCodeAndKeepsItsStorePrivate) {
  BootedSystemd sd;
  const std::string why = sd.Boot();
  if (sd.prerequisites_missing()) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");

  RunResult r = sd.Systemctl({"start", "gemd.service"}, 180);
  ASSERT_EQ(r.exit_code, 0) << r.err << sd.Journal("gemd.service");
  r = sd.Run({"/usr/local/bin/gemctl", "--wait-for-daemon", "60", "health"}, 90);
  ASSERT_EQ(r.exit_code, 0) << r.err << sd.Journal("gemd.service");
  EXPECT_NE(r.out.find("role admin"), std::string::npos) << r.out;

  const std::string passwd = sd.ReadFile("/etc/passwd");
  const int64_t gemd_uid = IdOf(passwd, "gemd");
  ASSERT_GT(gemd_uid, 0) << "systemd-sysusers did not create user gemd";
  const int64_t gemd_gid = IdOf(sd.ReadFile("/etc/group"), "gemd");

  // gemd runs as gemd, under a seccomp filter (the unit's SystemCallFilter).
  r = sd.Systemctl({"show", "-p", "MainPID", "--value", "gemd.service"});
  const std::string pid = r.out.substr(0, r.out.find('\n'));
  const std::string status = sd.Run({"/bin/cat", "/proc/" + pid + "/status"}).out;
  EXPECT_NE(status.find("Uid:\t" + std::to_string(gemd_uid)), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;

  // The store is private: no group or other access anywhere under /var/lib/gemd.
  r = sd.Run({"/usr/bin/find", "/var/lib/gemd", "-perm", "/077", "-printf", "%m %p\\n"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "group/other access in the store";
  r = sd.Run({"/usr/bin/stat", "-c", "%a %U", "/var/lib/gemd", "/var/lib/gemd/db"});
  EXPECT_EQ(r.out, "700 gemd\n700 gemd\n") << r.out << r.err;
  // Only gemd's group may reach the grader service.
  r = sd.Run({"/usr/bin/stat", "-c", "%a %U %G", "/run/gem-sandbox/sandbox.sock"});
  EXPECT_EQ(r.out, "660 root gemd\n") << r.out << r.err;

  // The attacks, through a real registration and search.
  const std::string marker = "987123";
  AttackOptions o;
  o.gemd_socket = "/run/gemd/gemd.sock";
  o.data_dir = "/var/lib/gemd";
  o.forbidden = {0, gemd_uid, gemd_gid};
  o.uid_min = 61184;  // systemd's DynamicUser range
  o.uid_max = 65519;
  o.sleep_marker = marker;
  ASSERT_TRUE(sd.Run({"/bin/mkdir", "-p", "/srv/attack"}).exit_code == 0);
  ASSERT_TRUE(sd.WriteFile("/srv/attack/attack.jsonl", AttackTaskJsonl(o)));
  ASSERT_TRUE(sd.WriteFile("/srv/attack/tree.json",
                           R"({"gem_manifest": 1, "name": "attack-tree",
          "base": {"path": "/srv/demo_tree/base", "name": "demo-base"},
          "candidates": [{"path": "/srv/demo_tree/ft_add_short0", "kind": "finetune",
                          "name": "ft-add-short0"}]})"));
  r = sd.Run({"/usr/local/bin/gemctl", "--timeout", "300", "tree", "register",
              "/srv/attack/tree.json", "--task", "/srv/attack/attack.jsonl", "--name", "atk"},
             320);
  ASSERT_EQ(r.exit_code, 0) << r.err << sd.Journal("gemd.service");
  r = sd.Run({"/usr/local/bin/gemctl", "--json", "search", "start", "--tree", "atk", "--task",
              "attack", "--method", "uniform", "-N", "6", "--wait"},
             600);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << sd.Journal("gemd.service");
  EXPECT_NE(r.out.find("\"status\": \"done\""), std::string::npos) << r.out;

  // gemd is still up: the shutdown sent from graded code never reached it.
  EXPECT_EQ(sd.Systemctl({"is-active", "gemd.service"}).out, "active\n")
      << sd.Journal("gemd.service");
  EXPECT_EQ(sd.Run({"/usr/local/bin/gemctl", "health"}).exit_code, 0);
  int ran = 0;
  for (const char* variant : {"0", "1"}) {
    r = sd.Run({"/usr/local/bin/gemctl", "cache", "export", "--tree", "atk", "--task", "attack",
                "--variant", variant});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ran += CheckAttackVerdicts(r.out, std::string("variant ") + variant);
  }
  EXPECT_GT(ran, 0) << "no model's output compiled: the attacks never ran";
  std::printf("%d model x variant rows ran every attack; all were stopped\n", ran);
  // Each program ran in a grader instance of its own (systemd logs their starts).
  const std::string journal =
      sd.Run({"/bin/journalctl", "--no-pager", "-o", "cat", "_PID=1", "-g", "gem-sandbox@"}).out;
  size_t instances = 0;
  for (size_t p = journal.find("Started gem-sandbox@"); p != std::string::npos;
       p = journal.find("Started gem-sandbox@", p + 1)) {
    ++instances;
  }
  EXPECT_GE(instances, 6u * 2 * 2) << journal;  // 6 attacks x 2 models x 2 prompt variants
  std::printf("grader instances started: %zu\n", instances);
  EXPECT_NE(sd.Journal("gemd.service").find("grader service at /run/gem-sandbox/sandbox.sock"),
            std::string::npos);

  // No process outlived its run: every grader instance is gone, with its cgroup.
  bool clean = false;
  for (int i = 0; i < 50 && !clean; ++i) {
    RunResult p = sd.Run({"/usr/bin/pgrep", "-f", "^sleep " + marker + "$"});
    RunResult u = sd.Systemctl({"list-units", "--plain", "--no-legend", "gem-sandbox@*"});
    clean = p.exit_code == 1 && u.out.empty();
    if (!clean) usleep(100 * 1000);
  }
  EXPECT_TRUE(clean) << sd.Run({"/bin/ps", "-eo", "pid,user,cmd"}).out
                     << sd.Systemctl({"list-units", "--all", "gem-sandbox@*"}).out;

  // systemd-analyze security, on the running units as systemd loaded them.
  r = sd.Run({"/usr/bin/systemd-analyze", "security", "--no-pager", "gemd.service"});
  const double gemd_exposure = Exposure(r.out);
  EXPECT_LE(gemd_exposure, 2.0) << r.out;
  r = sd.Run({"/usr/bin/systemd-analyze", "security", "--no-pager", "gem-sandbox@probe.service"});
  EXPECT_LE(Exposure(r.out), 2.0) << r.out;
  std::printf("systemd-analyze security: gemd.service %.1f, gem-sandbox@.service %.1f\n",
              gemd_exposure, Exposure(r.out));

  r = sd.Systemctl({"stop", "gemd.service"}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace gem::testing
