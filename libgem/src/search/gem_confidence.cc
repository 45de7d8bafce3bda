// Copyright the gem authors. gem: how sure is the choice? (docs/GEM_METHOD.md, "Confidence")
//
// Estimate and interval. The chosen model's accuracy is estimated by its mean over the queries it
// answered; the 95% interval is Wilson's, with the finite-population correction: the task has Q
// queries and "accuracy" means accuracy on them, so the variance of a mean over n of them is
// p (1 - p) / n * (1 - n / Q) (a model that answered every query is known exactly). Wilson is
// applied with the effective count n / (1 - n / Q).
//
// P(best), P(top 3). Under correlated sampling every model answered a prefix of one shared query
// sequence, and the chosen model (a finalist) answered all of it, so every model m can be
// compared with the chosen model c on exactly the queries both answered: the paired difference
// d_m = mean over m's prefix of (x_m - x_c). Only discordant queries move it, which is why
// paired comparisons are so much sharper than comparing two means when answers are near-nested.
// The uncertainty of all the d_m together comes from a Bayesian bootstrap over the shared queries
// (Dirichlet(1, ..., 1) weights, drawn as normalised Exp(1) variables): one weight vector per
// draw is shared by every comparison, so the correlation between comparisons (they all involve
// c and the same queries) is kept. Two refinements keep it honest where a plain bootstrap is
// overconfident:
//   - a prior pseudo-observation per comparison on each side (one query where m is right and c
//     wrong, one the other way, each with its own Exp(1) weight): without it two models that
//     agreed on all of a few queries would look exactly tied forever, and with it a model
//     eliminated after 4 queries keeps a real chance of being better;
//   - the finite-population correction: the spread of each draw around d_m is scaled by
//     sqrt(1 - n_m / Q), so queries not yet seen are what is uncertain.
// In a draw, a model beats c when its d_m > 0 (an exact tie does not beat). P(best) is the share
// of draws where none beats c, P(top 3) where at most two do. Eliminated models take part with
// their (short) prefixes; models whose deficit is more than 6 standard errors are left out of the
// draws (they would never beat c), which keeps this cheap.
#include <algorithm>
#include <cmath>
#include <limits>

#include "search/gem.h"
#include "search/rng.h"

