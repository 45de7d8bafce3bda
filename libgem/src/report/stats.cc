// Copyright the gem authors. What the report's figures compute (gem/report.h, docs/REPORT.md).
#include <algorithm>
#include <cmath>

#include "gem/report.h"

namespace gem::report {

double ModelPoint::accuracy() const {
  if (all_known && all_queries > 0) return double(all_correct) / all_queries;
  if (seen_queries > 0) return double(seen_correct) / seen_queries;
  return std::nan("");
}

int MostPopular(const ReportInput& in) {
  int best = -1;
  for (size_t i = 0; i < in.models.size(); ++i) {
    const double p = in.models[i].popularity;
    if (p >= 0 && (best < 0 || p > in.models[best].popularity)) best = static_cast<int>(i);
  }
  return best;
}

std::vector<uint32_t> HiddenGems(const ReportInput& in) {
  std::vector<uint32_t> gems;
  const int pop = MostPopular(in);
  if (pop < 0 || !in.models[pop].has_accuracy()) return gems;
  const double bar = in.models[pop].accuracy() + in.gem_margin;
  const double popularity = in.models[pop].popularity;
  for (size_t i = 0; i < in.models.size(); ++i) {
    const ModelPoint& m = in.models[i];
    if (static_cast<int>(i) == pop || !m.has_accuracy() || m.popularity < 0) continue;
    // An accuracy seen on part of the queries counts by its 95% lower bound: a few lucky
    // answers do not make a gem.
    const double evidence = m.all_known ? m.accuracy() : Wilson(m.seen_correct, m.seen_queries).low;
    if (m.popularity < popularity && evidence > bar) gems.push_back(static_cast<uint32_t>(i));
  }
  std::stable_sort(gems.begin(), gems.end(), [&](uint32_t a, uint32_t b) {
    return in.models[a].accuracy() > in.models[b].accuracy();
  });
  return gems;
}

Interval Wilson(uint32_t correct, uint32_t n) {
  if (n == 0) return {0, 1};
  const double z = 1.959963984540054, p = double(correct) / n;
  const double den = 1 + z * z / n;
  const double centre = (p + z * z / (2.0 * n)) / den;
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / den;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

int RoundLeader(const RoundPoint& r) {
  int best = -1;
  double best_mean = -1;
  for (size_t i = 0; i < r.survivors.size() && i < r.pulls.size() && i < r.wins.size(); ++i) {
    const double mean = r.pulls[i] ? double(r.wins[i]) / r.pulls[i] : 0;
    if (mean > best_mean) {
      best = static_cast<int>(i);
      best_mean = mean;
    }
  }
  return best;
}

double ProbabilityBest(const std::vector<uint32_t>& wins, const std::vector<uint32_t>& pulls,
                       size_t leader) {
  // Midpoint grid on (0, 1). Posteriors of up to a few thousand pulls are a few hundredths
  // wide, so 4,000 cells resolve them; the result is normalised per model, so grid error
  // cancels to first order.
  constexpr int kCells = 4000;
  const size_t k = wins.size();
  std::vector<double> log_x(kCells), log_1mx(kCells);
  for (int c = 0; c < kCells; ++c) {
    const double x = (c + 0.5) / kCells;
    log_x[c] = std::log(x);
    log_1mx[c] = std::log1p(-x);
  }
  // Density of the leader and, for each other model, its CDF on the grid; multiplied as we go.
  auto density = [&](size_t i, std::vector<double>* d) {
    const double a = wins[i], b = double(pulls[i]) - wins[i];
    double mx = -INFINITY;
    for (int c = 0; c < kCells; ++c) mx = std::max(mx, a * log_x[c] + b * log_1mx[c]);
    double sum = 0;
    for (int c = 0; c < kCells; ++c) sum += (*d)[c] = std::exp(a * log_x[c] + b * log_1mx[c] - mx);
    for (double& v : *d) v /= sum;
  };
  std::vector<double> lead(kCells), other(kCells), product(kCells, 1.0);
  density(leader, &lead);
  for (size_t j = 0; j < k; ++j) {
    if (j == leader) continue;
    density(j, &other);
    // P(X_j < x) at the middle of cell c: the mass below plus half the cell's own.
    double below = 0;
    for (int c = 0; c < kCells; ++c) {
      product[c] *= below + other[c] / 2;
      below += other[c];
    }
  }
  double p = 0;
  for (int c = 0; c < kCells; ++c) p += lead[c] * product[c];
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace gem::report
