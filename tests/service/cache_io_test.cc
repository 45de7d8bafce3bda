// Copyright the gem authors. cache export and import through gemd: results exported from one
// gemd make the same search free on another (searching results imported from elsewhere).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "service/harness.h"

namespace gem::testing {
namespace {

TEST(ServiceCacheIo, ExportFromOneGemdImportIntoAnotherMakesTheSearchFree) {
  TempDir dir_a, dir_b;
  Gemd a(dir_a.path()), b(dir_b.path());
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  const std::string csv = TreePath("mistral_7b.csv");
  for (Gemd* g : {&a, &b}) {
    ASSERT_EQ(g->Ctl({"tree", "register", "--replay", csv, "--name", "mistral", "--queries", "120"})
                  .exit_code,
              0);
  }
  const std::vector<std::string> search = {"search", "start", "--tree", "mistral",
                                           "--task", "gsm8k", "-N",     "6",
                                           "--seed", "9",     "--wait"};
  auto first = a.CtlJson(search);
  ASSERT_FALSE(first.is_null());
  const uint64_t run = first["evaluations_run"].get<uint64_t>();
  ASSERT_GT(run, 0u);

  const std::string file = dir_a.path() + "/gsm8k.csv";
  auto ex = a.CtlJson({"cache", "export", "--tree", "mistral", "--task", "gsm8k", "--out", file});
  ASSERT_FALSE(ex.is_null());
  EXPECT_EQ(ex["entries"].get<uint64_t>(), run);
  std::ifstream in(file);
  std::string header;
  std::getline(in, header);
  EXPECT_NE(header.find("gem-matrix v1"), std::string::npos) << header;

  auto im = b.CtlJson({"cache", "import", file, "--tree", "mistral", "--task", "gsm8k"});
  ASSERT_FALSE(im.is_null());
  EXPECT_EQ(im["imported"].get<uint64_t>(), run);
  auto second = b.CtlJson(search);
  ASSERT_FALSE(second.is_null());
  EXPECT_EQ(second["evaluations_run"].get<uint64_t>(), 0u);
  EXPECT_EQ(second["chosen_model"], first["chosen_model"]);

  // Importing into a task the tree does not have is named.
  auto bad = b.Ctl({"cache", "import", file, "--tree", "mistral", "--task", "arc"});
  EXPECT_EQ(bad.exit_code, 11) << bad.err;
  EXPECT_NE(bad.err.find("task 'arc'"), std::string::npos) << bad.err;
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
