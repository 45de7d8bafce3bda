// Copyright the gem authors. Graded code against gemd, without systemd (issue 16, item 2): a
// code task's `imports` attack gemd's socket (ZMTP `shutdown`), the network (UDP and TCP), the
// data dir and other runs' files, and leave an escaped process behind. gemd runs here as the
// test's user; as root, graded code runs in-process under a throwaway uid with namespaces,
// seccomp and a cgroup; as anyone else gemd refuses to run it as itself.
// tests/service/systemd_unit_test.cc runs the same attacks under the shipped units.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "service/attack_task.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Processes whose command line is exactly `sleep <marker>`.
int CountSleepers(const std::string& marker) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::string cmd = Slurp(std::string("/proc/") + e->d_name + "/cmdline");
    if (cmd == std::string("sleep\0", 6) + marker + std::string("\0", 1)) ++n;
  }
  if (d) closedir(d);
  return n;
}

// A two-model tree on the demo tree's base (the base and one fine-tune).
std::string WriteManifest(const std::string& dir, const std::string& demo) {
  const std::string path = dir + "/tree.json";
  std::ofstream(path) << nlohmann::json{{"gem_manifest", 1},
                                        {"name", "attack-tree"},
                                        {"base", {{"path", demo + "/base"}, {"name", "demo-base"}}},
                                        {"candidates",
                                         {{{"path", demo + "/ft_add_short0"},
                                           {"kind", "finetune"},
                                           {"name", "ft-add-short0"}}}}}
                             .dump(1);
  return path;
}

TEST(ServiceSandboxAttack, GradedCodeCannotReachGemdTheNetworkOrOtherFiles) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  const std::string marker = std::to_string(900000 + getpid() % 90000);
  AttackOptions o;
  o.gemd_socket = gemd.endpoint().substr(6);
  o.data_dir = gemd.data_dir();
  o.forbidden = {static_cast<int64_t>(geteuid()), static_cast<int64_t>(getegid())};
  o.uid_min = 0x70000000;  // the sandbox's throwaway uids
  o.sleep_marker = marker;
  const std::string task = dir.path() + "/attack.jsonl";
  std::ofstream(task) << AttackTaskJsonl(o);
  const std::string manifest =
      WriteManifest(dir.path(), std::string(GEM_SOURCE_DIR) + "/data/demo_tree");
  RunResult r = gemd.Ctl({"tree", "register", manifest, "--task", task, "--name", "atk"}, 300);
  ASSERT_EQ(r.exit_code, 0) << r.err << gemd.log();

  auto job = gemd.CtlJson({"search", "start", "--tree", "atk", "--task", "attack", "--method",
                           "uniform", "-N", "6", "--wait"},
                          600);
  ASSERT_FALSE(job.is_null()) << gemd.log();
  if (geteuid() != 0) {
    // No throwaway uid without root, and no grader service here: gemd refuses to run the code
    // as itself, by name.
    EXPECT_EQ(job["status"], "failed");
    EXPECT_NE(job["error"].get<std::string>().find("own uid"), std::string::npos) << job.dump();
    EXPECT_EQ(gemd.Stop(), 0);
    return;
  }
  ASSERT_EQ(job["status"], "done") << job.dump() << gemd.log();
  // The shutdown sent over gemd's socket never arrived.
  EXPECT_EQ(gemd.Ctl({"health"}).exit_code, 0) << "gemd was shut down by graded code";
  int ran = 0;
  for (const char* variant : {"0", "1"}) {
    const std::string file = dir.path() + "/export" + variant + ".csv";
    ASSERT_EQ(gemd.Ctl({"cache", "export", "--tree", "atk", "--task", "attack", "--variant",
                        variant, "--out", file})
                  .exit_code,
              0);
    ran += CheckAttackVerdicts(Slurp(file), std::string("variant ") + variant);
  }
  EXPECT_GT(ran, 0) << "no model's output compiled: the attacks never ran";
  // The escapees are gone: killed with their run's cgroup (or pid namespace).
  int left = CountSleepers(marker);
  for (int i = 0; i < 50 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = CountSleepers(marker);
  }
  EXPECT_EQ(left, 0) << "processes started by graded code outlived their run";
  EXPECT_EQ(gemd.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
