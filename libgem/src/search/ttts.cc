// Copyright the gem authors. ttts: Top-Two Thompson Sampling (Russo 2016), Beta-Bernoulli.
//
// Prior Beta(1, 1) per model (uniform: nothing known about a model before it answers).
// Each pull: draw a posterior sample for every candidate, I = argmax; with probability
// beta = 1/2 (Russo's default) pull I, else redraw until the argmax J differs from I and pull J.
// Choices the paper leaves open, made for speed (docs/SEARCH.md, "ttts"):
//  - One redraw, not "until the argmax differs": when the redraw's argmax is I again, J is the
//    best arm other than I in that redraw. Russo's J is the argmax of a draw conditioned on it
//    not being I; ours is close to it and costs at most two draws per pull, where redrawing
//    until J != I costs 1 / (1 - P(I is best)) draws, thousands once the posterior is sure.
//  - A draw only samples the arms that can win it. Arms are kept sorted by an upper bound u_m
//    of their posterior (mean + 4.75 sd + 1 / (n + 2), about the 1 - 1e-6 quantile); a draw
//    samples them in that order and stops at the first arm whose bound is below the best value
//    drawn so far. Arms pulled since the last sort (every 64 pulls) are always sampled, since
//    their bound may have moved. An arm skipped this way wins the draw with probability of the
//    order 1e-6.
//  - A pull samples hundreds of arms, so a draw must cost nanoseconds. While alpha + beta <= 12
//    (ten answers or fewer) draws come from a table of 1,024 quantiles of that exact Beta
//    (integer parameters: its CDF is a binomial tail); beyond, from the normal with the Beta's
//    mean and variance, the standard normal from a table of 2^14 quantiles (to 4.0 sd). Small
//    tables (64 KiB, 4 KiB per Beta) stay in cache: a quarter less time than 2^16 and 4,096.
// Recommends the arm of largest posterior mean (ties at random).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/search_internal.h"

namespace gem::search_internal {
namespace {

constexpr double kTopProbability = 0.5;
constexpr double kBoundSd = 4.75;
constexpr uint32_t kRefreshPulls = 64;
constexpr double kNormalAbove = 12;

// Quantiles of the standard normal at (i + 0.5) / 2^14, by Newton on erfc.
constexpr int kNormalBits = 14;
const std::vector<float>& NormalTable() {
  static const std::vector<float> table = [] {
    std::vector<float> t(1 << kNormalBits);
    for (size_t i = 0; i < t.size(); ++i) {
      const double p = (static_cast<double>(i) + 0.5) / t.size();
      double x = 0;
      for (int it = 0; it < 60; ++it) {
        const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
        const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
        const double step = (cdf - p) / std::max(pdf, 1e-300);
        x -= std::clamp(step, -1.0, 1.0);
        if (std::abs(step) < 1e-13) break;
      }
      t[i] = x;
    }
    return t;
  }();
  return table;
}

// Quantiles at (i + 0.5) / 4096 of Beta(a, b) for integers a, b >= 1, a + b <= kNormalAbove.
// For integer parameters P(X <= x) = P(Binomial(a + b - 1, x) >= a).
constexpr int kBetaSteps = 1024;
const std::vector<float>& BetaTable() {
  static const std::vector<float> table = [] {
    const int top = static_cast<int>(kNormalAbove);
    std::vector<float> t(static_cast<size_t>(top + 1) * (top + 1) * kBetaSteps, 0.f);
    constexpr int kGrid = 1 << 16;
    for (int a = 1; a < top; ++a) {
      for (int b = 1; a + b <= top; ++b) {
        const int n = a + b - 1;
        auto cdf = [&](double x) {
          double sum = 0, c = 1;  // c = C(n, j)
          for (int j = 0; j <= n; ++j) {
            if (j >= a) sum += c * std::pow(x, j) * std::pow(1 - x, n - j);
            c = c * (n - j) / (j + 1);
          }
          return sum;
        };
        float* row = &t[(static_cast<size_t>(a) * (top + 1) + b) * kBetaSteps];
        int i = 0;
        for (int g = 1; g <= kGrid && i < kBetaSteps; ++g) {
          const double x = static_cast<double>(g) / kGrid, c = cdf(x);
          while (i < kBetaSteps && (i + 0.5) / kBetaSteps <= c) row[i++] = static_cast<float>(x);
        }
        while (i < kBetaSteps) row[i++] = 1.f;
      }
    }
    return t;
  }();
  return table;
}

// A posterior in the form a draw needs: a Beta table row, or a normal's mean and sd.
struct Posterior {
  int64_t row = -1;  // offset into BetaTable(), or -1 for the normal approximation
  double mean = 0, sd = 0;
};

Posterior PosteriorOf(double a, double b) {
  Posterior p;
  const double n = a + b;
  p.mean = a / n;
  if (n <= kNormalAbove) {
    p.row = (static_cast<int64_t>(a) * (static_cast<int64_t>(kNormalAbove) + 1) +
             static_cast<int64_t>(b)) *
            kBetaSteps;
  } else {
    p.sd = std::sqrt(p.mean * (1 - p.mean) / (n + 1));
  }
  return p;
}

class Sampler {
 public:
  explicit Sampler(Rng& rng)
      : rng_(rng), normal_(NormalTable().data()), beta_(BetaTable().data()) {}
  double Draw(const Posterior& p) {
    const uint32_t bits = Bits16();
    if (p.row >= 0) return beta_[p.row + (bits & (kBetaSteps - 1))];
    return p.mean + p.sd * normal_[bits];
  }

