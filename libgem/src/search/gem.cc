// Copyright the gem authors. gem: the project's default search (docs/GEM_METHOD.md).
//
// Correlated sampling: every model answers a prefix of one shared query sequence
// (SharedPrefixes), and two models are always compared on the queries both answered. Rounds of
// elimination as in Sequential Halving, with what the replay of many tree shapes showed to matter
// (docs/GEM_METHOD.md, "What was tried"):
//   - each round gets an equal share of what is left of the budget, and the survivors are divided
//     by eta, down to `finalists`;
//   - the cut is not left to a coin where the data cannot decide it: the models tied with the
//     model at the cut (or within band_z paired standard errors of it) answer more shared queries
//     first (a playoff), within a share of the round's spend;
//   - when the budget left can take the survivors through every query of the task, it does, and
//     the choice among them is exact;
//   - the finalists' stage stops spending on a finalist already separated from the leader;
//   - the choice is the finalist with the most correct answers on the prefix they share;
//     EstimateConfidence reports its accuracy with a 95% interval, P(best) and P(top 3).
#include "search/gem.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/gem_prefixes.h"
#include "search/rng.h"

namespace gem::search_internal {
namespace {

constexpr uint64_t kStreamConfidence = 21;

// How many rounds a field of `s` survivors still needs, its own and the finalists' included.
uint32_t RoundsLeft(uint32_t s, uint32_t finalists, double eta) {
  uint32_t r = 1;
  while (s > finalists) {
    s = std::max(finalists, static_cast<uint32_t>(std::ceil(s / eta - 1e-9)));
    ++r;
  }
  return r;
}

// The longest length every one of `models` can reach for at most `pay` evaluations.
uint32_t AffordableTarget(const SharedPrefixes& px, std::span<const uint32_t> models, uint64_t pay,
                          uint32_t q) {
  uint32_t lo = px.CommonLen(models), hi = q + 1;  // CostTo(lo) <= pay < CostTo(hi)
  if (px.CostTo(models, q) <= pay) return q;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    (px.CostTo(models, mid) <= pay ? lo : hi) = mid;
  }
  return lo;
}

uint32_t FirstRoundMin(const GemParams& p, uint32_t n) {
  uint32_t m = std::min(n, std::max<uint32_t>(1, p.first_round_min));
  if (p.first_round_min_frac > 0) {
    m = std::min(m, std::max<uint32_t>(1, static_cast<uint32_t>(p.first_round_min_frac * n)));
  }
  return m;
}

double ProtectCap(const GemParams& p, uint32_t n) {
  if (p.protect_full_n <= 0) return p.protect_cap;
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
    if (p_.se_mode) {
      while (survivors.size() > 1 && run_->remaining() > 0) {
        const uint32_t len = px_.CommonLen(survivors);
        const uint32_t chunk =
            std::max<uint32_t>(std::max<uint32_t>(1, p_.se_chunk_min),
                               static_cast<uint32_t>(std::ceil(p_.se_chunk_frac * len)));
        const uint64_t before = run_->spent();
        GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, len + chunk, round_++));
        if (run_->spent() == before) break;
        const std::vector<uint32_t> ranked = Ranked(survivors);
        const uint32_t l2 = px_.CommonLen(ranked), lead = ranked.front();
        std::vector<uint32_t> on;
        for (uint32_t m : ranked) {
          const double deficit = static_cast<double>(px_.Wins(lead, l2)) - px_.Wins(m, l2);
          if (deficit <=
              p_.elim_z * std::sqrt(static_cast<double>(px_.Discordant(lead, m, l2))) + p_.elim_c)
            on.push_back(m);
        }
        survivors = std::move(on);
      }
      return Finish(survivors);
    }
    for (round_ = 1; survivors.size() > finalists_ && run_->remaining() > 0; ++round_) {
      const uint32_t s = static_cast<uint32_t>(survivors.size());
      // This round's share: 1 / (1 + g + ... + g^(R-1)) of what is left (R rounds to go).
      double weights = 0;
      uint32_t rounds = RoundsLeft(s, finalists_, eta_);
      if (round_ == 1 && p_.eta_first > 1) {
        const uint32_t after =
            std::max(finalists_, static_cast<uint32_t>(std::ceil(s / p_.eta_first - 1e-9)));
        rounds = after < s ? 1 + RoundsLeft(after, finalists_, eta_) : rounds;
      }
      const double g = round_ == 1 && p_.growth_after_first ? 1.0 : std::max(0.1, p_.share_growth);
      for (uint32_t i = 0, r = rounds; i < r; ++i)
        weights += std::pow(g, i) * (i + 1 == r ? std::max(0.1, p_.final_weight) : 1.0);
      uint64_t share = static_cast<uint64_t>(static_cast<double>(run_->remaining()) / weights);
      if (round_ == 1) {
        share = std::max<uint64_t>(
            share,
            static_cast<uint64_t>(p_.first_round_share * static_cast<double>(run_->budget())));
        share = std::max<uint64_t>(share, uint64_t{n_min_} * s);
      }
      // The round's share, in sub_steps batches; after each, survivors already separated from
      // the leader stop, so what they would have taken goes to the others.
      const uint32_t steps = std::max<uint32_t>(1, p_.sub_steps);
      uint64_t round_spend = 0;
      uint32_t round_n = 0;
      for (uint32_t step = 0; step < steps && survivors.size() > finalists_; ++step) {
        // Every survivor reaches the same length (catching up with models a playoff took
        // further).
        uint32_t longest = 0;
        for (uint32_t m : survivors) longest = std::max(longest, px_.len(m));
        const uint64_t pay = (share > round_spend ? share - round_spend : 0) / (steps - step);
        uint32_t target = AffordableTarget(px_, survivors, pay, q_);
        if (step == 0) target = std::max(longest + 1, target);
        if (target <= px_.CommonLen(survivors)) continue;
        const uint32_t from = px_.CommonLen(survivors);
        const uint64_t before = run_->spent();
        GEM_RETURN_IF_ERROR(px_.ExtendTo(survivors, target, round_));
        round_spend += run_->spent() - before;
        round_n += px_.CommonLen(survivors) - std::min(from, px_.CommonLen(survivors));
        if (p_.elim_z > 0) Eliminate(&survivors);
      }
      if (round_spend == 0) break;  // the budget or the task's queries are exhausted
      if (survivors.size() <= finalists_) break;

      const double eta = round_ == 1 && p_.eta_first > 1 ? p_.eta_first : eta_;
      uint32_t keep = std::max(finalists_, static_cast<uint32_t>(std::ceil(s / eta - 1e-9)));
      if (survivors.size() <= keep) continue;  // the eliminations did the cut's work
      if (p_.exhaustive_finish) {
        // How many of the best could be taken through every query with what is left?
        const std::vector<uint32_t> ranked = Ranked(survivors);
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
      if (p_.protect_z >= 0) {
        // Survivors still level with the leader are not left to the cut.
        const std::vector<uint32_t> ranked = Ranked(survivors);
        const uint32_t len = px_.CommonLen(ranked), lead = ranked.front();
        uint32_t level = 0;
        for (uint32_t m : ranked) {
          const double deficit = static_cast<double>(px_.Wins(lead, len)) - px_.Wins(m, len);
          const double margin =
              p_.protect_z * std::sqrt(static_cast<double>(px_.Discordant(lead, m, len)) + 1);
          level += deficit <= margin ? 1 : 0;
        }
        const uint32_t cap = static_cast<uint32_t>(protect_cap_ * s);
        keep = std::max(keep, std::min(level, cap));
      }
      GEM_RETURN_IF_ERROR(Cut(&survivors, keep, round_spend, round_n));
    }
    GEM_RETURN_IF_ERROR(Final(&survivors));
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

  // Drops the survivors whose deficit to the leader exceeds elim_z paired standard errors (never
  // below the finalists).
  void Eliminate(std::vector<uint32_t>* survivors) const {
    const std::vector<uint32_t> ranked = Ranked(*survivors);
    const uint32_t len = px_.CommonLen(ranked), lead = ranked.front();
    std::vector<uint32_t> on;
    for (uint32_t m : ranked) {
      const double deficit = static_cast<double>(px_.Wins(lead, len)) - px_.Wins(m, len);
      if (on.size() < finalists_ ||
          deficit <= p_.elim_z * std::sqrt(static_cast<double>(px_.Discordant(lead, m, len)) + 1))
        on.push_back(m);
    }
    *survivors = std::move(on);
  }

  // The paired margin within which m and the model at the cut count as undecided.
  double Margin(uint32_t m, uint32_t at, uint32_t len) const {
    if (p_.band_z <= 0 || m == at) return 0;
    return p_.band_z * std::sqrt(static_cast<double>(px_.Discordant(m, at, len)) + 1);
  }

  // Keeps `keep` of *survivors. Models clearly above the one at the cut go on, models clearly
  // below stop; the undecided (the pool) play off on more shared queries before the rest is
  // left to the run's random priorities.
  Status Cut(std::vector<uint32_t>* survivors, uint32_t keep, uint64_t round_spend,
             uint32_t round_n) {
    std::vector<uint32_t> kept, pool = Ranked(*survivors);
    uint32_t need = keep;
    uint64_t playoff_spent = 0;
    const uint64_t cap = static_cast<uint64_t>(p_.playoff_share * static_cast<double>(round_spend));
    for (uint32_t it = 0;; ++it) {
      // Split the pool around its need-th model.
      const uint32_t len = px_.CommonLen(pool);
      const uint32_t at = pool[need - 1];
      const double at_wins = px_.Wins(at, len);
      std::vector<uint32_t> undecided;
      for (uint32_t m : pool) {
        const double diff = px_.Wins(m, len) - at_wins, margin = Margin(m, at, len);
        if (diff > margin) {
          kept.push_back(m);
        } else if (diff >= -margin) {
          undecided.push_back(m);
        }
      }
      pool = std::move(undecided);
      need = keep - static_cast<uint32_t>(kept.size());
      if (pool.size() <= need || it >= p_.playoff_rounds || run_->remaining() == 0) break;
      // Playoff: the pool answers more shared queries.
      const uint32_t chunk = std::max<uint32_t>(
          std::min<uint32_t>(3, run_->queries_per_model()),
          static_cast<uint32_t>(std::ceil(p_.playoff_chunk * std::max<uint32_t>(1, round_n))));
      const uint64_t left = cap > playoff_spent ? cap - playoff_spent : 0;
      const uint32_t target =
          std::min(px_.CommonLen(pool) + chunk, AffordableTarget(px_, pool, left, q_));
      const uint64_t before = run_->spent();
      GEM_RETURN_IF_ERROR(px_.ExtendTo(pool, target, round_));
      if (run_->spent() == before) break;
      playoff_spent += run_->spent() - before;
      pool = Ranked(pool);
    }
    pool = Ranked(pool);
    kept.insert(kept.end(), pool.begin(), pool.begin() + std::min<size_t>(need, pool.size()));
    *survivors = std::move(kept);
    return Status::OK();
  }

  // The finalists' stage: the rest of the budget, in chunks; a finalist already separated from
  // the leader stops.
  Status Final(std::vector<uint32_t>* finalists) {
    const uint32_t chunks = std::max<uint32_t>(1, p_.final_chunks);
    for (uint32_t c = 0; c < chunks && finalists->size() > 1 && run_->remaining() > 0; ++c) {
      const uint64_t pay = run_->remaining() / (chunks - c);
      const uint32_t target = AffordableTarget(px_, *finalists, pay, q_);
      if (target <= px_.CommonLen(*finalists)) break;
      GEM_RETURN_IF_ERROR(px_.ExtendTo(*finalists, target, round_));
      if (p_.final_drop_z <= 0) continue;
      const std::vector<uint32_t> ranked = Ranked(*finalists);
      const uint32_t len = px_.CommonLen(ranked), lead = ranked.front();
      std::vector<uint32_t> on{lead};
      for (size_t i = 1; i < ranked.size(); ++i) {
        const uint32_t m = ranked[i];
        const double deficit = static_cast<double>(px_.Wins(lead, len)) - px_.Wins(m, len);
        if (deficit <= p_.final_drop_z * std::sqrt(px_.Discordant(lead, m, len) + 1.0))
          on.push_back(m);
      }
      *finalists = std::move(on);
    }
    return Status::OK();
  }

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
