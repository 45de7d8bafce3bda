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
    }
    // The finalists share what is left.
    const uint32_t target = AffordableTarget(px_, survivors, run_->remaining(), q_);
    if (survivors.size() > 1 && target > px_.CommonLen(survivors)) {
      GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, target, round_));
    }
    return Finish(survivors);
  }

 private:
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
