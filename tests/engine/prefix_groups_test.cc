// Copyright the gem authors. Shared prompt prefixes: which prompts are grouped, how long the
// shared prefix is, and what is never shared.
#include "engine/prefix_groups.h"

#include <gtest/gtest.h>

#include "gem/generate.h"

namespace gem {
namespace {

GenerateRequest Req(std::vector<int32_t> prompt, int32_t adapter_slot = -1) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.adapter_slot = adapter_slot;
  return r;
}

std::vector<int32_t> Cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(PrefixGroupsTest, LongPrefixesOfSubsetsBeatAShortOneOfAll) {
  // Two system prompts that share only their first 2 tokens: two groups of 10-token prefixes
  // save 2 * 10 tokens, one group of all four would save 3 * 2.
  const std::vector<int32_t> a = {1, 2, 10, 11, 12, 13, 14, 15, 16, 17};
  const std::vector<int32_t> b = {1, 2, 20, 21, 22, 23, 24, 25, 26, 27};
  std::vector<GenerateRequest> reqs = {Req(Cat(a, {5})), Req(Cat(b, {5})), Req(Cat(a, {6, 7})),
                                       Req(Cat(b, {8})), Req({3, 3, 3})};
  std::vector<int> group_of;
  auto groups = FindPrefixGroups(reqs, 2, &group_of);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].length, 10);
  EXPECT_EQ(groups[1].length, 10);
  EXPECT_EQ(group_of[0], group_of[2]);
  EXPECT_EQ(group_of[1], group_of[3]);
  EXPECT_NE(group_of[0], group_of[1]);
  EXPECT_EQ(group_of[4], -1);
  for (const auto& g : groups) {
    for (size_t m : g.members) EXPECT_EQ(group_of[m], &g - groups.data());
  }
}

TEST(PrefixGroupsTest, NeverTheWholePromptNorAcrossAdapterSlots) {
  const std::vector<int32_t> p = {4, 5, 6, 7, 8, 9};
  // Duplicates share all but their last token; a prompt that is another's prefix likewise.
  std::vector<GenerateRequest> reqs = {Req(p), Req(p), Req({4, 5, 6, 7}), Req(p, 0), Req(p, 0)};
  std::vector<int> group_of;
  auto groups = FindPrefixGroups(reqs, 1, &group_of);
  ASSERT_EQ(groups.size(), 2u);
  for (const auto& g : groups) {
    for (size_t m : g.members) {
      EXPECT_LT(g.length, static_cast<int>(reqs[m].prompt.size())) << m;
    }
  }
  EXPECT_NE(group_of[0], group_of[3]) << "adapter slots -1 and 0 must not share keys/values";
  EXPECT_EQ(group_of[3], group_of[4]);
  EXPECT_EQ(groups[group_of[3]].length, 5);
  EXPECT_EQ(groups[group_of[0]].length, 3);  // with {4, 5, 6, 7}: saves 2 * 3 > 1 * 5
  EXPECT_EQ(group_of[2], group_of[0]);
}

TEST(PrefixGroupsTest, ThresholdAndOff) {
  std::vector<GenerateRequest> reqs = {Req({1, 2, 3, 4, 50}), Req({1, 2, 3, 4, 60})};
  std::vector<int> group_of;
  EXPECT_EQ(FindPrefixGroups(reqs, 4, &group_of).size(), 1u);
  EXPECT_TRUE(FindPrefixGroups(reqs, 5, &group_of).empty());
  EXPECT_TRUE(FindPrefixGroups(reqs, 0, &group_of).empty());
  EXPECT_EQ(group_of, std::vector<int>({-1, -1}));
}

}  // namespace
}  // namespace gem
