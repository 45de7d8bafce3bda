// Copyright the gem authors. The report's data through a real gemd and gemctl (report.tree,
// report.search; docs/PROTOCOL.md, "Reports"): the demo tree's structure and folders, a search's
// per-round trace consistent with its result, per-variant cache counts equal to what
// transformers measured (data/demo_tree/accuracies.csv), and the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "demo_tree/accuracies.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

using json = nlohmann::json;

const std::string kDemoDir = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";

class ServiceReport : public ::testing::Test {
 protected:
  void SetUp() override {
    gemd_ = std::make_unique<Gemd>(dir_.path());
    ASSERT_TRUE(gemd_->Start());
    json reg = gemd_->CtlJson(
        {"tree", "register", kDemoDir + "/tree.json", "--task", kDemoDir + "/tasks/demo_add.jsonl"},
        300);
    ASSERT_FALSE(reg.is_null()) << gemd_->log();
  }
  void TearDown() override {
    if (gemd_ && gemd_->running()) {
      EXPECT_EQ(gemd_->Stop(), 0) << gemd_->log();
    }
  }
  TempDir dir_;
  std::unique_ptr<Gemd> gemd_;
};

TEST_F(ServiceReport, SearchReportDataAndTheTreeReportAfterAnExhaustiveSearch) {
  json s = gemd_->CtlJson(
      {"search", "start", "--tree", "demo-tree", "--task", "demo_add", "--seed", "1", "--wait"},
      240);
  ASSERT_FALSE(s.is_null()) << gemd_->log();
  const std::string job = std::to_string(s.value("id", 0));
  json d = gemd_->CtlJson({"search", "report", job});
  ASSERT_FALSE(d.is_null());

  // The tree: the shipped manifest's structure and folders.
  const json manifest = json::parse(std::ifstream(kDemoDir + "/tree.json"));
  const json& models = d["tree"]["models"];
  ASSERT_EQ(models.size(), 1 + manifest["candidates"].size());
  EXPECT_EQ(models[0]["name"], "demo-base");
  EXPECT_EQ(models[0]["kind"], "base");
  EXPECT_EQ(models[0]["parent"], -1);
  EXPECT_EQ(models[0]["folder"], kDemoDir + "/base");
  EXPECT_EQ(models[0]["popularity"], 184203.0);
  for (size_t i = 1; i < models.size(); ++i) {
    const json& c = manifest["candidates"][i - 1];
    EXPECT_EQ(models[i]["name"], c["name"]);
    EXPECT_EQ(models[i]["kind"], c["kind"]);
    EXPECT_EQ(models[i]["parent"], 0) << models[i].dump();
    EXPECT_EQ(models[i]["folder"], kDemoDir + "/" + c["path"].get<std::string>());
    EXPECT_EQ(models[i]["popularity"], c["downloads"].get<double>());
    EXPECT_EQ(models[i]["answered"].size(), 2u) << "two prompt variants";
  }

  // The trace: rounds that add up to the result, and whose last tallies are the result's.
  ASSERT_TRUE(d.value("trace_recorded", false));
  const json& rounds = d["rounds"];
  ASSERT_FALSE(rounds.empty());
  EXPECT_EQ(rounds[0]["survivors"].size(), models.size()) << "round 1 evaluates every model";
  uint64_t spent = 0;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> last;  // model -> (pulls, wins) seen last
  for (const json& r : rounds) {
    spent += r.value("spent", uint64_t{0});
    ASSERT_EQ(r["pulls"].size(), r["survivors"].size());
    ASSERT_EQ(r["wins"].size(), r["survivors"].size());
    for (size_t k = 0; k < r["survivors"].size(); ++k) {
      last[r["survivors"][k]] = {r["pulls"][k], r["wins"][k]};
    }
  }
  EXPECT_EQ(spent, d["result"]["spent"].get<uint64_t>());
  for (const json& t : d["result"]["models"]) {
    const uint32_t m = t["index"];
    ASSERT_TRUE(last.count(m)) << "model " << m << " is in no round";
    EXPECT_EQ(last[m].first, t.value("pulls", 0u)) << m;
    EXPECT_EQ(last[m].second, t.value("wins", 0u)) << m;
  }
  // The chosen model is the last round's leader... or at least a survivor of it.
  const uint32_t chosen = d["result"]["job"]["chosen_model"];
  bool survived = false;
  for (const json& m : rounds.back()["survivors"]) survived |= m == chosen;
  EXPECT_TRUE(survived);

  // The page.
  const std::string page = dir_.path() + "/search.html";
  RunResult w = gemd_->Ctl({"search", "report", job, "--out", page});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(w.out.find("wrote " + page), std::string::npos) << w.out;
  EXPECT_TRUE(std::filesystem::file_size(page) > 10000);

  // A tree report needs every answer: refused with the command that fills them, then drawn.
  RunResult t = gemd_->Ctl({"tree", "report", "demo-tree", "--out", dir_.path() + "/t.html"});
  EXPECT_EQ(t.exit_code, 20) << t.err;
  EXPECT_NE(t.err.find("--method uniform --queries-per-model 150"), std::string::npos) << t.err;
  t = gemd_->Ctl({"tree", "report", "demo-tree", "--partial", "--out", dir_.path() + "/t.html"});
  EXPECT_EQ(t.exit_code, 0) << t.err;

  json u = gemd_->CtlJson({"search", "start", "--tree", "demo-tree", "--task", "demo_add",
                           "--method", "uniform", "--queries-per-model", "150", "--wait"},
                          240);
  ASSERT_FALSE(u.is_null()) << gemd_->log();
  json tr = gemd_->CtlJson({"tree", "report", "demo-tree"});
  ASSERT_FALSE(tr.is_null());
  auto measured = demo::ReadAccuracies(kDemoDir + "/accuracies.csv");
  ASSERT_TRUE(measured.ok()) << measured.status().ToString();
  EXPECT_EQ(tr["num_queries"], 150);
  EXPECT_EQ(tr["variants"], 2);
  for (const json& m : tr["models"]) {
    const auto& want = measured->at({m["name"].get<std::string>(), "demo_add"});
    EXPECT_TRUE(m.value("complete", false)) << m.dump();
    EXPECT_EQ(m["answered"], json({150, 150})) << m["name"];
    EXPECT_EQ(m["correct"], json({want.correct[0], want.correct[1]})) << m["name"];
  }
  t = gemd_->Ctl({"tree", "report", "demo-tree", "--out", dir_.path() + "/t.html"});
  EXPECT_EQ(t.exit_code, 0) << t.err;
}

TEST_F(ServiceReport, ErrorsNameTheProblem) {
  RunResult r = gemd_->Ctl({"search", "report", "99"});
  EXPECT_EQ(r.exit_code, 11) << r.err;  // NotFound
  EXPECT_NE(r.err.find("job 99"), std::string::npos) << r.err;
  r = gemd_->Ctl({"tree", "report", "nope"});
  EXPECT_EQ(r.exit_code, 11) << r.err;
  r = gemd_->Ctl({"tree", "report", "demo-tree", "--task", "gsm8k"});
  EXPECT_EQ(r.exit_code, 11) << r.err;
  EXPECT_NE(r.err.find("answers: demo_add"), std::string::npos) << r.err;
  // A job that is not done: FailedPrecondition (20).
  json q =
      gemd_->CtlJson({"search", "start", "--tree", "demo-tree", "--task", "demo_add", "-N", "150"});
  ASSERT_FALSE(q.is_null());
  r = gemd_->Ctl({"search", "report", std::to_string(q.value("id", 0))});
  if (r.exit_code != 0) {  // it may have finished already on a fast machine
    EXPECT_EQ(r.exit_code, 20) << r.err;
    EXPECT_NE(r.err.find("not done"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace gem::testing
