// Copyright the gem authors. gem-replay: one cell's figures from its searches, over one or more
// simulated matrices (--matrix-seeds).
//
// Each matrix is a stratum with the same number of repetitions: the cell's mean is the mean over
// all searches, its standard error that of this mean with the matrices held fixed
// (sqrt(sum of within-matrix variances / R) / M), and the spread is the range of the per-matrix
// means (how much one matrix draw moves the figure: one draw is not a measurement).
//
// Thread-safety: a plain function.
#ifndef GEM_CLI_REPLAY_CELLS_H_
#define GEM_CLI_REPLAY_CELLS_H_

#include <cstdint>
#include <vector>

namespace gem::replay {

struct CellStats {
  double rank = 0, rank_se = 0, acc = 0, acc_se = 0;
  double spend = 0;                   // mean evaluations / (N K)
  double rank_min = 0, rank_max = 0;  // range of the per-matrix mean ranks
  uint32_t matrices = 0;
};

// values[i][r]: repetition r on matrix i (every matrix with the same number of repetitions).
CellStats Aggregate(const std::vector<std::vector<double>>& rank,
                    const std::vector<std::vector<double>>& acc,
                    const std::vector<std::vector<double>>& spend);

}  // namespace gem::replay

#endif  // GEM_CLI_REPLAY_CELLS_H_
