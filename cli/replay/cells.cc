// Copyright the gem authors.
#include "cells.h"

#include <algorithm>
#include <cmath>

namespace gem::replay {
namespace {

// Mean over all strata and the standard error of that mean with the strata fixed.
void Stratified(const std::vector<std::vector<double>>& v, double* mean, double* se) {
  double sum = 0, var_sum = 0;
  size_t n = 0;
  for (const std::vector<double>& s : v) {
    double m = 0;
    for (double x : s) m += x;
    m = s.empty() ? 0 : m / s.size();
    double ss = 0;
    for (double x : s) ss += (x - m) * (x - m);
    if (s.size() > 1) var_sum += ss / (s.size() - 1) / s.size();
    sum += m * s.size();
    n += s.size();
  }
  *mean = n == 0 ? NAN : sum / n;
  *se = v.empty() ? 0 : std::sqrt(var_sum) / v.size();
}

}  // namespace

CellStats Aggregate(const std::vector<std::vector<double>>& rank,
                    const std::vector<std::vector<double>>& acc,
                    const std::vector<std::vector<double>>& spend) {
  CellStats c;
  c.matrices = static_cast<uint32_t>(rank.size());
  Stratified(rank, &c.rank, &c.rank_se);
  Stratified(acc, &c.acc, &c.acc_se);
  double unused;
  Stratified(spend, &c.spend, &unused);
  c.rank_min = INFINITY;
  c.rank_max = -INFINITY;
  for (const std::vector<double>& s : rank) {
    double m = 0;
    for (double x : s) m += x;
    m = s.empty() ? NAN : m / s.size();
    c.rank_min = std::min(c.rank_min, m);
    c.rank_max = std::max(c.rank_max, m);
  }
  if (rank.empty()) c.rank_min = c.rank_max = NAN;
  return c;
}

}  // namespace gem::replay
