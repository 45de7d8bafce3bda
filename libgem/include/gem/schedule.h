// Copyright the gem authors. Round schedules of the elimination searches, as plain data.
//
// A schedule says, for each round, how many models take part and how many queries each of them
// has answered once the round is over. Searches execute these plans; tests and docs check them
// against the papers (Table 4 of the hidden-gems paper; Karnin et al. 2013 for halving).
// docs/SEARCH.md derives both and says how they generalise to any number of models K and any
// average budget N.
//
// Thread-safety: pure functions.
#ifndef GEM_SCHEDULE_H_
#define GEM_SCHEDULE_H_

#include <cstdint>
#include <limits>
#include <vector>

namespace gem {

struct RoundPlan {
  uint32_t survivors = 0;    // models evaluated in this round
  uint32_t new_queries = 0;  // queries each of them answers in this round
  uint32_t cumulative = 0;   // queries each of them has answered after the round
};

// The hidden-gems paper's aggressive schedule, generalised (docs/SEARCH.md, "The paper's
// schedule"): round 1 gives every model floor(0.6 N) queries (60% of B = N K); the survivors
// are then min(100, ceil(K / 2)), halved (rounded down) each round, for at most 5 rounds and
// never a round of one model; after round 2 the cumulative queries per survivor double each
// round (the paper: "we then double the amount of queries per-model at each round"), at the
// largest level the budget allows; what rounding leaves goes to the last round's survivors.
// Cumulative counts never exceed `num_queries` (a model never repeats a query).
// Spends at most B = N K. Empty when K == 0 or N == 0; a single round for K == 1.
std::vector<RoundPlan> PaperSchedule(uint32_t num_models, uint32_t queries_per_model,
                                     uint32_t num_queries = std::numeric_limits<uint32_t>::max());

// Sequential Halving (Karnin, Koren, Somekh 2013): ceil(log2 K) rounds, survivors halved
// (rounded up) each round, round r giving each survivor floor(B_left / (|S_r| * rounds_left))
// new queries, where B_left is the budget not yet spent (so rounding leftovers roll forward
// instead of being lost). Cumulative counts are capped at `num_queries`.
std::vector<RoundPlan> HalvingSchedule(uint32_t num_models, uint32_t queries_per_model,
                                       uint32_t num_queries = std::numeric_limits<uint32_t>::max());

// Table 4 of the hidden-gems paper applied as printed (replay only, gem-replay's `paper_table4`):
// cumulative queries per surviving model s1..s5 for N = 10, 25, 50, 100, 200, with survivors
// K, 100, 50, 25, 12 (each at most the previous round's: a tree of 60 models keeps 60, 60, 50,
// 25, 12). Counts are capped at `num_queries`. Its cost is 0.6 N K + 312 N for K >= 100, which
// is B = N K only at K = 780: smaller trees overspend (docs/CALIBRATION.md). Empty when N is not
// one of the table's budgets or K == 0.
std::vector<RoundPlan> PaperTable4Schedule(
    uint32_t num_models, uint32_t queries_per_model,
    uint32_t num_queries = std::numeric_limits<uint32_t>::max());

// Total evaluations a schedule spends.
uint64_t ScheduleCost(const std::vector<RoundPlan>& plan);

}  // namespace gem

#endif  // GEM_SCHEDULE_H_
