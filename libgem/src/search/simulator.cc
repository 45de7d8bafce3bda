// Copyright the gem authors. The population simulator (docs/SEARCH.md, "Population simulator").
//
// Why rank-based selection rather than Bernoulli draws: drawing each cell from its probability
// would make row means wander by about sqrt(a (1 - a) / Q) (0.9 points at Q = 2,500), which is
// larger than the gaps between the top models of a tree; picking exactly round(a Q) queries
// keeps every model's exhaustive accuracy equal to the table's, so ranks stay the paper's.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "gem/population.h"
#include "search/rng.h"

namespace gem {

using search_internal::DeriveSeed;
using search_internal::Rng;

Result<std::vector<double>> ImputeClipped(const TreeTable& tree, double population_mean) {
  std::vector<double> out = tree.accuracy;
  if (std::isnan(population_mean)) return out;
  if (!(population_mean >= 0 && population_mean <= 1)) {
    return Status::InvalidArgument(
        tree.name, "population mean " + std::to_string(population_mean) + " is outside [0, 1]");
  }
  std::vector<size_t> clipped;
  double bound_sum = 0, free_sum = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i < tree.clipped.size() && tree.clipped[i]) {
      clipped.push_back(i);
      bound_sum += out[i];
    } else {
      free_sum += out[i];
    }
  }
  const double k = static_cast<double>(out.size());
  const double shown_mean = (bound_sum + free_sum) / k;
  // Rows without a clipped flag are exact, so only the clipped ones can move, and only down.
  const double target_sum = population_mean * k - free_sum;
  if (target_sum > bound_sum + 1e-9 * k) {
    return Status::InvalidArgument(
        tree.name, "population mean " + std::to_string(population_mean) +
                       " is above the table's mean " + std::to_string(shown_mean) +
                       " with every clipped value at its bound: clipped values can only go down");
  }
  if (clipped.empty()) {
    if (std::abs(target_sum - bound_sum) > 1e-3 * k) {
      return Status::InvalidArgument(
          tree.name, "population mean " + std::to_string(population_mean) +
                         " differs from the table's mean " + std::to_string(shown_mean) +
                         " and no value is clipped");
    }
    return out;
  }
  if (target_sum < 0) {
    return Status::InvalidArgument(tree.name,
                                   "population mean " + std::to_string(population_mean) +
                                       " would need negative accuracies for the clipped models");
  }
  const double n = static_cast<double>(clipped.size());
  // Spread the clipped values evenly (uniform quantiles, in file order) from their bound down,
  // with the width that makes the sum right: value_j = bound_j - 2 delta u_j, mean shift delta.
  const double delta = (bound_sum - target_sum) / n;
  bool feasible = true;
  for (size_t j = 0; j < clipped.size(); ++j) {
    const double u = (static_cast<double>(j) + 0.5) / n;
    feasible &= out[clipped[j]] - 2 * delta * u >= 0;
  }
  if (feasible) {
    for (size_t j = 0; j < clipped.size(); ++j) {
      const double u = (static_cast<double>(j) + 0.5) / n;
      out[clipped[j]] -= 2 * delta * u;
    }
    return out;
  }
  // Too low a mean for an even spread above 0: a share f of the clipped models at 0 and the rest
  // evenly between 0 and their bound, f chosen for the sum (exact when the bounds are equal, then
  // rescaled so it is exact in general).
  const double ratio = target_sum / bound_sum;  // < 1/2 here
  const double f = std::clamp(1 - 2 * ratio, 0.0, 1.0);
  double sum = 0;
  for (size_t j = 0; j < clipped.size(); ++j) {
    const double u = (static_cast<double>(j) + 0.5) / n;
    const double h = u < f ? 0.0 : (u - f) / (1 - f);
    out[clipped[j]] *= 1 - h;
    sum += out[clipped[j]];
  }
  if (sum > 0) {
    for (size_t i : clipped) out[i] = std::min(tree.accuracy[i], out[i] * target_sum / sum);
  }
  return out;
}

Result<Population> SimulatePopulation(const TreeTable& tree, const SimulationOptions& options) {
  if (tree.size() == 0) return Status::InvalidArgument(tree.name, "empty tree");
  if (options.num_queries == 0)
    return Status::InvalidArgument(tree.name, "num_queries must be > 0");
  if (!(options.agreement >= 0 && options.agreement <= 1)) {
    return Status::InvalidArgument(
        tree.name, "agreement " + std::to_string(options.agreement) + " is outside [0, 1]");
  }
  // Checked before anything is allocated: the matrix is models x queries bits, and each query
  // costs ~20 bytes of working memory.
  if (options.num_queries > kMaxSimulatedQueries) {
    return Status::InvalidArgument(tree.name, "num_queries " + std::to_string(options.num_queries) +
                                                  " exceeds the limit of " +
                                                  std::to_string(kMaxSimulatedQueries));
  }
  if (uint64_t{tree.size()} * options.num_queries > kMaxSimulatedCells) {
    return Status::InvalidArgument(
        tree.name, std::to_string(tree.size()) + " models x " +
                       std::to_string(options.num_queries) + " queries exceeds the limit of " +
                       std::to_string(kMaxSimulatedCells) + " simulated answers");
  }
  auto target = ImputeClipped(tree, options.population_mean);
  if (!target.ok()) return target.status();

  const uint32_t q_count = options.num_queries;
  const uint32_t k = tree.size();
  std::vector<double> easiness(q_count);
  Rng shared(DeriveSeed(options.seed, 1));
  for (auto& z : easiness) z = shared.Normal();

  const double a = std::sqrt(options.agreement), b = std::sqrt(1 - options.agreement);
  auto matrix = std::make_shared<ResponseMatrix>(k, q_count);
  std::vector<double> score(q_count);
  std::vector<uint32_t> order(q_count);
  for (uint32_t m = 0; m < k; ++m) {
    Rng own(DeriveSeed(options.seed, 1000 + uint64_t{m}));
    for (uint32_t q = 0; q < q_count; ++q) score[q] = a * easiness[q] + b * own.Normal();
    const uint32_t correct = static_cast<uint32_t>(
        std::clamp(std::llround((*target)[m] * q_count), 0LL, static_cast<long long>(q_count)));
    std::iota(order.begin(), order.end(), 0u);
    auto higher = [&](uint32_t x, uint32_t y) {
      return score[x] != score[y] ? score[x] > score[y] : x < y;
    };
    if (correct > 0 && correct < q_count) {
      std::nth_element(order.begin(), order.begin() + correct, order.end(), higher);
    }
    for (uint32_t i = 0; i < correct; ++i) matrix->Set(m, order[i], true);
  }

  Population p;
  p.name = tree.name;
  p.metric = tree.metric;
  p.model_ids = tree.model_ids;
  p.popularity = tree.popularity;
  p.target_accuracy = std::move(*target);
  for (uint32_t m = 0; m < k; ++m) p.accuracy.push_back(matrix->RowMean(m));
  p.matrix = std::move(matrix);
  return p;
}

}  // namespace gem
