// Copyright the gem authors. The round schedules: the paper's Table 4 and Karnin et al.'s halving.
#include "gem/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gem {
namespace {

// Table 4 of the paper: cumulative queries per surviving model, rounds s1..s5, for N = 10, 25,
// 50, 100, 200. Survivors K, 100, 50, 25, 12; at K = 800 (400 fine-tunes + 400 adapters) these
// counts spend 99.0-99.6% of B = N K.
struct Table4Row {
  uint32_t n;
  uint32_t s[5];
};
constexpr Table4Row kTable4[] = {{10, {6, 16, 30, 60, 120}},
                                 {25, {15, 40, 75, 150, 300}},
                                 {50, {30, 75, 150, 300, 600}},
                                 {100, {60, 150, 300, 600, 1200}},
                                 {200, {120, 300, 600, 1200, 2400}}};

TEST(PaperSchedule, ReproducesTable4AtK800) {
  for (const Table4Row& row : kTable4) {
    const auto plan = PaperSchedule(800, row.n, 2500);
    ASSERT_EQ(plan.size(), 5u) << "N=" << row.n;
    const uint32_t survivors[5] = {800, 100, 50, 25, 12};
    for (int r = 0; r < 5; ++r) {
      EXPECT_EQ(plan[r].survivors, survivors[r]) << "N=" << row.n << " round " << r + 1;
      // Our rule (docs/SEARCH.md) spends the budget exactly where Table 4 leaves 0.4-1% unspent,
      // so later rounds run up to 2.5% above the table; the only larger gap is Table 4's s2 at
      // N = 10 and 25 (16, 40), which no doubling rule gives (15, 38 here).
      const double tol = (r == 1 && row.n <= 25) ? 0.07 : 0.045;
      EXPECT_NEAR(plan[r].cumulative, row.s[r], tol * row.s[r])
          << "N=" << row.n << " round " << r + 1;
    }
    EXPECT_EQ(plan[0].cumulative, row.s[0]) << "round 1 is exactly 60% of B";
    EXPECT_EQ(uint64_t{plan[0].survivors} * plan[0].new_queries, 800ull * row.n * 6 / 10);
    // From round 3 on the cumulative counts double, as the paper says and Table 4 shows.
    for (int r = 3; r < 5; ++r) {
      // (the last round also takes the rounding leftovers: at most 12 queries per finalist here)
      EXPECT_NEAR(plan[r].cumulative, 2.0 * plan[r - 1].cumulative, r == 4 ? 12.0 : 2.0)
          << "N=" << row.n;
    }
    const uint64_t budget = 800ull * row.n;
    EXPECT_LE(ScheduleCost(plan), budget);
    EXPECT_GE(ScheduleCost(plan), budget - 12) << "leftovers go to the last round";
  }
}

TEST(PaperSchedule, FitsTheBudgetForAnyTree) {
  for (uint32_t k : {1u, 2u, 3u, 5u, 10u, 64u, 101u, 199u, 246u, 450u, 800u, 3000u}) {
    for (uint32_t n : {1u, 2u, 5u, 10u, 25u, 50u, 200u, 1000u}) {
      const auto plan = PaperSchedule(k, n, 2500);
      ASSERT_FALSE(plan.empty());
      EXPECT_LE(ScheduleCost(plan), uint64_t{k} * n) << "K=" << k << " N=" << n;
      EXPECT_EQ(plan[0].survivors, k);
      EXPECT_LE(plan.size(), 5u);
      for (size_t r = 0; r < plan.size(); ++r) {
        EXPECT_LE(plan[r].cumulative, 2500u);
        if (r > 0) {
          EXPECT_LT(plan[r].survivors, plan[r - 1].survivors) << "K=" << k << " N=" << n;
          EXPECT_GE(plan[r].survivors, 2u);
          EXPECT_EQ(plan[r].cumulative, plan[r - 1].cumulative + plan[r].new_queries);
        }
      }
      if (k > 200) {
        EXPECT_EQ(plan[1].survivors, 100u) << "the first cut keeps 100";
      }
      // Unless queries run out, the budget is spent to within one query per finalist.
      if (uint64_t{n} * 20 <= 2500) {
        EXPECT_GE(ScheduleCost(plan) + plan.back().survivors, uint64_t{k} * n)
            << "K=" << k << " N=" << n;
      }
    }
  }
  EXPECT_TRUE(PaperSchedule(0, 10).empty());
  EXPECT_TRUE(PaperSchedule(10, 0).empty());
}

TEST(PaperTable4Schedule, IsTable4AsPrinted) {
  for (const Table4Row& row : kTable4) {
    for (uint32_t k : {800u, 450u, 246u}) {
      const auto plan = PaperTable4Schedule(k, row.n, 2500);
      ASSERT_EQ(plan.size(), 5u);
      const uint32_t survivors[5] = {k, 100, 50, 25, 12};
      for (int r = 0; r < 5; ++r) {
        EXPECT_EQ(plan[r].survivors, survivors[r]);
        EXPECT_EQ(plan[r].cumulative, row.s[r]) << "N=" << row.n << " round " << r + 1;
      }
    }
  }
  // Its cost is 0.6 N K + about 312 N whatever K is: B = N K only at K of about 780. The shipped
  // trees overspend (issue 15: 1.29-1.30x on qwen2.5_3b, 1.87-1.89x on mistral_7b).
  for (uint32_t n : {10u, 25u, 50u, 100u, 200u}) {
    const double qwen = static_cast<double>(ScheduleCost(PaperTable4Schedule(450, n))) / (450 * n);
    const double mistral =
        static_cast<double>(ScheduleCost(PaperTable4Schedule(246, n))) / (246 * n);
    EXPECT_GE(qwen, 1.29) << n;
    EXPECT_LE(qwen, 1.305) << n;
    EXPECT_GE(mistral, 1.865) << n;
    EXPECT_LE(mistral, 1.89) << n;
    const double k800 = static_cast<double>(ScheduleCost(PaperTable4Schedule(800, n))) / (800 * n);
    EXPECT_NEAR(k800, 1.0, 0.011) << n;  // 99.0-99.6% of B
  }
}

TEST(PaperTable4Schedule, SmallTreesAndShortTasksAndOtherBudgets) {
  // A tree smaller than the fixed cut keeps everyone until the table's counts cut below it.
  const auto small = PaperTable4Schedule(60, 50, 2500);
  ASSERT_EQ(small.size(), 5u);
  const uint32_t survivors[5] = {60, 60, 50, 25, 12};
  for (int r = 0; r < 5; ++r) EXPECT_EQ(small[r].survivors, survivors[r]);
  // A task with fewer queries than the table asks for: counts stop at Q.
  const auto short_task = PaperTable4Schedule(450, 200, 1000);
  ASSERT_EQ(short_task.size(), 5u);
  EXPECT_EQ(short_task[2].cumulative, 600u);
  EXPECT_EQ(short_task[3].cumulative, 1000u);
  EXPECT_EQ(short_task[3].new_queries, 400u);
  EXPECT_EQ(short_task[4].cumulative, 1000u);
  EXPECT_EQ(short_task[4].new_queries, 0u);
  // No row, no schedule.
  EXPECT_TRUE(PaperTable4Schedule(450, 30).empty());
  EXPECT_TRUE(PaperTable4Schedule(0, 50).empty());
}

TEST(HalvingSchedule, FollowsKarninEtAl) {
  // K = 450: ceil(log2 450) = 9 rounds, survivors 450, 225, 113, ..., 2.
  const auto plan = HalvingSchedule(450, 10, 2500);
  ASSERT_EQ(plan.size(), 9u);
  const uint32_t s[9] = {450, 225, 113, 57, 29, 15, 8, 4, 2};
  for (int r = 0; r < 9; ++r) EXPECT_EQ(plan[r].survivors, s[r]);
  EXPECT_EQ(plan[0].new_queries, 4500u / (450 * 9));  // floor(B / (K ceil(log2 K))) = 1
  EXPECT_LE(ScheduleCost(plan), 4500u);
  EXPECT_GE(ScheduleCost(plan), 4500u - 2 * 9);
  for (uint32_t k : {1u, 2u, 3u, 17u, 246u, 1024u}) {
    for (uint32_t n : {1u, 10u, 200u}) {
      const auto p = HalvingSchedule(k, n, 2500);
      EXPECT_LE(ScheduleCost(p), uint64_t{k} * n);
      EXPECT_EQ(p.size(), k == 1 ? 1u : static_cast<size_t>(std::ceil(std::log2(k))));
    }
  }
}

}  // namespace
}  // namespace gem
