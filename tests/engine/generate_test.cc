// Copyright the gem authors. Batched generation: independence from batching, per-sequence
// limits, stop ids, argument errors.
#include "gem/generate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

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

// Prompts sharing prefixes: a 12-token "system prompt" for five of them, four of which share
// 9 more tokens; a duplicate; a prompt that is another's prefix; one unrelated.
std::vector<GenerateRequest> SharedPrefixRequests() {
  const std::vector<int32_t> sys = {1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50};
  const std::vector<int32_t> shots = {60, 61, 62, 63, 64, 65, 66, 67, 68};
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> p = sys;
    p.insert(p.end(), shots.begin(), shots.end());
    for (int t = 0; t <= i; ++t) p.push_back(static_cast<int32_t>(80 + 7 * i + t));
    prompts.push_back(p);
  }
  prompts.push_back(sys);
  prompts.back().push_back(99);
  prompts.push_back(prompts[2]);  // a duplicate
  prompts.push_back(std::vector<int32_t>(sys.begin(), sys.begin() + 10));
  prompts.push_back({2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  std::vector<GenerateRequest> reqs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerateRequest r;
    r.prompt = prompts[i];
    r.max_new_tokens = 2 + static_cast<int>(i * 5) % 7;
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  return reqs;
}

// Each request generated alone.
std::vector<std::vector<int32_t>> Alone(Model& model, const std::vector<GenerateRequest>& reqs) {
  std::vector<std::vector<int32_t>> out;
  for (const GenerateRequest& r : reqs) {
    std::vector<GenerateResult> one;
    EXPECT_TRUE(Generate(model, std::span(&r, 1), {}, &one).ok());
    out.push_back(one.at(0).tokens);
  }
  return out;
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

TEST_P(GenerateTest, ScheduleSlotsAndArrivalOrderDoNotChangeResults) {
  auto model = Model::Load(FixtureDir(GetParam()), {.threads = 1});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<GenerateRequest> reqs = MixedRequests();
  for (const GenerateRequest& r : SharedPrefixRequests()) reqs.push_back(r);
  const auto want = Alone(**model, reqs);
  // Every schedule, number of slots, prefill budget and prefix sharing threshold.
  std::vector<std::set<int>> slots_of(reqs.size());
  for (Schedule schedule : {Schedule::kContinuous, Schedule::kWaves}) {
    for (int slots : {1, 2, 3, 64}) {
      for (int budget : {1, 5, 64}) {
        for (int min_shared : {0, 1, 8}) {
          GenerateOptions opt;
          opt.schedule = schedule;
          opt.max_batch_sequences = slots;
          opt.max_prefill_tokens = budget;
          opt.min_shared_prefix = min_shared;
          opt.on_admit = [&](size_t i, int slot) { slots_of[i].insert(slot); };
          GenerateStats stats;
          opt.stats = &stats;
          std::vector<GenerateResult> out;
          ASSERT_TRUE(Generate(**model, reqs, opt, &out).ok());
          for (size_t i = 0; i < reqs.size(); ++i) {
            ASSERT_EQ(out[i].tokens, want[i])
                << GetParam() << " request " << i << " schedule " << static_cast<int>(schedule)
                << " slots " << slots << " budget " << budget << " min_shared " << min_shared;
          }
          EXPECT_LE(stats.slots, static_cast<uint64_t>(slots));
          // Shared prefixes are prefilled once: fewer tokens run, none skipped.
          EXPECT_LE(stats.prefill_tokens, stats.prompt_tokens);
          EXPECT_GE(stats.prefill_tokens + stats.shared_prefix_tokens, stats.prompt_tokens);
          if (min_shared == 0) EXPECT_EQ(stats.shared_prefix_tokens, 0u);
          if (min_shared > 0) EXPECT_GT(stats.shared_prefix_tokens, 0u);
        }
      }
    }
  }
  // The check means something: requests ran in several different slots.
  size_t moved = 0;
  for (const auto& s : slots_of) moved += s.size() > 1;
  EXPECT_GT(moved, reqs.size() / 2);
  // Arrival order: reversed, rotated and shuffled, with few slots so that company changes.
  std::vector<size_t> order(reqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::vector<size_t>> orders;
  orders.push_back(std::vector<size_t>(order.rbegin(), order.rend()));
  std::rotate(order.begin(), order.begin() + 5, order.end());
  orders.push_back(order);
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  orders.push_back(order);
  for (const auto& o : orders) {
    std::vector<GenerateRequest> permuted;
    for (size_t i : o) permuted.push_back(reqs[i]);
    GenerateOptions opt;
    opt.max_batch_sequences = 3;
    std::vector<GenerateResult> out;
    ASSERT_TRUE(Generate(**model, permuted, opt, &out).ok());
    for (size_t k = 0; k < o.size(); ++k) {
      ASSERT_EQ(out[k].tokens, want[o[k]]) << GetParam() << " request " << o[k] << " at " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GenerateTest, ::testing::Values("llama", "mistral", "qwen2"));

TEST(GenerateScheduleTest, ContinuousBatchingGivesAFreedSlotToTheNextRequest) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  // One long sequence and five short ones on two slots.
  std::vector<GenerateRequest> reqs = MixedRequests();
  reqs.resize(6);
  for (size_t i = 0; i < reqs.size(); ++i) reqs[i].max_new_tokens = i == 0 ? 24 : 2;
  const auto want = Alone(**model, reqs);
  uint64_t steps[2] = {0, 0};
  std::vector<size_t> admitted_after[2];  // per request: sequences finished when it started
  for (Schedule schedule : {Schedule::kContinuous, Schedule::kWaves}) {
    const int k = static_cast<int>(schedule);
    size_t finished = 0;
    admitted_after[k].assign(reqs.size(), 0);
    GenerateOptions opt;
    opt.schedule = schedule;
    opt.max_batch_sequences = 2;
    opt.on_progress = [&](size_t done, size_t) { finished = done; };
    opt.on_admit = [&](size_t i, int) { admitted_after[k][i] = finished; };
    GenerateStats stats;
    opt.stats = &stats;
    std::vector<GenerateResult> out;
    ASSERT_TRUE(Generate(**model, reqs, opt, &out).ok());
    for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(out[i].tokens, want[i]) << i;
    EXPECT_EQ(stats.slots, 2u);
    steps[k] = stats.forward_steps;
  }
  // Continuous: the short ones pass through the second slot while the long one runs.
  EXPECT_EQ(admitted_after[0][5], 4u);
  // Waves: the third request waits for the long one.
  EXPECT_EQ(admitted_after[1][2], 2u);
  // 24 steps for the long one, the short ones beside it; waves add 2 + 2 after it.
  EXPECT_LT(steps[0], steps[1]) << "continuous " << steps[0] << " waves " << steps[1];
}

TEST(GenerateScheduleTest, SharedPrefixIsPrefilledOnce) {
  auto model = Model::Load(FixtureDir("llama"), {.threads = 1});
  ASSERT_TRUE(model.ok());
  std::vector<GenerateRequest> reqs;
  std::vector<int32_t> prefix;
  for (int t = 0; t < 20; ++t) prefix.push_back(30 + 3 * t);
  for (int i = 0; i < 5; ++i) {
    GenerateRequest r;
    r.prompt = prefix;
    for (int t = 0; t < 3 + i; ++t) r.prompt.push_back(90 + 7 * i + t);
    r.max_new_tokens = 4;
    r.stop_at_eos = false;
    reqs.push_back(r);
  }
  reqs.push_back(MixedRequests()[1]);
  const auto want = Alone(**model, reqs);
  GenerateStats stats;
  GenerateOptions opt;
  opt.stats = &stats;
  std::vector<GenerateResult> out;
  ASSERT_TRUE(Generate(**model, reqs, opt, &out).ok());
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(out[i].tokens, want[i]) << i;
  EXPECT_EQ(stats.prefix_groups, 1u);
  EXPECT_EQ(stats.shared_prefix_tokens, 5u * 20u);
  EXPECT_EQ(stats.prefill_tokens, stats.prompt_tokens - 5 * 20 + 20);  // the prefix once
  // Off: every prompt prefilled whole, the same tokens.
  opt.min_shared_prefix = 0;
  ASSERT_TRUE(Generate(**model, reqs, opt, &out).ok());
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(out[i].tokens, want[i]) << i;
  EXPECT_EQ(stats.shared_prefix_tokens, 0u);
  EXPECT_EQ(stats.prefill_tokens, stats.prompt_tokens);
}

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
