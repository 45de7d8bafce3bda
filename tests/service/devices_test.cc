// Copyright the gem authors. gemd's devices: health shows them (and the machine's GPUs), and a
// search spread over three CPU workers standing in for GPUs (spread = all) gives the same result
// and the same cache contents as the same search on one device.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "service/harness.h"

namespace gem::testing {
namespace {

using nlohmann::json;

const std::string kDemo = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";

uint64_t U64(const json& j, const char* key) { return j.value(key, uint64_t{0}); }

// Registers the demo tree (task demo_add) and runs one seeded search; returns the search's
// JSON and fills `exports` with the cache export of both prompt variants (rows only).
json SearchOn(Gemd& gemd, const std::string& dir, std::string exports[2]) {
  json reg = gemd.CtlJson(
      {"tree", "register", kDemo + "/tree.json", "--task", kDemo + "/tasks/demo_add.jsonl"}, 300);
  if (reg.is_null()) return reg;
  json r = gemd.CtlJson({"search", "start", "--tree", "demo-tree", "--task", "demo_add",
                         "--queries-per-model", "30", "--seed", "1", "--wait"},
                        300);
  if (r.is_null()) return r;
  for (int v = 0; v < 2; ++v) {
    const std::string file = dir + "/export.v" + std::to_string(v) + ".csv";
    json e = gemd.CtlJson({"cache", "export", "--tree", "demo-tree", "--task", "demo_add",
                           "--variant", std::to_string(v), "--out", file});
    EXPECT_FALSE(e.is_null());
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    exports[v] = ss.str();
  }
  return r;
}

TEST(ServiceDevices, HealthShowsDevicesGpusAndTheSpreadSetting) {
  TempDir dir;
  Gemd gemd(dir.path(), {"--cpu-workers", "3", "--spread", "all"});
  ASSERT_TRUE(gemd.Start()) << gemd.log();
  json h = gemd.CtlJson({"health"});
  ASSERT_FALSE(h.is_null());
  EXPECT_EQ(h.value("devices", json::array()), json({"cpu:0", "cpu:1", "cpu:2"})) << h.dump();
  EXPECT_EQ(h.value("spread", ""), "all");
  EXPECT_FALSE(h.value("cuda", "").empty()) << h.dump();
  for (const auto& g : h.value("gpus", json::array())) {
    EXPECT_EQ(g.get<std::string>().rfind("cuda:", 0), 0u) << g;
  }
  RunResult human = gemd.Ctl({"health"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("devices: cpu:0, cpu:1, cpu:2"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("gpus: "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("spread: all"), std::string::npos) << human.out;
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceDevices, ABadSpreadSettingIsRefused) {
  TempDir dir;
  RunResult r = RunProgram({BinPath("gemd"), "--data-dir", dir.path() + "/data", "--endpoint",
                            "ipc://" + dir.path() + "/s.sock", "--spread", "some"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("spread 'some'"), std::string::npos) << r.err;
}

TEST(ServiceDevices, GpuSettingsAreCheckedAgainstTheGpusFound) {
  TempDir dir;
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {BinPath("gemd"), "--data-dir", dir.path() + "/data",
                                     "--endpoint", "ipc://" + dir.path() + "/s.sock"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram(args);
  };
  RunResult r = run({"--gpus", "0,x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'x' is not a GPU ordinal"), std::string::npos) << r.err;
  r = run({"--gpus", "1,1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("named twice"), std::string::npos) << r.err;
  r = run({"--gpu-workers", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("gpu_workers"), std::string::npos) << r.err;

  // A GPU that is not there stops gemd, naming it; "all" (the default) and "none" give the CPU
  // workers only on a machine without a GPU.
  Gemd probe(dir.path(), {"--cpu-workers", "2"});
  ASSERT_TRUE(probe.Start()) << probe.log();
  json h = probe.CtlJson({"health"});
  ASSERT_FALSE(h.is_null());
  const size_t gpus = h.value("gpus", json::array()).size();
  EXPECT_EQ(probe.Stop(), 0);
  if (gpus > 0) GTEST_SKIP() << "this machine has GPUs: the cuda:<g> devices are listed";
  EXPECT_EQ(h.value("devices", json::array()), json({"cpu:0", "cpu:1"})) << h.dump();
  r = run({"--gpus", "3"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cuda:3: no such GPU (0 found"), std::string::npos) << r.err;
  Gemd none(dir.path(), {"--gpus", "none", "--gpu-workers", "2"});
  ASSERT_TRUE(none.Start()) << none.log();
  h = none.CtlJson({"health"});
  EXPECT_EQ(h.value("devices", json::array()), json({"cpu:0"})) << h.dump();
  EXPECT_EQ(none.Stop(), 0);
}

TEST(ServiceDevices, ASearchSpreadOverThreeDevicesEqualsOneDevice) {
  TempDir one_dir, three_dir;
  Gemd one(one_dir.path(), {"--cpu-workers", "1", "--engine-threads", "1"});
  Gemd three(three_dir.path(), {"--cpu-workers", "3", "--spread", "all", "--engine-threads", "1"});
  ASSERT_TRUE(one.Start()) << one.log();
  ASSERT_TRUE(three.Start()) << three.log();
  std::string e1[2], e3[2];
  json r1 = SearchOn(one, one_dir.path(), e1);
  json r3 = SearchOn(three, three_dir.path(), e3);
  ASSERT_FALSE(r1.is_null()) << one.log();
  ASSERT_FALSE(r3.is_null()) << three.log();
  EXPECT_EQ(r1.value("status", ""), "done");
  EXPECT_EQ(r3.value("status", ""), "done");
  // The spread job ran on all three devices; the other on its one.
  EXPECT_EQ(r1.value("device", ""), "cpu:0");
  const std::string d3 = r3.value("device", "");
  EXPECT_EQ(std::count(d3.begin(), d3.end(), ','), 2) << d3;
  EXPECT_NE(three.log().find("resident on cpu:"), std::string::npos) << three.log();
  // Same search, same answers.
  EXPECT_EQ(U64(r1, "chosen_model"), U64(r3, "chosen_model"));
  EXPECT_EQ(U64(r1, "spent"), U64(r3, "spent"));
  EXPECT_EQ(U64(r1, "evaluations_run"), U64(r3, "evaluations_run"));
  EXPECT_EQ(r1.value("rounds", json::array()), r3.value("rounds", json::array()));
  // Same cache contents, both prompt variants (the export names models and queries by their
  // content digests, so equal files are equal caches).
  for (int v = 0; v < 2; ++v) {
    EXPECT_FALSE(e1[v].empty());
    EXPECT_EQ(e1[v], e3[v]) << "variant " << v;
  }
  EXPECT_EQ(one.Stop(), 0);
  EXPECT_EQ(three.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
