// Copyright the gem authors. gem: the project's default search (docs/GEM_METHOD.md).
//
// Correlated sampling: every model answers a prefix of one shared query sequence
// (SharedPrefixes), and two models are always compared on the queries both answered. Rounds of
// sequential halving, with what replaying many tree shapes showed to matter (docs/GEM_METHOD.md,
// "What was tried"):
//   - every round gets an equal share of what is left of the budget (round 1 at least a few
//     queries per model, fewer when N is small), and the survivors halve down to two finalists,
//     who share the rest;
//   - a cut does not leave to a coin the models still tied with the leader: when the budget per
//     model is large enough to afford them (N >= 25 fully, none at N <= 10), they all go on, up to
//     a cap on the share of the field kept;
//   - when what is left of the budget can take as many survivors as the cut would keep through
//     every query of the task, it does, and the choice among them is exact;
//   - the choice is the finalist with the most correct answers on the prefix they share;
//     EstimateConfidence reports its accuracy with a 95% interval, P(best) and P(top 3).
// Only answers (and, in gemd, which answers the cache already holds) steer it, so run again from
// its seed against a cache it makes the same choices: that is how gemd resumes a search.
#include "search/gem.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/gem_prefixes.h"
#include "search/rng.h"

namespace gem::search_internal {
namespace {

constexpr uint64_t kStreamConfidence = 21;

// The survivors a cut of `s` keeps: ceil(s / eta), never below the finalists.
uint32_t Halve(uint32_t s, uint32_t finalists, double eta) {
  return std::max(finalists, static_cast<uint32_t>(std::ceil(s / eta - 1e-9)));
}

// How many rounds a field of `s` survivors still needs, its own and the finalists' included.
uint32_t RoundsLeft(uint32_t s, uint32_t finalists, double eta) {
  uint32_t r = 1;
  for (; s > finalists; ++r) s = Halve(s, finalists, eta);
  return r;
}

// The longest length every one of `models` can reach for at most `pay` evaluations.
uint32_t AffordableTarget(const SharedPrefixes& px, std::span<const uint32_t> models, uint64_t pay,
                          uint32_t q) {
  if (px.CostTo(models, q) <= pay) return q;
  uint32_t lo = px.CommonLen(models), hi = q;  // CostTo(lo) <= pay < CostTo(hi)
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    (px.CostTo(models, mid) <= pay ? lo : hi) = mid;
  }
  return lo;
}

// Round 1's minimum queries per model: 3, but at most N / 8 (at least 1): at small N a cut on one
// query of a field halved for free beats three queries for everyone (docs/GEM_METHOD.md).
uint32_t FirstRoundMin(const GemParams& p, uint32_t n) {
  uint32_t m = std::min(n, std::max<uint32_t>(1, p.first_round_min));
  if (p.first_round_min_frac > 0) {
    m = std::min(m, std::max<uint32_t>(1, static_cast<uint32_t>(p.first_round_min_frac * n)));
  }
  return m;
}

// The largest share of a field a cut may keep to protect the models level with the leader.
double ProtectCap(const GemParams& p, uint32_t n) {
  if (p.protect_full_n <= p.protect_from_n) return p.protect_cap;
  if (n <= p.protect_from_n) return 0.5;
  if (n >= p.protect_full_n) return p.protect_cap;
  const double t = std::log(n / p.protect_from_n) / std::log(p.protect_full_n / p.protect_from_n);
  return 0.5 + t * (p.protect_cap - 0.5);
}

class GemSearch {
 public:
  GemSearch(SearchRun* run, const GemParams& p)
      : run_(run),
        p_(p),
        px_(run, !run->options().shuffle_queries),
        q_(run->num_queries()),
        finalists_(std::max<uint32_t>(1, p.finalists)),
        eta_(std::max(1.05, p.eta)),
        n_min_(FirstRoundMin(p, run->queries_per_model())),
        protect_cap_(ProtectCap(p, run->queries_per_model())) {}

