// Copyright the gem authors. gem_method_calibration: is the `gem` search's reported confidence
// honest? (docs/GEM_METHOD.md, "Confidence")
//
// For each tree and budget N, runs R gem searches on the simulated population (fresh seed per
// repetition) and compares what the search said with what is true:
//   - mean reported P(best) vs the share of searches whose choice is truly best (no model has a
//     higher exhaustive accuracy; ties count as best);
//   - mean reported P(top 3) vs the share whose choice has at most two models strictly above it;
//   - the share of searches whose 95% interval contains the chosen model's exhaustive accuracy,
//     and the interval's mean width.
// Usage: gem_method_calibration [--method gem|gem_v1] [--agreement A] [--reps R]
//                                [--budgets 10,25,...] TREE.csv[@population_mean] ...
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "gem/population.h"
#include "gem/search.h"

int main(int argc, char** argv) {
  double agreement = gem::SimulationOptions().agreement;
  uint32_t reps = 100;
  std::string method = "gem";
  std::vector<uint32_t> budgets = {10, 25, 50, 100, 200};
  std::vector<std::string> trees;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--method" && i + 1 < argc) {
      method = argv[++i];
    } else if (a == "--agreement" && i + 1 < argc) {
      agreement = std::atof(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (a == "--budgets" && i + 1 < argc) {
      budgets.clear();
      std::stringstream ss(argv[++i]);
      std::string x;
      while (std::getline(ss, x, ','))
        budgets.push_back(static_cast<uint32_t>(std::atoi(x.c_str())));
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--method gem|gem_v1] [--agreement A] [--reps R] [--budgets LIST] "
          "TREE.csv[@mean] ...\n",
          argv[0]);
      return 0;
    } else {
      trees.push_back(a);
    }
  }
  if (trees.empty()) {
    std::fprintf(stderr, "gem_method_calibration: name at least one tree CSV (--help)\n");
    return 2;
  }
  std::printf("agreement %.2f, %u repetitions per cell, method %s\n\n", agreement, reps,
              method.c_str());
  std::printf(
      "| tree | N | truly best | mean P(best) | in top 3 | mean P(top 3) | CI covers | "
      "mean CI width | mean rank |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::string& arg : trees) {
    std::string path = arg;
    double mean = NAN;
    if (const size_t at = arg.rfind('@'); at != std::string::npos) {
      path = arg.substr(0, at);
      mean = std::atof(arg.substr(at + 1).c_str());
    }
    auto table = gem::LoadTreeCsv(path);
    if (!table.ok()) {
      std::fprintf(stderr, "%s\n", table.status().ToString().c_str());
      return 1;
    }
    gem::SimulationOptions so;
    so.agreement = agreement;
    so.population_mean = mean;
    auto pop = gem::SimulatePopulation(*table, so);
    if (!pop.ok()) {
      std::fprintf(stderr, "%s\n", pop.status().ToString().c_str());
      return 1;
    }
    const std::vector<double> ranks = gem::AverageRanks(pop->accuracy);
    for (uint32_t n : budgets) {
      double best = 0, pbest = 0, top3 = 0, ptop3 = 0, cover = 0, width = 0, rank = 0;
      for (uint32_t r = 0; r < reps; ++r) {
        gem::MatrixEvaluator ev(pop->matrix);
        gem::SearchOptions o;
        o.method = method;
        o.queries_per_model = n;
        o.seed = 0x9e3779b97f4a7c15ull * (r + 1) ^ n;
        gem::SearchResult res;
        const gem::Status s = gem::Search(o, &ev, &res);
        if (!s.ok()) {
          std::fprintf(stderr, "%s\n", s.ToString().c_str());
          return 1;
        }
        const double acc = pop->accuracy[res.chosen_model];
        uint32_t above = 0;
        for (double x : pop->accuracy) above += x > acc + 1e-12 ? 1 : 0;
        best += above == 0;
        top3 += above <= 2;
        pbest += res.p_best;
        ptop3 += res.p_top3;
        cover += res.ci_low <= acc + 1e-12 && acc <= res.ci_high + 1e-12;
        width += res.ci_high - res.ci_low;
        rank += ranks[res.chosen_model];
      }
      std::printf("| %s | %u | %.2f | %.2f | %.2f | %.2f | %.2f | %.3f | %.1f |\n",
                  pop->name.c_str(), n, best / reps, pbest / reps, top3 / reps, ptop3 / reps,
                  cover / reps, width / reps, rank / reps);
      std::fflush(stdout);
    }
  }
  return 0;
}
