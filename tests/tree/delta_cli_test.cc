// Copyright the gem authors. gem-delta as a user runs it: a real subprocess on the fixture tree.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "gem/delta.h"
#include "gem/safetensors.h"
#include "tree/tree_test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TreeFixture;

const std::string kBin = std::string(GEM_BIN_DIR) + "/gem-delta";

using ProcResult = testing::CommandResult;

// Runs gem-delta with `args`; stdout only unless `with_stderr`.
ProcResult RunDelta(const std::string& args, bool with_stderr = false) {
  return testing::RunCommand(kBin + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

Digest DigestOf(const std::string& dir) {
  auto s = SafetensorsSet::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? WeightsDigest(**s) : Digest{};
}

TEST(DeltaCli, HelpNamesTheSubcommandsAndTheirFlags) {
  ProcResult r = RunDelta("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* w : {"make", "info", "rebuild", "docs/MANIFEST.md"})
    EXPECT_NE(r.out.find(w), std::string::npos) << w << " in:\n" << r.out;
  r = RunDelta("make --help");
  EXPECT_EQ(r.code, 0);
  for (const char* w : {"--base", "--finetune", "--out", "--zstd-level"})
    EXPECT_NE(r.out.find(w), std::string::npos) << w;
}

TEST(DeltaCli, MakeInfoRebuildRoundTrip) {
  TempDir tmp;
  const std::string base = TreeFixture("base"), ft = TreeFixture("ft_code");
  ProcResult r =
      RunDelta("make --json --base " + base + " --finetune " + ft + " --out " + tmp / "c");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto made = nlohmann::json::parse(r.out);
  EXPECT_EQ(made["model_digest"], DigestOf(ft).Hex());
  EXPECT_EQ(made["form"], "xor");
  EXPECT_LT(made["size_fraction"].get<double>(), 1.0);

  r = RunDelta("info --json " + tmp / "c");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["model_digest"], made["model_digest"]);
  // Checkpoints are stored "xor" (the smallest), which version 2 holds.
  EXPECT_EQ(nlohmann::json::parse(r.out)["format_version"], 2);
  r = RunDelta("info " + tmp / "c");
  EXPECT_NE(r.out.find("lossless"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("delta format version      2"), std::string::npos) << r.out;
  // The shipped demo checkpoints were written by the version 1 writer.
  r = RunDelta("info " + std::string(GEM_SOURCE_DIR) + "/data/demo_tree/ft_add_long0");
  EXPECT_NE(r.out.find("delta format version      1"), std::string::npos) << r.out;

  r = RunDelta("rebuild --base " + base + " --checkpoint " + tmp / "c" + " --out " + tmp / "r");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(made["model_digest"].get<std::string>()), std::string::npos) << r.out;
  EXPECT_EQ(DigestOf(tmp / "r"), DigestOf(ft));
}

TEST(DeltaCli, ErrorsNameTheProblemWithExitCodes) {
  TempDir tmp;
  ProcResult r = RunDelta("", true);
  EXPECT_EQ(r.code, 2) << "no subcommand is a usage error";
  r = RunDelta("make --base " + TreeFixture("base") + " --finetune " + TreeFixture("lora_qv_r4") +
                   " --out " + tmp / "x",
               true);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("LoRA adapter"), std::string::npos) << r.out;
  r = RunDelta("make --base " + TreeFixture("base") + " --finetune " + TreeFixture("bad_shapes") +
                   " --out " + tmp / "x",
               true);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("maybe the wrong base model?"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp / "x/model.gemdelta"));
  r = RunDelta("make --base " + TreeFixture("base") + " --finetune " + TreeFixture("ft_math") +
                   " --out " + TreeFixture("ft_math"),
               true);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("own directory"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(TreeFixture("ft_math/model.gemdelta"))) << "the fixture is untouched";
  r = RunDelta("info " + TreeFixture("ft_math"), true);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not a delta checkpoint"), std::string::npos) << r.out;
  r = RunDelta("make --zstd-level 40 --base a --finetune b --out c", true);
  EXPECT_EQ(r.code, 2) << r.out;
}

}  // namespace
}  // namespace gem
