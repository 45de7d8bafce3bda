// Copyright the gem authors. Batched generation: independence from batching, per-sequence
// limits, stop ids, argument errors.
#include "gem/generate.h"

#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace gem {
namespace {

using testing::FixtureDir;

std::vector<GenerateRequest> MixedRequests() {
  // Different prompt lengths and limits, so sequences finish at different steps.
  std::vector<std::vector<int32_t>> prompts = {
      {1, 17, 42, 99, 5},
      {3, 64, 64, 7, 120, 33, 8, 91, 2},
      {11, 12, 13},
      {100},
      {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21},
      {77, 78},
      {9, 9, 9, 9}};
  std::vector<GenerateRequest> reqs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerateRequest r;
    r.prompt = prompts[i];
    r.max_new_tokens = 3 + static_cast<int>(i * 2) % 9;
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  return reqs;
}

class GenerateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GenerateTest, BatchedEqualsOneAtATime) {
  auto model = Model::Load(FixtureDir(GetParam()), {.threads = 1});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto reqs = MixedRequests();
  std::vector<GenerateResult> all;
  ASSERT_TRUE(Generate(**model, reqs, {}, &all).ok());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(static_cast<int>(all[i].tokens.size()), reqs[i].max_new_tokens) << i;
    std::vector<GenerateResult> one;
    ASSERT_TRUE(Generate(**model, std::span(&reqs[i], 1), {}, &one).ok());
    EXPECT_EQ(one[0].tokens, all[i].tokens) << GetParam() << " request " << i;
  }
  // Other batchings: waves of 2 sequences, prefill budgets that split prompts into chunks.
  for (int wave : {2, 3}) {
    for (int budget : {1, 4, 7, 64}) {
      GenerateOptions opt;
      opt.max_batch_sequences = wave;
      opt.max_prefill_tokens = budget;
      std::vector<GenerateResult> other;
      ASSERT_TRUE(Generate(**model, reqs, opt, &other).ok());
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(other[i].tokens, all[i].tokens)
            << GetParam() << " request " << i << " wave " << wave << " budget " << budget;
      }
    }
  }
  // The same sequence in different company, at a different index.
  std::vector<GenerateRequest> shuffled = {reqs[4], reqs[0], reqs[4], reqs[6]};
  std::vector<GenerateResult> out;
  ASSERT_TRUE(Generate(**model, shuffled, {}, &out).ok());
  EXPECT_EQ(out[0].tokens, all[4].tokens);
  EXPECT_EQ(out[1].tokens, all[0].tokens);
  EXPECT_EQ(out[2].tokens, all[4].tokens);
  EXPECT_EQ(out[3].tokens, all[6].tokens);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GenerateTest, ::testing::Values("llama", "mistral", "qwen2"));

TEST(GenerateStopTest, StopIdsAndLimits) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  GenerateRequest r;
  r.prompt = {1, 17, 42, 99, 5};
  r.max_new_tokens = 8;
  r.stop_at_eos = false;
  std::vector<GenerateResult> out;
  ASSERT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).ok());
  const std::vector<int32_t> full = out[0].tokens;
  ASSERT_EQ(full.size(), 8u);
  // Stop at the id generated third: output ends there, inclusive.
  r.stop_ids = {full[2]};
  ASSERT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).ok());
  size_t first = std::find(full.begin(), full.end(), full[2]) - full.begin();
  EXPECT_EQ(out[0].tokens, std::vector<int32_t>(full.begin(), full.begin() + first + 1));
  EXPECT_EQ(out[0].finish, FinishReason::kStopId);
  // max_new_tokens = 0 only prefills.
  r.stop_ids.clear();
  r.max_new_tokens = 0;
  ASSERT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).ok());
  EXPECT_TRUE(out[0].tokens.empty());
  EXPECT_EQ(out[0].finish, FinishReason::kLength);
}

TEST(GenerateStopTest, ContextLimit) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  GenerateRequest r;
  r.prompt.assign(250, 7);  // max_position_embeddings is 256
  r.max_new_tokens = 50;
  r.stop_at_eos = false;
  std::vector<GenerateResult> out;
  ASSERT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).ok());
  EXPECT_EQ(out[0].finish, FinishReason::kContext);
  EXPECT_EQ(out[0].tokens.size(), 7u);  // positions 250..255 fed, the 7th token has no slot
}

TEST(GenerateStopTest, BadRequestsAreErrors) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  std::vector<GenerateResult> out;
  GenerateRequest r;
  EXPECT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).IsInvalidArgument());  // empty
  r.prompt = {1, 500};
  Status s = Generate(**model, std::span(&r, 1), {}, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("500"), std::string::npos) << s.ToString();
  r.prompt = {1};
  r.stop_strings = {"x"};  // the fixture has no tokenizer
  EXPECT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).IsInvalidArgument());
  r.stop_strings.clear();
  r.max_new_tokens = -1;
  EXPECT_TRUE(Generate(**model, std::span(&r, 1), {}, &out).IsInvalidArgument());
}

TEST(GenerateStopTest, Cancel) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  std::atomic<bool> cancel{true};
  GenerateOptions opt;
  opt.cancel = &cancel;
  auto reqs = MixedRequests();
  std::vector<GenerateResult> out;
  EXPECT_TRUE(Generate(**model, reqs, opt, &out).IsAborted());
}

}  // namespace
}  // namespace gem
