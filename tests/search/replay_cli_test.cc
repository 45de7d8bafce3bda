// Copyright the gem authors. gem-replay as a user runs it: a real subprocess.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "util/run_command.h"

namespace {

const std::string kBin = std::string(GEM_BIN_DIR) + "/gem-replay";
const std::string kTrees = std::string(GEM_SOURCE_DIR) + "/data/trees/";

using ProcResult = gem::testing::CommandResult;

ProcResult Sh(const std::string& cmd) { return gem::testing::RunCommand(cmd + " 2>&1"); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ReplayCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("gem-replay-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ReplayCli, HelpNamesEveryFlag) {
  ProcResult r = Sh(kBin + " --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--tree", "--matrix", "--metric", "--budgets", "--reps", "--methods",
                           "--seed", "--out", "--agreement", "--threads"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(ReplayCli, WritesTheCsvAndATableBesideThePaper) {
  const std::string csv = (dir_ / "r.csv").string();
  ProcResult r =
      Sh(kBin + " --tree " + kTrees + "mistral_7b.csv --budgets 10,50 --reps 9 " +
         "--methods paper,sequential_halving -q --reps 4 --out " + csv);  // the last --reps wins
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string text = Slurp(csv);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "tree,queries_per_model,method,mean_rank,rank_se,mean_acc,acc_se,reps");
  for (const char* row :
       {"mistral_7b,-,random,", "mistral_7b,-,best_base,", "mistral_7b,10,paper,",
        "mistral_7b,50,sequential_halving,", "mistral_7b,-,best_available,1.00,0.00,0.6940"}) {
    EXPECT_NE(text.find(row), std::string::npos) << row << "\n" << text;
  }
  EXPECT_NE(text.find("mistral_7b,10,paper,"), std::string::npos);
  const size_t paper_row = text.find("mistral_7b,10,paper,");
  EXPECT_EQ(text.substr(paper_row, text.find('\n', paper_row) - paper_row)
                .substr(text.find('\n', paper_row) - paper_row - 2),
            ",4")
      << "reps column: the last --reps given wins";
  // Markdown beside the paper's Table 2 (Mistral-7B column: SH at N = 10 is 15.2).
  EXPECT_NE(r.out.find("| N | method | rank |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| 10 | sequential_halving |"), std::string::npos);
  EXPECT_NE(r.out.find("| 15.2 |"), std::string::npos) << r.out;
}

TEST_F(ReplayCli, ResultsDoNotDependOnTheThreadCount) {
  const std::string a = (dir_ / "a.csv").string(), b = (dir_ / "b.csv").string();
  const std::string args = " --tree " + kTrees + "mistral_7b.csv --budgets 10 --reps 6 " +
                           "--methods paper,ucb,ttts -q --seed 9 --out ";
  ASSERT_EQ(Sh(kBin + args + a + " --threads 1").code, 0);
  ASSERT_EQ(Sh(kBin + args + b + " --threads 2").code, 0);
  EXPECT_EQ(Slurp(a), Slurp(b));
  EXPECT_FALSE(Slurp(a).empty());
}

TEST_F(ReplayCli, ATreesResultsDoNotDependOnTheOtherTreesOfTheRun) {
  const std::string a = (dir_ / "a.csv").string(), b = (dir_ / "b.csv").string();
  const std::string args = " --budgets 10 --reps 5 --methods paper,sequential_halving -q --out ";
  ASSERT_EQ(Sh(kBin + " --tree " + kTrees + "mistral_7b.csv" + args + a).code, 0);
  ASSERT_EQ(Sh(kBin + " --tree " + kTrees + "qwen2.5_3b.csv --tree " + kTrees + "mistral_7b.csv" +
               args + b)
                .code,
            0);
  const std::string alone = Slurp(a), both = Slurp(b);
  size_t rows = 0;
  for (size_t p = alone.find('\n') + 1; p < alone.size(); p = alone.find('\n', p) + 1) {
    const std::string line = alone.substr(p, alone.find('\n', p) - p);
    EXPECT_NE(both.find(line + "\n"), std::string::npos) << line;
    ++rows;
  }
  EXPECT_GE(rows, 5u);
}

TEST_F(ReplayCli, ReadsARealMatrix) {
  const std::string m = (dir_ / "m.csv").string(), out = (dir_ / "o.csv").string();
  {
    std::ofstream f(m);
    f << "model,popularity,q1,q2,q3,q4,q5,q6,q7,q8\n";
    f << "base,100,1,1,1,1,0,0,0,0\n";
    f << "gem,1,1,1,1,1,1,1,1,0\n";
    f << "weak,2,1,0,0,0,0,0,0,0\n";
  }
  ProcResult r =
      Sh(kBin + " --matrix " + m + " --budgets 4 --reps 3 --methods uniform -q --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string text = Slurp(out);
  EXPECT_NE(text.find("m,-,best_base,2.00,0.00,0.5000"), std::string::npos) << text;
  EXPECT_NE(text.find("m,-,best_available,1.00,0.00,0.8750"), std::string::npos) << text;
}

TEST_F(ReplayCli, BadInputFailsWithAClearMessage) {
  ProcResult r = Sh(kBin + " --tree " + kTrees + "mistral_7b.csv --methods paper,magic");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("unknown method \"magic\""), std::string::npos) << r.out;
  r = Sh(kBin + " --tree " + kTrees + "mistral_7b.csv --metric nope");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("no column \"nope\""), std::string::npos) << r.out;
  r = Sh(kBin + " --tree " + kTrees + "mistral_7b.csv --budgets 10,x");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--budgets"), std::string::npos) << r.out;
  r = Sh(kBin);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--tree"), std::string::npos) << r.out;
}

}  // namespace
