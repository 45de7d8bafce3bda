// Copyright the gem authors. Agreement between models' answers, and tie-aware ranks.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "gem/population.h"

namespace gem {

AgreementStats MeasureAgreement(const ResponseMatrix& matrix, std::span<const uint32_t> models) {
  std::vector<uint32_t> all;
  if (models.empty()) {
    all.resize(matrix.num_models());
    std::iota(all.begin(), all.end(), 0u);
    models = all;
  }
  AgreementStats s;
  const double q = matrix.num_queries();
  if (q == 0) return s;
  std::vector<uint32_t> count(models.size());
  for (size_t i = 0; i < models.size(); ++i) count[i] = matrix.RowCount(models[i]);
  double agree = 0, indep = 0, nested = 0, phi = 0;
  uint32_t nested_pairs = 0, phi_pairs = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    for (size_t j = i + 1; j < models.size(); ++j) {
      const double both = matrix.BothCorrect(models[i], models[j]);
      const double ci = count[i], cj = count[j];
      const double pi = ci / q, pj = cj / q;
      agree += (q - ci - cj + 2 * both) / q;
      indep += pi * pj + (1 - pi) * (1 - pj);
      const double weaker = std::min(ci, cj);
      if (weaker > 0) {
        nested += both / weaker;
        ++nested_pairs;
      }
      const double var = pi * (1 - pi) * pj * (1 - pj);
      if (var > 0) {
        phi += (both / q - pi * pj) / std::sqrt(var);
        ++phi_pairs;
      }
      ++s.pairs;
    }
  }
  if (s.pairs == 0) return s;
  s.agreement = agree / s.pairs;
  s.agreement_independent = indep / s.pairs;
  s.disagreement = 1 - s.agreement;
  s.nestedness = nested_pairs ? nested / nested_pairs : 0;
  s.phi = phi_pairs ? phi / phi_pairs : 0;
  return s;
}

std::vector<double> AverageRanks(std::span<const double> accuracy) {
  const size_t n = accuracy.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return accuracy[a] > accuracy[b]; });
  std::vector<double> rank(n);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && std::abs(accuracy[order[j]] - accuracy[order[i]]) <= 1e-12) ++j;
    const double avg =
        (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // positions i+1..j
    for (size_t t = i; t < j; ++t) rank[order[t]] = avg;
    i = j;
  }
  return rank;
}

}  // namespace gem
