// Copyright the gem authors. gemctl asks gemd for what gemd decides (protocol revision 3): the
// built-in tasks, methods and defaults (`gemctl info`), a tree's name when none is given, the N of
// a search started without one, and the task list in the message for a model tree without --task.
#include <gtest/gtest.h>

#include "service/harness.h"

namespace gem::testing {
namespace {

TEST(ServiceInfo, GemctlLeavesToGemdWhatGemdDecides) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start()) << gemd.log();
  nlohmann::json info = gemd.CtlJson({"info"});
  ASSERT_TRUE(info.is_object()) << gemd.log();
  EXPECT_GE(info.value("revision", 0), 3);
  const auto tasks = info.value("tasks", std::vector<std::string>{});
  EXPECT_NE(std::find(tasks.begin(), tasks.end(), "gsm8k"), tasks.end()) << info.dump();
  const auto methods = info.value("methods", std::vector<std::string>{});
  EXPECT_NE(std::find(methods.begin(), methods.end(), info.value("default_method", "?")),
            methods.end())
      << info.dump();
  const int default_n = info.value("default_queries_per_model", 0);
  EXPECT_GT(default_n, 0);
  RunResult text = gemd.Ctl({"info"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("built-in tasks:"), std::string::npos) << text.out;

  // No --name: gemd names the tree after the file.
  nlohmann::json reg =
      gemd.CtlJson({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--queries", "60"});
  EXPECT_EQ(reg["tree"].value("name", ""), "mistral_7b") << reg.dump();
  // No -N: gemd's default N.
  nlohmann::json job = gemd.CtlJson({"search", "start", "--tree", "mistral_7b", "--task", "gsm8k"});
  EXPECT_EQ(job.value("queries_per_model", 0), default_n) << job.dump();

  // A model tree without --task: gemctl refuses it, naming gemd's built-in tasks.
  RunResult r =
      gemd.Ctl({"tree", "register", std::string(GEM_SOURCE_DIR) + "/data/demo_tree/tree.json"});
  EXPECT_EQ(r.exit_code, 14) << r.err;
  EXPECT_NE(r.err.find("--task"), std::string::npos) << r.err;
  for (const auto& t : tasks) EXPECT_NE(r.err.find(t), std::string::npos) << t << ": " << r.err;
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

}  // namespace
}  // namespace gem::testing
