// Copyright the gem authors. gem: the shared query sequence and each model's prefix of it.
#include "search/gem_prefixes.h"

#include <algorithm>

namespace gem::search_internal {

SharedPrefixes::SharedPrefixes(SearchRun* run, bool prefer_known)
    : run_(run), prefer_known_(prefer_known), taken_(run->num_queries(), 0) {
  answers_.answers.resize(run->num_models());
  wins_.assign(run->num_models(), std::vector<uint32_t>{0});
}

uint32_t SharedPrefixes::Discordant(uint32_t a, uint32_t b, uint32_t p) const {
  const std::vector<uint8_t>& xa = answers_.answers[a];
  const std::vector<uint8_t>& xb = answers_.answers[b];
  uint32_t d = 0;
  for (uint32_t i = 0; i < p; ++i) d += xa[i] != xb[i];
  return d;
}

uint32_t SharedPrefixes::CommonLen(std::span<const uint32_t> models) const {
  uint32_t p = UINT32_MAX;
  for (uint32_t m : models) p = std::min(p, len(m));
  return models.empty() ? 0 : p;
}

uint64_t SharedPrefixes::CostTo(std::span<const uint32_t> models, uint32_t target) const {
  target = std::min(target, run_->num_queries());
  uint64_t cost = 0;
  for (uint32_t m : models) cost += target > len(m) ? target - len(m) : 0;
  return cost;
}

Status SharedPrefixes::ExtendTo(std::span<const uint32_t> models, uint32_t target, uint32_t round) {
  target = std::min(target, run_->num_queries());
  // Lower the target to what the budget pays for (cost is non-decreasing in the target).
  if (CostTo(models, target) > run_->remaining()) {
    uint32_t lo = 0, hi = target;  // CostTo(lo) fits, CostTo(hi) does not
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      (CostTo(models, mid) <= run_->remaining() ? lo : hi) = mid;
    }
    target = lo;
  }
  std::vector<uint32_t> going;
  for (uint32_t m : models) {
    if (len(m) < target) going.push_back(m);
  }
  if (going.empty()) return Status::OK();
  // Grow the sequence: new entries are chosen for the models that will answer them.
  if (target > seq_.size()) {
    GEM_RETURN_IF_ERROR(PickSharedQueries(run_, going, target - static_cast<uint32_t>(seq_.size()),
                                          prefer_known_, &taken_, &scan_from_, &fresh_));
    seq_.insert(seq_.end(), fresh_.begin(), fresh_.end());
    // The order may run out (every query taken): then the target is what the sequence holds.
    target = std::min<uint32_t>(target, static_cast<uint32_t>(seq_.size()));
  }
  req_.clear();
  uint32_t most = 0, first_len = len(going.front());
  bool same_start = true;
  for (uint32_t m : going) {
    most = std::max(most, target - len(m));
    same_start = same_start && len(m) == first_len;
    for (uint32_t i = len(m); i < target; ++i) req_.push_back({m, seq_[i]});
  }
  if (req_.empty()) return Status::OK();
  const uint64_t before = run_->spent();
  GEM_RETURN_IF_ERROR(
      run_->Evaluate(req_, round, static_cast<uint32_t>(models.size()), going.front()));
  const auto outcomes = run_->last_outcomes();
  for (size_t i = 0; i < req_.size(); ++i) {
    const uint32_t m = req_[i].model;
    answers_.answers[m].push_back(outcomes[i].correct);
    wins_[m].push_back(wins_[m].back() + outcomes[i].correct);
  }
  // One trace entry per batch: the models evaluated and the most new queries one of them got;
  // "correlated" when they all answered the identical new queries (they started level).
  run_->AddRound(std::move(going), most, run_->spent() - before, same_start);
  return Status::OK();
}

}  // namespace gem::search_internal
