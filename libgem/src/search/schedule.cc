// Copyright the gem authors. Round schedules (gem/schedule.h; derivation in docs/SEARCH.md).
#include "gem/schedule.h"

#include <algorithm>
#include <cmath>

namespace gem {
namespace {

// The paper's first cut keeps a fixed number of models (Appendix C: "just 100 models").
constexpr uint32_t kPaperFirstCut = 100;
// Table 4 has five rounds: K, 100, 50, 25, 12 survivors.
constexpr size_t kPaperRounds = 5;
// Round 1 takes 60% of the budget (Appendix C).
constexpr double kPaperFirstShare = 0.6;

uint64_t Cost(uint32_t k, uint32_t c1, const std::vector<uint32_t>& survivors,
              const std::vector<uint32_t>& cum) {
  uint64_t cost = uint64_t{k} * c1;
  for (size_t r = 1; r < survivors.size(); ++r)
    cost += uint64_t{survivors[r]} * (cum[r] - cum[r - 1]);
  return cost;
}

// Cumulative targets for rounds 2.. given the level x: floor(x 2^(r-2)), non-decreasing, <= cap.
void Targets(double x, uint32_t c1, uint32_t cap, size_t rounds, std::vector<uint32_t>* cum) {
  cum->assign(rounds, c1);
  for (size_t r = 1; r < rounds; ++r) {
    const double want = std::floor(x * std::ldexp(1.0, static_cast<int>(r) - 1));
    const double clipped = std::min<double>(cap, std::max<double>((*cum)[r - 1], want));
    (*cum)[r] = static_cast<uint32_t>(clipped);
  }
}

}  // namespace

std::vector<RoundPlan> PaperSchedule(uint32_t k, uint32_t n, uint32_t num_queries) {
  std::vector<RoundPlan> plan;
  if (k == 0 || n == 0 || num_queries == 0) return plan;
  const uint64_t budget = uint64_t{n} * k;
  const uint32_t c1 = std::min<uint32_t>(
      num_queries, std::max<uint32_t>(1, static_cast<uint32_t>(std::floor(kPaperFirstShare * n))));

  std::vector<uint32_t> survivors{k};
  for (uint32_t s = std::min(kPaperFirstCut, (k + 1) / 2);
       survivors.size() < kPaperRounds && s >= 2 && s < survivors.back(); s /= 2) {
    survivors.push_back(s);
  }
  const size_t rounds = survivors.size();
  std::vector<uint32_t> cum;
  Targets(0, c1, num_queries, rounds, &cum);
  if (rounds > 1) {
    // The largest doubling level that fits the budget (cost is non-decreasing in x).
    double lo = 0, hi = num_queries;
    for (int it = 0; it < 100; ++it) {
      const double mid = (lo + hi) / 2;
      Targets(mid, c1, num_queries, rounds, &cum);
      (Cost(k, c1, survivors, cum) <= budget ? lo : hi) = mid;
    }
    Targets(lo, c1, num_queries, rounds, &cum);
  }
  // Rounding leftovers: to the last round's survivors, where the closest calls are made.
  const uint64_t left = budget - Cost(k, c1, survivors, cum);
  const uint32_t extra =
      static_cast<uint32_t>(std::min<uint64_t>(left / survivors.back(), num_queries - cum.back()));
  cum.back() += extra;

  for (size_t r = 0; r < rounds; ++r) {
    RoundPlan p;
    p.survivors = survivors[r];
    p.cumulative = cum[r];
    p.new_queries = cum[r] - (r == 0 ? 0 : cum[r - 1]);
    plan.push_back(p);
  }
  return plan;
}

std::vector<RoundPlan> HalvingSchedule(uint32_t k, uint32_t n, uint32_t num_queries) {
  std::vector<RoundPlan> plan;
  if (k == 0 || n == 0 || num_queries == 0) return plan;
  uint32_t rounds = 0;
  while ((uint64_t{1} << rounds) < k) ++rounds;  // ceil(log2 K)
  rounds = std::max<uint32_t>(rounds, 1);
  uint64_t left = uint64_t{n} * k;
  uint32_t s = k, cum = 0;
  for (uint32_t r = 0; r < rounds && s >= 1; ++r) {
    const uint64_t t = left / (uint64_t{s} * (rounds - r));
    const uint32_t add = static_cast<uint32_t>(std::min<uint64_t>(t, num_queries - cum));
    cum += add;
    left -= uint64_t{add} * s;
    plan.push_back({s, add, cum});
    s = (s + 1) / 2;
  }
  return plan;
}

std::vector<RoundPlan> PaperTable4Schedule(uint32_t k, uint32_t n, uint32_t num_queries) {
  // The paper's Appendix C, Table 4: cumulative queries per model in rounds s1..s5.
  static constexpr struct {
    uint32_t n, cum[5];
  } kTable4[] = {{10, {6, 16, 30, 60, 120}},
                 {25, {15, 40, 75, 150, 300}},
                 {50, {30, 75, 150, 300, 600}},
                 {100, {60, 150, 300, 600, 1200}},
                 {200, {120, 300, 600, 1200, 2400}}};
  static constexpr uint32_t kSurvivors[5] = {0, 100, 50, 25, 12};  // 0: all K
  std::vector<RoundPlan> plan;
  if (k == 0 || num_queries == 0) return plan;
  for (const auto& row : kTable4) {
    if (row.n != n) continue;
    uint32_t prev_cum = 0, prev_s = k;
    for (size_t r = 0; r < 5; ++r) {
      RoundPlan p;
      p.survivors = r == 0 ? k : std::min(kSurvivors[r], prev_s);
      p.cumulative = std::max(prev_cum, std::min(row.cum[r], num_queries));
      p.new_queries = p.cumulative - prev_cum;
      plan.push_back(p);
      prev_cum = p.cumulative;
      prev_s = p.survivors;
    }
  }
  return plan;
}

uint64_t ScheduleCost(const std::vector<RoundPlan>& plan) {
  uint64_t c = 0;
  for (const RoundPlan& p : plan) c += uint64_t{p.survivors} * p.new_queries;
  return c;
}

}  // namespace gem