 private:
  uint32_t Bits16() {
    if (left_ == 0) {
      bits_ = rng_.Next();
      left_ = 4;
    }
    const uint32_t i = static_cast<uint32_t>(bits_ & ((1u << kNormalBits) - 1));
    bits_ >>= 16;
    --left_;
    return i;
  }
  Rng& rng_;
  const float* normal_;
  const float* beta_;
  uint64_t bits_ = 0;
  int left_ = 0;
};

}  // namespace

Status RunTtts(SearchRun* run) {
  const uint32_t k = run->num_models(), q = run->num_queries();
  Rng& rng = run->rng();
  Sampler sampler(rng);
  auto alpha = [&](uint32_t m) { return 1.0 + run->wins(m); };
  auto beta = [&](uint32_t m) { return 1.0 + run->pulls(m) - run->wins(m); };
  // The scan: pullable arms sorted by their bound (descending), with their posteriors laid out
  // in scan order so a draw walks memory once.
  struct Entry {
    uint32_t arm;
    uint8_t dirty;  // pulled since the sort: its entry is stale, it is drawn from `dirty`
    double bound;
    Posterior post;
  };
  std::vector<Entry> scan;
  std::vector<uint32_t> pos(k, UINT32_MAX);  // arm -> index in scan
  std::vector<uint32_t> dirty;
  auto refresh = [&] {
    scan.clear();
    for (uint32_t m = 0; m < k; ++m) {
      if (run->pulls(m) >= q) continue;
      const double a = alpha(m), b = beta(m), n = a + b;
      const double bound = a / n + kBoundSd * std::sqrt(a * b / (n * n * (n + 1))) + 1 / n;
      scan.push_back({m, 0, bound, PosteriorOf(a, b)});
    }
    std::stable_sort(scan.begin(), scan.end(),
                     [](const Entry& x, const Entry& y) { return x.bound > y.bound; });
    std::fill(pos.begin(), pos.end(), UINT32_MAX);
    for (uint32_t i = 0; i < scan.size(); ++i) pos[scan[i].arm] = i;
    dirty.clear();
  };
  refresh();
  // The argmax of one posterior draw over the arms other than `skip` (ties in a draw, which
  // only table values can produce, go to the arm drawn first).
  auto draw_best = [&](uint32_t skip) {
    uint32_t best = UINT32_MAX;
    double best_v = -1;
    for (uint32_t m : dirty) {
      if (m == skip || run->pulls(m) >= q) continue;
      const double v = sampler.Draw(PosteriorOf(alpha(m), beta(m)));
      if (v > best_v) {
        best = m;
        best_v = v;
      }
    }
    for (const Entry& e : scan) {
      if (e.bound < best_v) break;
      if (e.dirty || e.arm == skip) continue;
      const double v = sampler.Draw(e.post);
      if (v > best_v) {
        best = e.arm;
        best_v = v;
      }
    }
    return best;
  };
  uint32_t since = 0;
  while (run->remaining() > 0 && !scan.empty()) {
    uint32_t pick = draw_best(UINT32_MAX);
    if (pick == UINT32_MAX) break;
    const uint32_t top = pick;  // progress reports the draw's argmax as the leader
    if (scan.size() > 1 && rng.Uniform() >= kTopProbability) {
      const uint32_t other = draw_best(pick);  // J: the best other than I in a fresh draw
      if (other != UINT32_MAX) pick = other;
    }
    GEM_RETURN_IF_ERROR(run->PullOwn(pick, 0, static_cast<uint32_t>(scan.size()), top));
    if (pos[pick] != UINT32_MAX && !scan[pos[pick]].dirty) {
      scan[pos[pick]].dirty = 1;
      dirty.push_back(pick);
    }
    if (++since >= kRefreshPulls || run->pulls(pick) >= q) {
      since = 0;
      refresh();
    }
  }
  std::vector<double> post(k);
  for (uint32_t m = 0; m < k; ++m) post[m] = alpha(m) / (alpha(m) + beta(m));
  std::vector<uint32_t> all(k);
  std::iota(all.begin(), all.end(), 0u);
  run->Choose(run->Top(all, post, 1).front());
  return Status::OK();
}

}  // namespace gem::search_internal