namespace gem::search_internal {
namespace {

struct Contender {
  uint32_t n = 0;             // prefix length shared with the chosen model
  double d_obs = 0;           // observed paired difference (x_m - x_c) over the prefix
  double spread = 1;          // sqrt(1 - n / Q): finite-population correction
  double se2 = 0;             // variance of d_obs (paired, finite-population corrected)
  double lambda = 1;          // weight of the data against the population prior
  std::vector<uint32_t> pos;  // discordant positions
  std::vector<int8_t> sign;   // +1: m right and c wrong; -1: the other way
};

void Wilson(double wins, double n, double fpc, GemConfidence* c) {
  constexpr double z = 1.959963984540054;
  const double p = wins / n;
  c->estimate = p;
  if (fpc <= 0) {
    c->ci_low = c->ci_high = p;
    return;
  }
  const double ne = n / fpc;
  const double denom = 1 + z * z / ne;
  const double centre = (p + z * z / (2 * ne)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / ne + z * z / (4 * ne * ne)) / denom;
  c->ci_low = std::clamp(centre - half, 0.0, p);
  c->ci_high = std::clamp(centre + half, p, 1.0);
}

}  // namespace

GemConfidence EstimateConfidence(const GemAnswers& a, uint32_t chosen, uint32_t num_queries,
                                 uint32_t draws, uint64_t seed) {
  GemConfidence out;
  const std::vector<uint8_t>& xc = a.answers[chosen];
  const uint32_t len = static_cast<uint32_t>(xc.size());
  const double q = std::max<double>(num_queries, len);
  if (len == 0) {
    out.estimate = std::numeric_limits<double>::quiet_NaN();
    out.ci_low = 0;
    out.ci_high = 1;
  } else {
    double wins = 0;
    for (uint8_t x : xc) wins += x;
    Wilson(wins, len, 1 - len / q, &out);
  }

  // Every other model's paired difference to the chosen one, with its sampling variance.
  std::vector<Contender> all;
  for (uint32_t m = 0; m < a.answers.size(); ++m) {
    if (m == chosen) continue;
    const std::vector<uint8_t>& xm = a.answers[m];
    Contender c;
    c.n = static_cast<uint32_t>(std::min<size_t>(xm.size(), len));
    int64_t delta = 0;
    for (uint32_t i = 0; i < c.n; ++i) {
      if (xm[i] != xc[i]) {
        c.pos.push_back(i);
        c.sign.push_back(xm[i] ? 1 : -1);
        delta += xm[i] ? 1 : -1;
      }
    }
    c.d_obs = c.n > 0 ? static_cast<double>(delta) / c.n : 0.0;
    c.spread = std::sqrt(std::max(0.0, 1 - c.n / q));
    // Per-query variance of (x_m - x_c), with one pseudo-discordance each way so that a pair
    // that never disagreed on a few queries is not taken as exactly tied.
    const double disc = (static_cast<double>(c.pos.size()) + 2) / (c.n + 2);
    c.se2 = std::max(0.0, disc - c.d_obs * c.d_obs) / (c.n + 2) * c.spread * c.spread;
    all.push_back(std::move(c));
  }
  // The population prior (empirical Bayes, method of moments): true differences to the chosen
  // model are spread around mu with variance tau2 = var(d_obs) - mean(se2). A model seen on only
  // a few queries is pulled towards it, so hundreds of briefly seen models do not each keep a
  // large chance of being better than a finalist.
  double mu = 0, var = 0, noise = 0;
  for (const Contender& c : all) mu += c.d_obs;
  if (!all.empty()) mu /= all.size();
  for (const Contender& c : all) {
    var += (c.d_obs - mu) * (c.d_obs - mu);
    // The moment fit uses the plain sampling variance (no pseudo-counts, which would overstate
    // the noise of short prefixes and leave no room for a real spread).
    if (c.n > 0) {
      const double rate = static_cast<double>(c.pos.size()) / c.n;
      noise += std::max(0.0, rate - c.d_obs * c.d_obs) / c.n * c.spread * c.spread;
    }
  }
  const double tau2 = all.size() > 1 ? std::max(1e-6, var / all.size() - noise / all.size()) : 1.0;
  std::vector<Contender> contenders;
  for (Contender& c : all) {
    c.lambda = c.se2 > 0 ? tau2 / (tau2 + c.se2) : 1.0;
    const double post_mean = c.lambda * c.d_obs + (1 - c.lambda) * mu;
    const double post_sd = std::sqrt(c.lambda * c.se2);
    if (post_mean + 6 * post_sd < 0) continue;  // never beats the chosen model in any draw
    contenders.push_back(std::move(c));
  }
  if (contenders.empty() || draws == 0) {
    out.p_best = contenders.empty() ? 1.0 : std::numeric_limits<double>::quiet_NaN();
    out.p_top3 = contenders.size() <= 2 ? 1.0 : out.p_best;
    return out;
  }

  Rng rng(seed);
  std::vector<double> prefix(len + 1, 0.0);
  uint32_t best = 0, top3 = 0;
  for (uint32_t d = 0; d < draws; ++d) {
    for (uint32_t i = 0; i < len; ++i) prefix[i + 1] = prefix[i] - std::log(rng.UniformOpen());
    uint32_t beaten = 0;
    for (const Contender& c : contenders) {
      double s = 0;
      for (size_t j = 0; j < c.pos.size(); ++j)
        s += c.sign[j] * (prefix[c.pos[j] + 1] - prefix[c.pos[j]]);
      const double g1 = -std::log(rng.UniformOpen()), g2 = -std::log(rng.UniformOpen());
      const double boot = (s + g1 - g2) / (prefix[c.n] + g1 + g2);
      const double data = c.d_obs + c.spread * (boot - c.d_obs);
      // Normal-normal posterior draw: the bootstrap draw shrunk towards the prior, plus the
      // prior's share of the spread.
      const double diff = c.lambda * data + (1 - c.lambda) * mu +
                          std::sqrt(c.lambda * (1 - c.lambda) * c.se2) * rng.Normal();
      if (diff > 0) ++beaten;
    }
    best += beaten == 0 ? 1 : 0;
    top3 += beaten <= 2 ? 1 : 0;
  }
  out.p_best = static_cast<double>(best) / draws;
  out.p_top3 = static_cast<double>(top3) / draws;
  return out;
}

}  // namespace gem::search_internal