  Status Run() {
    std::vector<uint32_t> survivors(run_->num_models());
    std::iota(survivors.begin(), survivors.end(), 0u);
    for (round_ = 1; survivors.size() > finalists_ && run_->remaining() > 0; ++round_) {
      const uint32_t s = static_cast<uint32_t>(survivors.size());
      // An equal share of what is left for each round to go (round 1: at least n_min_ each).
      uint64_t share = run_->remaining() / RoundsLeft(s, finalists_, eta_);
      if (round_ == 1) share = std::max<uint64_t>(share, uint64_t{n_min_} * s);
      // Every survivor reaches the same length, at least one query further.
      const uint32_t target =
          std::max(px_.CommonLen(survivors) + 1, AffordableTarget(px_, survivors, share, q_));
      const uint64_t before = run_->spent();
      GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, target, round_));
      if (run_->spent() == before) break;  // the budget or the task's queries are exhausted

      uint32_t keep = Halve(s, finalists_, eta_);
      const std::vector<uint32_t> ranked = Ranked(survivors);
      if (p_.exhaustive_finish) {
        // How many of the best can be taken through every query with what is left?
        uint64_t cost = 0;
        uint32_t can = 0;
        for (uint32_t m : ranked) {
          cost += q_ - px_.len(m);
          if (cost > run_->remaining()) break;
          ++can;
        }
        if (can >= keep) {
          survivors.assign(ranked.begin(), ranked.begin() + can);
          GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, q_, round_ + 1));
          return Finish(survivors);
        }
      }
      if (p_.protect_z >= 0) keep = std::max(keep, std::min(LevelWithLeader(ranked), Cap(s)));
      // The cut: the `keep` best; ties at the edge go by the run's random priorities.
      survivors.assign(ranked.begin(), ranked.begin() + keep);
      if (p_.adaptive_after > 0 && round_ >= p_.adaptive_after && survivors.size() > 1) {
        ++round_;
        return Adaptive(std::move(survivors));
      }
    }
    // The finalists share what is left.
    const uint32_t target = AffordableTarget(px_, survivors, run_->remaining(), q_);
    if (survivors.size() > 1 && target > px_.CommonLen(survivors)) {
      GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, target, round_));
    }
    return Finish(survivors);
  }

 private:
  // Paired difference of the leader `l` over `m` on the prefix they share, with its
  // empirical-Bernstein width: returns the upper bound of (mean m - mean l).
  double UpperBoundOver(uint32_t l, uint32_t m) {
    const uint32_t c = std::min(px_.len(l), px_.len(m));
    if (c == 0) return 1;
    Pair& pc = pair_[m];
    if (pc.leader != l || pc.len > c) pc = Pair{l, 0, 0};
    if (c > pc.len) {
      const auto& xa = px_.answers().answers[l];
      const auto& xb = px_.answers().answers[m];
      for (uint32_t i = pc.len; i < c; ++i) pc.disc += xa[i] != xb[i];
      pc.len = c;
    }
    const double g = (static_cast<double>(px_.Wins(m, c)) - px_.Wins(l, c)) / c;
    const double v = std::max(0.0, static_cast<double>(pc.disc) / c - g * g);
    const double beta = p_.gap_beta;
    return g + std::sqrt(2 * v * beta / c) + 3 * beta / c;
  }

  // The best of `active` by a control-variate estimate of its mean: the reference r (the longest
  // prefix; ties by wins, then priority) has its mean on its own prefix, every other model r's
  // mean plus its paired difference to r on the prefix they share (the sequence's stretches
  // differ in difficulty: raw means over different prefixes are not comparable). Only models
  // whose prefix is at least `min_len_frac` of the longest may lead.
  uint32_t Leader(std::span<const uint32_t> active, double min_len_frac) const {
    uint32_t r = active.front();
    for (uint32_t m : active) {
      if (px_.len(m) != px_.len(r)
              ? px_.len(m) > px_.len(r)
              : run_->Better(px_.Wins(m, px_.len(m)), m, px_.Wins(r, px_.len(r)), r)) {
        r = m;
      }
    }
    const double r_mean = static_cast<double>(px_.Wins(r, px_.len(r))) / std::max(1u, px_.len(r));
    uint32_t l = r;
    double best = r_mean;
    for (uint32_t m : active) {
      const uint32_t c = px_.len(m);
      if (m == r || c == 0 || c < min_len_frac * px_.len(r)) continue;
      const double est = r_mean + (static_cast<double>(px_.Wins(m, c)) - px_.Wins(r, c)) / c;
      if (run_->Better(est, m, best, l)) {
        best = est;
        l = m;
      }
    }
    return l;
  }

  // Top-two Thompson sampling on control-variate estimates (GemParams::gap_rule 1).
  Status TopTwo(std::vector<uint32_t> active) {
    Rng rng(DeriveSeed(run_->options().seed, 22));
    std::vector<double> mu, sd;
    while (active.size() > 1 && run_->remaining() > 0) {
      if (p_.exhaustive_finish && px_.CostTo(active, q_) <= run_->remaining()) {
        GEM_RETURN_IF_ERROR(px_.ExtendTo(active, q_, round_));
        return Finish(active);
      }
      uint32_t r = active.front();
      for (uint32_t m : active) {
        if (px_.len(m) != px_.len(r)
                ? px_.len(m) > px_.len(r)
                : run_->Better(px_.Wins(m, px_.len(m)), m, px_.Wins(r, px_.len(r)), r)) {
          r = m;
        }
      }
      const uint32_t lr = px_.len(r);
      const double r_mean = static_cast<double>(px_.Wins(r, lr)) / lr;
      mu.assign(active.size(), 0);
      sd.assign(active.size(), 0);
      double top = -1;
      for (size_t i = 0; i < active.size(); ++i) {
        const uint32_t m = active[i];
        if (m == r) {
          mu[i] = r_mean;
          sd[i] = std::sqrt((r_mean * (1 - r_mean) + 1.0 / lr) / lr) * p_.tt_ref_sd;
        } else {
          const uint32_t c = std::max(1u, std::min(px_.len(m), lr));
          UpperBoundOver(r, m);  // refreshes pair_[m]
          const double g = (static_cast<double>(px_.Wins(m, c)) - px_.Wins(r, c)) / c;
          const double v = std::max(0.0, static_cast<double>(pair_[m].disc) / c - g * g);
          mu[i] = r_mean + g;
          sd[i] = std::sqrt((v + p_.tt_prior / c) / c);
        }
        top = std::max(top, mu[i]);
      }
      // Drop models that cannot plausibly be the best.
      size_t kept = 0;
      for (size_t i = 0; i < active.size(); ++i) {
        if (active[i] != r && mu[i] + p_.gap_beta * sd[i] < top) continue;
        active[kept] = active[i], mu[kept] = mu[i], sd[kept] = sd[i], ++kept;
      }
      active.resize(kept), mu.resize(kept), sd.resize(kept);
      if (active.size() < 2) break;
      auto draw = [&] {
        size_t b = 0;
        double bv = -1e9;
        for (size_t i = 0; i < active.size(); ++i) {
          const double t = mu[i] + sd[i] * rng.Normal();
          if (t > bv) bv = t, b = i;
        }
        return b;
      };
      const size_t a = draw();
      size_t b = a;
      for (int t = 0; t < 32 && b == a; ++t) b = draw();
      if (b == a) b = a == 0 ? 1 : 0;
      const uint32_t i = active[a], j = active[b];
      const uint32_t from = std::min(px_.len(i), px_.len(j));
      const uint32_t step =
          std::max<uint32_t>(p_.gap_step_min, static_cast<uint32_t>(p_.gap_step_frac * from));
      const uint32_t pair[2] = {i, j};
      const uint64_t before = run_->spent();
      GEM_RETURN_IF_ERROR(px_.ExtendTo(pair, std::min(q_, from + step), round_));
      if (run_->spent() == before) break;
    }
    return Finish({Leader(active, p_.gap_final_len)});
  }

  // LUCB over `active` until the budget ends (GemParams::adaptive_after).
  Status Adaptive(std::vector<uint32_t> active) {
    pair_.assign(run_->num_models(), Pair{UINT32_MAX, 0, 0});
    if (p_.gap_rule == 1) return TopTwo(std::move(active));
    while (active.size() > 1 && run_->remaining() > 0) {
      if (p_.exhaustive_finish && px_.CostTo(active, q_) <= run_->remaining()) {
        GEM_RETURN_IF_ERROR(px_.ExtendTo(active, q_, round_));
        return Finish(active);
      }
      const uint32_t l = Leader(active, 0);
      uint32_t ch = UINT32_MAX;
      double best = -2;
      size_t kept = 0;
      for (uint32_t m : active) {
        if (m == l) {
          active[kept++] = m;
          continue;
        }
        const double u = UpperBoundOver(l, m);
        if (u < 0 && std::min(px_.len(l), px_.len(m)) >= p_.gap_drop_min) continue;  // dropped
        active[kept++] = m;
        if (u > best || (u == best && run_->priority(m) > run_->priority(ch))) {
          best = u;
          ch = m;
        }
      }
      active.resize(kept);
      if (ch == UINT32_MAX) break;
      // The pair's shared prefix grows: the challenger goes a step further, the leader with it
      // when it is not already past that (only the shared prefix informs their difference).
      const uint32_t from = px_.len(ch);
      const uint32_t step =
          std::max<uint32_t>(p_.gap_step_min, static_cast<uint32_t>(p_.gap_step_frac * from));
      const uint32_t pair[2] = {l, ch};
      const uint64_t before = run_->spent();
      GEM_RETURN_IF_ERROR(px_.ExtendTo(pair, std::min(q_, from + step), round_));
      if (run_->spent() == before) {
        // Both are at the task's end or the budget cannot take them one query further: what is
        // left goes to the others level with nothing better to do; stop.
        break;
      }
    }
    return Finish({Leader(active, p_.gap_final_len)});
  }

  struct Pair {
    uint32_t leader, len, disc;
  };
  std::vector<Pair> pair_;

  // `models` best first by correct answers on the prefix they all answered (ties: priority).
  std::vector<uint32_t> Ranked(std::span<const uint32_t> models) const {
    const uint32_t len = px_.CommonLen(models);
    std::vector<uint32_t> v(models.begin(), models.end());
    std::sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
      return run_->Better(px_.Wins(a, len), a, px_.Wins(b, len), b);
    });
    return v;
  }

  // How many of `ranked` (best first) are level with the leader: no behind it on the prefix they
  // share (or within protect_z paired standard errors of it).
  uint32_t LevelWithLeader(const std::vector<uint32_t>& ranked) const {
    const uint32_t len = px_.CommonLen(ranked), lead = ranked.front();
    uint32_t level = 0;
    for (uint32_t m : ranked) {
      const double deficit = static_cast<double>(px_.Wins(lead, len)) - px_.Wins(m, len);
      double margin = 0;
      if (p_.protect_z > 0) {
        margin = p_.protect_z * std::sqrt(static_cast<double>(px_.Discordant(lead, m, len)) + 1);
      }
      level += deficit <= margin ? 1 : 0;
    }
    return level;
  }

  uint32_t Cap(uint32_t s) const { return static_cast<uint32_t>(protect_cap_ * s); }

  Status Finish(const std::vector<uint32_t>& finalists) {
    const uint32_t chosen = Ranked(finalists).front();
    run_->Choose(chosen);
    const GemConfidence c = EstimateConfidence(px_.answers(), chosen, q_, p_.confidence_draws,
                                               DeriveSeed(run_->options().seed, kStreamConfidence));
    SearchResult* r = run_->result();
    r->estimated_accuracy = c.estimate;
    r->ci_low = c.ci_low;
    r->ci_high = c.ci_high;
    r->p_best = c.p_best;
    r->p_top3 = c.p_top3;
    return Status::OK();
  }

  SearchRun* run_;
  const GemParams p_;
  SharedPrefixes px_;
  const uint32_t q_, finalists_;
  const double eta_;
  const uint32_t n_min_;
  const double protect_cap_;
  uint32_t round_ = 1;
};

}  // namespace

Status RunGemWithParams(SearchRun* run, const GemParams& params) {
  GemSearch search(run, params);
  return search.Run();
}

Status RunGem(SearchRun* run) { return RunGemWithParams(run, GemParams()); }

}  // namespace gem::search_internal
