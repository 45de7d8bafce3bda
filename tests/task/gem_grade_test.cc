// Copyright the gem authors. gem-grade, the real executable: verdicts, --json, exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "gem/grader.h"
#include "gem/task.h"
#include "task/test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

struct ToolRun {
  int rc = -1;
  std::string out;
};

ToolRun GemGrade(const std::string& args) {
  const auto r = testing::RunCommand(std::string(GEM_BIN_DIR) + "/gem-grade --data-dir " +
                                     GEM_SOURCE_DIR + "/data/tasks " + args + " 2>&1");
  return {r.code, r.out};
}

class GemGradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access((std::string(GEM_BIN_DIR) + "/gem-grade").c_str(), X_OK) != 0) {
      GTEST_SKIP() << "gem-grade not built in " << GEM_BIN_DIR;
    }
  }
  testing::TempDir dir_;
  std::string Output(const std::string& text) {
    std::string p = dir_.path() + "/out.txt";
    testing::WriteFile(p, text);
    return p;
  }
};

TEST_F(GemGradeTest, CorrectAndIncorrectVerdicts) {
  ToolRun ok = GemGrade("--task gsm8k --query gsm8k/0 --output " +
                        Output("9 eggs * $2 = $18.\nThe final answer is 18"));
  EXPECT_EQ(ok.rc, 0) << ok.out;
  EXPECT_EQ(ok.out, "correct: answered 18 (rule: answer-is)\n");
  ToolRun bad =
      GemGrade("--task gsm8k --query gsm8k/0 --output " + Output("The final answer is 9"));
  EXPECT_EQ(bad.rc, 1) << bad.out;
  EXPECT_EQ(bad.out, "incorrect: expected 18, answered 9 (rule: answer-is)\n");
}

TEST_F(GemGradeTest, JsonMatchesTheLibraryAndRunsTheSandbox) {
  const std::string code = "def remove_Occ(s, ch):\n    return s\n";
  ToolRun r = GemGrade("--task mbpp --query mbpp/11 --json --output " + Output(code));
  EXPECT_EQ(r.rc, 1) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["query"], "mbpp/11");
  EXPECT_EQ(j["correct"], false);
  // The same verdict and reason as gemd's path (GradeOutput on the same query).
  TaskOptions o;
  o.data_dir = std::string(GEM_SOURCE_DIR) + "/data/tasks";
  auto t = LoadTask("mbpp", o);
  ASSERT_TRUE(t.ok());
  const Query& q = (*t)->query(*(*t)->Find("mbpp/11"));
  EXPECT_EQ(j["digest"], q.digest.Hex());
  auto g = GradeOutput(q, code);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(j["reason"], g->reason);
  EXPECT_NE(g->reason.find("AssertionError"), std::string::npos);
}

TEST_F(GemGradeTest, StopStringsAreAppliedBeforeGrading) {
  // GSM8K stops at "Problem:": a second, wrong answer after it is not read.
  ToolRun r = GemGrade("--task gsm8k --query gsm8k/0 --json --output " +
                       Output("The final answer is 18\nProblem: next one\nThe final answer is 3"));
  EXPECT_EQ(r.rc, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["cut_at_stop"], true);
}

TEST_F(GemGradeTest, ErrorsExitWithTwoAndSayWhat) {
  ToolRun t = GemGrade("--task hellaswag --query x --output /dev/null");
  EXPECT_EQ(t.rc, 2);
  EXPECT_NE(t.out.find("hellaswag"), std::string::npos) << t.out;
  ToolRun q = GemGrade("--task mbpp --query mbpp/5 --output /dev/null");
  EXPECT_EQ(q.rc, 2);
  EXPECT_NE(q.out.find("mbpp/5"), std::string::npos) << q.out;
  ToolRun f = GemGrade("--task mbpp --query mbpp/11 --output /nonexistent/file");
  EXPECT_EQ(f.rc, 2);
  EXPECT_NE(f.out.find("/nonexistent/file"), std::string::npos) << f.out;
  ToolRun u = GemGrade("--query mbpp/11");
  EXPECT_EQ(u.rc, 2);
  EXPECT_NE(u.out.find("--task"), std::string::npos) << u.out;
}

TEST_F(GemGradeTest, CustomTaskFile) {
  std::string task = dir_.path() + "/quiz.jsonl";
  testing::WriteFile(task,
                     "{\"id\": \"cap\", \"prompt\": \"Capital of France?\", \"answer\": "
                     "\"Paris\", \"grader\": {\"name\": \"exact\", \"ignore_case\": true}}\n");
  ToolRun r = GemGrade("--task " + task + " --query quiz/cap --output " + Output("paris\n"));
  EXPECT_EQ(r.rc, 0) << r.out;
}

}  // namespace
}  // namespace gem
