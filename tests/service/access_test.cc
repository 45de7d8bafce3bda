// Copyright the gem authors. Who may do what (gemd/access.h, docs/SECURITY.md), with real users:
// the test runs as root and runs gemctl as other uids (4242 a member by default, 4243 a reader)
// against one gemd whose socket lets them in. It replays the breaks of issue 16: a second user
// cancelled root's job, shut gemd down, and poisoned root's search with 24,600 forged imported
// results.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gem/population.h"
#include "gem/search.h"
#include "service/harness.h"
#include "service/reference.h"

namespace gem::testing {
namespace {

constexpr int64_t kMember = 4242;  // no passwd entry: a member by default_role
constexpr int64_t kReader = 4243;  // listed in access.readers
constexpr int64_t kStranger = 4244;
constexpr uint32_t kQueries = 60;

// A gemd whose socket (and its directory) other uids may reach; roles from `access`.
struct SharedGemd {
  explicit SharedGemd(const std::string& access, const std::string& data_from = "") {
    chmod(dir.path().c_str(), 0755);
    const std::string conf = dir.path() + "/gemd.toml";
    std::ofstream(conf) << "[server]\nipc_mode = \"0666\"\n\n[access]\n" << access;
    std::vector<std::string> args = {"--config", conf};
    gemd = std::make_unique<Gemd>(dir.path(), args);
  }
  TempDir dir;
  std::unique_ptr<Gemd> gemd;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The forgery of issue 16: every result of a task, exported from a gemd of one's own, rewritten
// so that the model labelled `favourite` answers everything and every other model nothing.
std::string Forge(const std::string& exported, const std::string& favourite, size_t* rows,
                  size_t* cells) {
  std::istringstream in(exported);
  std::string out, line;
  *rows = 0;
  *cells = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("model,", 0) == 0) {
      out += line + "\n";
      continue;
    }
    // <model name>,<digest>,cells...
    size_t second = line.find(',', line.find(',') + 1);
    std::string forged = line.substr(0, second);
    const char bit = line.substr(0, line.find(',')) == favourite ? '1' : '0';
    for (size_t i = second; i < line.size(); ++i) {
      if (line[i] != ',') continue;
      forged += ',';
      forged += bit;
      ++*cells;
    }
    out += forged + "\n";
    ++*rows;
  }
  return out;
}

TEST(ServiceAccess, RolesDecideWhoMayDoWhatAndEveryRefusalIsNamedAndLogged) {
  if (geteuid() != 0) GTEST_SKIP() << "running gemctl as other users needs root";
  SharedGemd s("readers = [\"uid:" + std::to_string(kReader) + "\"]\n");
  Gemd& gemd = *s.gemd;
  ASSERT_TRUE(gemd.Start());
  const std::string csv = s.dir.path() + "/tree.csv";
  std::filesystem::copy_file(TreePath("qwen2.5_3b.csv"), csv);
  chmod(csv.c_str(), 0644);

  // health tells each caller its role.
  RunResult h = gemd.CtlAs(kReader, kReader, {"health"});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_NE(h.out.find("reader"), std::string::npos) << h.out;

  // A member registers a tree and starts a search; a reader may read but not start one.
  ASSERT_EQ(gemd.CtlAs(kMember, kMember,
                       {"tree", "register", "--replay", csv, "--name", "q", "--queries", "40"})
                .exit_code,
            0);
  RunResult r = gemd.CtlAs(kReader, kReader,
                           {"search", "start", "--tree", "q", "--task", "gsm8k", "-N", "2"});
  EXPECT_EQ(r.exit_code, 10 + 11) << r.out << r.err;  // PermissionDenied
  EXPECT_NE(r.err.find("has role reader; it needs member"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.CtlAs(kReader, kReader, {"tree", "list"}).exit_code, 0);

  // root's job, slow enough to be running while others try to cancel it.
  auto root_job = gemd.CtlJson(
      {"search", "start", "--tree", "q", "--task", "mbpp", "-N", "40", "--method", "uniform"});
  ASSERT_FALSE(root_job.is_null());
  const std::string root_id = std::to_string(root_job["id"].get<uint64_t>());
  r = gemd.CtlAs(kMember, kMember, {"search", "cancel", root_id});
  EXPECT_EQ(r.exit_code, 21) << r.out << r.err;
  EXPECT_NE(r.err.find("belongs to uid:0"), std::string::npos) << r.err;

  // A member cancels its own job; an admin (root) cancels anyone's.
  r = gemd.CtlAs(kMember, kMember,
                 {"--json", "search", "start", "--tree", "q", "--task", "gsm8k", "-N", "40",
                  "--method", "uniform"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string member_id = std::to_string(nlohmann::json::parse(r.out)["id"].get<uint64_t>());
  EXPECT_EQ(gemd.CtlAs(kMember, kMember, {"search", "cancel", member_id}).exit_code, 0);
  r = gemd.Ctl({"search", "cancel", root_id});
  EXPECT_TRUE(r.exit_code == 0 || r.err.find("already") != std::string::npos) << r.err;

  // Only an admin may shut gemd down.
  r = gemd.CtlAs(kMember, kMember, {"shutdown"});
  EXPECT_EQ(r.exit_code, 21) << r.out << r.err;
  EXPECT_NE(r.err.find("needs admin"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.Ctl({"health"}).exit_code, 0) << "gemd must still be up";

  // Every refusal is in the log, naming the caller.
  const std::string log = gemd.log();
  EXPECT_NE(log.find("refused search.start from uid 4243"), std::string::npos) << log;
  EXPECT_NE(log.find("refused search.cancel of job " + root_id + " from uid 4242"),
            std::string::npos);
  EXPECT_NE(log.find("refused shutdown from uid 4242"), std::string::npos);
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceAccess, ADefaultRoleOfNoneLeavesStrangersOnlyHealth) {
  if (geteuid() != 0) GTEST_SKIP() << "running gemctl as other users needs root";
  SharedGemd s("default_role = \"none\"\nmembers = [\"uid:" + std::to_string(kMember) + "\"]\n");
  Gemd& gemd = *s.gemd;
  ASSERT_TRUE(gemd.Start());
  EXPECT_EQ(gemd.CtlAs(kStranger, kStranger, {"health"}).exit_code, 0);
  RunResult r = gemd.CtlAs(kStranger, kStranger, {"tree", "list"});
  EXPECT_EQ(r.exit_code, 21) << r.out << r.err;
  EXPECT_NE(r.err.find("has role none; it needs reader"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.CtlAs(kMember, kMember, {"tree", "list"}).exit_code, 0);
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceAccess, APermissionDeniedSocketIsReportedAsSuch) {
  if (geteuid() != 0) GTEST_SKIP() << "running gemctl as another user needs root";
  TempDir dir;
  chmod(dir.path().c_str(), 0755);
  Gemd gemd(dir.path());  // the socket is 0660 root:root
  ASSERT_TRUE(gemd.Start());
  RunResult r = gemd.CtlAs(kStranger, kStranger, {"--timeout", "3", "health"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("is gemd running?"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.Stop(), 0);
}

// Issue 16: another user imported 24,600 forged results, and root's next search on the same
// tree chose a model of accuracy 0.60 instead of 0.807. Imports are now the importer's own
// until an admin trusts them.
TEST(ServiceAccess, ForgedImportsNoLongerChangeAnotherUsersSearch) {
  if (geteuid() != 0) GTEST_SKIP() << "running gemctl as another user needs root";
  const std::string csv_src = TreePath("qwen2.5_3b.csv");
  const std::string register_args = std::to_string(kQueries);

  // The attacker's own gemd: every (model, query) result of gsm8k and mbpp, exported.
  TempDir own_dir;
  Gemd own(own_dir.path());
  ASSERT_TRUE(own.Start());
  ASSERT_EQ(own.Ctl({"tree", "register", "--replay", csv_src, "--name", "qwen", "--queries",
                     register_args})
                .exit_code,
            0);
  std::map<std::string, std::string> forged;
  size_t models = 0;
  // The model the forgery crowns: the tree's last, far from the best.
  auto shown = own.CtlJson({"tree", "show", "qwen"});
  ASSERT_FALSE(shown.is_null());
  const int64_t favourite = static_cast<int64_t>(shown["models"].size()) - 1;
  const std::string favourite_label =
      "qwen/" + shown["models"][favourite]["name"].get<std::string>();
  for (const char* task : {"gsm8k", "mbpp"}) {
    auto all = own.CtlJson({"search", "start", "--tree", "qwen", "--task", task, "--method",
                            "uniform", "-N", std::to_string(kQueries), "--wait"});
    ASSERT_FALSE(all.is_null());
    const std::string file = own_dir.path() + "/" + task + ".csv";
    ASSERT_FALSE(own.CtlJson({"cache", "export", "--tree", "qwen", "--task", task, "--out", file})
                     .is_null());
    size_t cells = 0;
    forged[task] = Forge(ReadFile(file), favourite_label, &models, &cells);
    EXPECT_EQ(models, shown["models"].size());
    EXPECT_EQ(cells, models * kQueries);
    EXPECT_NE(forged[task].find(favourite_label + ","), std::string::npos) << favourite_label;
  }
  EXPECT_EQ(own.Stop(), 0);

  SharedGemd s("");
  Gemd& gemd = *s.gemd;
  ASSERT_TRUE(gemd.Start());
  ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", csv_src, "--name", "qwen", "--queries",
                      register_args})
                .exit_code,
            0);
  for (auto& [task, text] : forged) {
    const std::string file = s.dir.path() + "/forged_" + task + ".csv";
    std::ofstream(file) << text;
    chmod(file.c_str(), 0644);
  }

  // The member imports the forged gsm8k results (24,600 cells in the issue; here models x 60).
  RunResult r = gemd.CtlAs(kMember, kMember,
                           {"--json", "cache", "import", s.dir.path() + "/forged_gsm8k.csv",
                            "--tree", "qwen", "--task", "gsm8k"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["imported"].get<uint64_t>(), models * kQueries);

  // Its own search uses them: the forged favourite wins, nothing is evaluated.
  r = gemd.CtlAs(kMember, kMember,
                 {"--json", "search", "start", "--tree", "qwen", "--task", "gsm8k", "-N", "10",
                  "--seed", "3", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto mine = nlohmann::json::parse(r.out);
  EXPECT_EQ(mine["chosen_model"].get<int64_t>(), favourite);
  EXPECT_EQ(mine["evaluations_run"].get<uint64_t>(), 0u);

  // root's search is the one libgem computes from the tree itself, as if nothing was imported.
  Reference ref = DirectSearch(csv_src, "gsm8k_pct", kQueries, 0, SimulationOptions().agreement,
                               kDefaultSearchMethod, 10, 7);
  ASSERT_NE(ref.result.chosen_model, favourite);
  auto root = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "gsm8k", "-N", "10",
                            "--seed", "7", "--wait"});
  ASSERT_FALSE(root.is_null());
  EXPECT_EQ(root["chosen_model"].get<int64_t>(), ref.result.chosen_model)
      << "root's search was changed by another user's import";
  EXPECT_GT(root["evaluations_run"].get<uint64_t>(), 0u) << "the forged results were used";
  EXPECT_NE(gemd.log().find("used by other users only if an admin trusts it"), std::string::npos);
  EXPECT_EQ(gemd.Stop(), 0);

  // When an admin trusts that importer, its imports count for everyone: on mbpp, untouched so
  // far, root's search now follows the import (so the test above can tell the difference).
  const std::string conf = s.dir.path() + "/trusted.toml";
  std::ofstream(conf) << "[server]\nipc_mode = \"0666\"\n\n[access]\ntrusted_importers = [\"uid:"
                      << kMember << "\"]\n";
  Gemd again(s.dir.path(), {"--config", conf});
  ASSERT_TRUE(again.Start());
  r = again.CtlAs(
      kMember, kMember,
      {"cache", "import", s.dir.path() + "/forged_mbpp.csv", "--tree", "qwen", "--task", "mbpp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto follows = again.CtlJson(
      {"search", "start", "--tree", "qwen", "--task", "mbpp", "-N", "10", "--seed", "7", "--wait"});
  ASSERT_FALSE(follows.is_null());
  EXPECT_EQ(follows["chosen_model"].get<int64_t>(), favourite);
  EXPECT_EQ(follows["evaluations_run"].get<uint64_t>(), 0u);
  EXPECT_EQ(again.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
