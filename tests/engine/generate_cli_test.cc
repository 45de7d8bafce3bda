// Copyright the gem authors. gem-generate as a user runs it: a real subprocess.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "engine/engine_test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

struct CliRun {
  int code;
  std::string out;
};

// Runs gem-generate with `args` (shell-quoted by the caller); stdout captured, stderr appended
// after a marker line.
CliRun RunCli(const std::string& args) {
  const auto r = testing::RunCommand(std::string(GEM_BIN_DIR) + "/gem-generate " + args + " 2>&1");
  return {r.code, r.out};
}

TEST(GenerateCliTest, IdsFormatPrintsGreedyIdsOnOneLine) {
  auto ref = testing::LoadReference(testing::FixtureDir("llama") + "/reference.json");
  std::string ids;
  for (int32_t id : ref.prompts[1]) ids += (ids.empty() ? "" : " ") + std::to_string(id);
  CliRun r = RunCli("--model " + testing::FixtureDir("llama") + " --prompt-ids \"" + ids +
                    "\" --max-new-tokens 8 --ignore-eos --format ids --threads 1 -q");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string want;
  for (int32_t id : ref.greedy[1]) want += (want.empty() ? "" : " ") + std::to_string(id);
  EXPECT_EQ(r.out, want + "\n");
}

TEST(GenerateCliTest, WeightsOptionQuantisesAndReportsTheTypes) {
  auto ref = testing::LoadReference(testing::FixtureDir("llama") + "/reference.json");
  std::string ids;
  for (int32_t id : ref.prompts[0]) ids += (ids.empty() ? "" : " ") + std::to_string(id);
  CliRun r = RunCli("--model " + testing::FixtureDir("llama") + " --prompt-ids \"" + ids +
                    "\" -n 2 --ignore-eos --format ids --threads 1 --weights q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("weights q8_0: 16 tensors"), std::string::npos) << r.out;
  CliRun bad = RunCli("--model " + testing::FixtureDir("llama") + " --prompt-ids \"1\" -n 2 " +
                      "--weights q3_k");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("stored, f32 or a weight type"), std::string::npos) << bad.out;
}

TEST(GenerateCliTest, JsonFormat) {
  CliRun r = RunCli("--model " + testing::FixtureDir("qwen2") +
                    " --prompt-ids \"5 6 7\" -n 3 --ignore-eos --format json -q");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("prompt_ids"), (std::vector<int>{5, 6, 7}));
  EXPECT_EQ(j.at("ids").size(), 3u);
  EXPECT_EQ(j.at("finish"), "length");
}

TEST(GenerateCliTest, ErrorsAreClear) {
  CliRun missing = RunCli("--model /nonexistent/model --prompt-ids \"1\" -n 2");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("/nonexistent/model"), std::string::npos) << missing.out;
  CliRun no_prompt = RunCli("--model " + testing::FixtureDir("llama") + " -n 2");
  EXPECT_EQ(no_prompt.code, 2);
  EXPECT_NE(no_prompt.out.find("--prompt"), std::string::npos) << no_prompt.out;
  CliRun no_tok = RunCli("--model " + testing::FixtureDir("llama") + " --prompt hello -n 2");
  EXPECT_EQ(no_tok.code, 1);
  EXPECT_NE(no_tok.out.find("no tokenizer"), std::string::npos) << no_tok.out;
  CliRun bad_id = RunCli("--model " + testing::FixtureDir("llama") + " --prompt-ids \"1 x\" -n 2");
  EXPECT_EQ(bad_id.code, 2);
  CliRun help = RunCli("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--max-new-tokens"), std::string::npos);
}

}  // namespace
}  // namespace gem
