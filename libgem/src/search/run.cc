// Copyright the gem authors. SearchRun: the budget, queries, evaluation and trace of one search.
#include <algorithm>
#include <numeric>

#include "search/search_internal.h"

namespace gem::search_internal {
namespace {

uint32_t Gcd(uint32_t a, uint32_t b) {
  while (b != 0) {
    const uint32_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Streams of the seed: fixed numbers, so adding a stream never shifts another.
constexpr uint64_t kStreamOrder = 11, kStreamModels = 12, kStreamPriority = 13, kStreamAlgo = 14;

}  // namespace

SearchRun::SearchRun(const SearchOptions& options, Evaluator* evaluator, SearchResult* result)
    : options_(options),
      evaluator_(evaluator),
      result_(result),
      k_(evaluator->num_models()),
      q_(evaluator->num_queries()),
      budget_(SearchBudget(options.queries_per_model, evaluator->num_models())),
      rng_(DeriveSeed(options.seed, kStreamAlgo)) {
  result_->budget = budget_;
  result_->pulls.assign(k_, 0);
  result_->wins.assign(k_, 0);

  order_.resize(q_);
  std::iota(order_.begin(), order_.end(), 0u);
  offset_.resize(k_);
  stride_.assign(k_, 1);
  if (options.shuffle_queries) {
    Rng r(DeriveSeed(options.seed, kStreamOrder));
    for (uint32_t i = q_; i > 1; --i) std::swap(order_[i - 1], order_[r.Below(i)]);
    Rng m(DeriveSeed(options.seed, kStreamModels));
    for (uint32_t i = 0; i < k_; ++i) {
      offset_[i] = q_ > 0 ? m.Below(q_) : 0;
      uint32_t s = 1;
      if (q_ > 2) {
        do s = 1 + m.Below(q_ - 1);
        while (Gcd(s, q_) != 1);
      }
      stride_[i] = s;
    }
  } else {
    // The evaluator's order: model m reads a window starting at m Q / K, so models see different
    // queries, and repeated searches (any seed) land on the same (model, query) pairs.
    for (uint32_t i = 0; i < k_; ++i) {
      offset_[i] = k_ == 0 ? 0 : static_cast<uint32_t>(uint64_t{i} * q_ / k_);
    }
  }
  // Random priorities: a permutation, so no two models tie on priority.
  priority_.resize(k_);
  std::iota(priority_.begin(), priority_.end(), 0u);
  Rng p(DeriveSeed(options.seed, kStreamPriority));
  for (uint32_t i = k_; i > 1; --i) std::swap(priority_[i - 1], priority_[p.Below(i)]);
  block_pulls_.assign(k_, 0);
}

Status SearchRun::Evaluate(std::span<const EvalRequest> requests, uint32_t round,
                           uint32_t survivors, uint32_t leader) {
  if (requests.empty()) return Status::OK();
  if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed)) {
    FlushPulls();  // the partial trace accounts for every evaluation made
    return Status::Aborted("search cancelled");
  }
  if (requests.size() > remaining()) {
    return Status::Internal("search: a batch of " + std::to_string(requests.size()) +
                            " would exceed the budget (" + std::to_string(remaining()) + " left)");
  }
  out_buf_.resize(requests.size());
  GEM_RETURN_IF_ERROR(evaluator_->Evaluate(requests, out_buf_, nullptr));
  uint64_t cached = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const uint32_t m = requests[i].model;
    ++result_->pulls[m];
    result_->wins[m] += out_buf_[i].correct;
    cached += out_buf_[i].from_cache;
  }
  result_->spent += requests.size();
  result_->spent_cached += cached;
  if (options_.on_progress) {
    SearchProgress p;
    p.spent = result_->spent;
    p.budget = budget_;
    p.round = round;
    p.survivors = survivors;
    p.leader = leader;
    options_.on_progress(p);
  }
  return Status::OK();
}

Status SearchRun::PullOwn(uint32_t m, uint32_t round, uint32_t survivors, uint32_t leader) {
  const uint32_t j = result_->pulls[m];
  if (j >= q_ || remaining() == 0) return Status::OK();
  const EvalRequest r{m, OwnQuery(m, j)};
  GEM_RETURN_IF_ERROR(Evaluate(std::span<const EvalRequest>(&r, 1), round, survivors, leader));
  NotePull(m);
  return Status::OK();
}

Status SearchRun::PullOwnBatch(std::span<const uint32_t> models, uint32_t n, uint32_t round) {
  req_buf_.clear();
  uint64_t left = remaining();
  for (uint32_t m : models) {
    const uint32_t have = result_->pulls[m];
    const uint32_t take = static_cast<uint32_t>(
        std::min<uint64_t>({uint64_t{n}, uint64_t{q_ - std::min(have, q_)}, left}));
    for (uint32_t j = 0; j < take; ++j) req_buf_.push_back({m, OwnQuery(m, have + j)});
    left -= take;
  }
  const uint32_t leader = models.empty() ? 0 : models[0];
  return Evaluate(req_buf_, round, static_cast<uint32_t>(models.size()), leader);
}

Status SearchRun::PullSharedBatch(std::span<const uint32_t> models, uint32_t n, uint32_t round,
                                  uint32_t* given) {
  *given = 0;
  if (models.empty()) return Status::OK();
  uint64_t take = std::min<uint64_t>(n, q_ - cursor_);
  take = std::min<uint64_t>(take, remaining() / models.size());
  req_buf_.clear();
  for (uint32_t m : models) {
    for (uint64_t j = 0; j < take; ++j) {
      req_buf_.push_back({m, order_[cursor_ + j]});
    }
  }
  GEM_RETURN_IF_ERROR(Evaluate(req_buf_, round, static_cast<uint32_t>(models.size()), models[0]));
  cursor_ += static_cast<uint32_t>(take);
  *given = static_cast<uint32_t>(take);
  return Status::OK();
}

std::vector<uint32_t> SearchRun::Top(std::span<const uint32_t> models,
                                     const std::vector<double>& score, size_t keep) const {
  std::vector<uint32_t> v(models.begin(), models.end());
  keep = std::min(keep, v.size());
  auto better = [&](uint32_t a, uint32_t b) { return Better(score[a], a, score[b], b); };
  std::partial_sort(v.begin(), v.begin() + keep, v.end(), better);
  v.resize(keep);
  return v;
}

std::vector<double> SearchRun::Means() const {
  std::vector<double> m(k_);
  for (uint32_t i = 0; i < k_; ++i) m[i] = Mean(i);
  return m;
}

void SearchRun::AddRound(std::vector<uint32_t> survivors, uint32_t queries_per_survivor,
                         uint64_t spent, bool correlated) {
  RoundTrace t;
  t.round = static_cast<uint32_t>(result_->rounds.size() + 1);
  t.queries_per_survivor = queries_per_survivor;
  t.spent = spent;
  t.correlated = correlated;
  t.means.reserve(survivors.size());
  for (uint32_t m : survivors) {
    t.means.push_back(Mean(m));
    t.pulls.push_back(result_->pulls[m]);
    t.wins.push_back(result_->wins[m]);
  }
  t.survivors = std::move(survivors);
  result_->rounds.push_back(std::move(t));
}

void SearchRun::NotePull(uint32_t m) {
  if (block_pulls_[m]++ == 0) block_models_.push_back(m);
  if (++block_spent_ >= k_) FlushPulls();
}

void SearchRun::FlushPulls() {
  if (block_spent_ == 0) return;
  std::sort(block_models_.begin(), block_models_.end());
  uint32_t most = 0;
  for (uint32_t m : block_models_) {
    most = std::max(most, block_pulls_[m]);
    block_pulls_[m] = 0;
  }
  AddRound(std::move(block_models_), most, block_spent_, false);
  block_models_ = {};
  block_spent_ = 0;
}

void SearchRun::Choose(uint32_t chosen) {
  FlushPulls();
  result_->chosen_model = chosen;
  const double n = result_->pulls[chosen];
  if (n > 0) {
    // Wilson score interval (95%): sensible at the small counts a search leaves per model.
    const double p = result_->wins[chosen] / n, z = 1.959963984540054;
    const double denom = 1 + z * z / n;
    const double centre = (p + z * z / (2 * n)) / denom;
    const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom;
    result_->estimated_accuracy = p;
    result_->ci_low = std::max(0.0, centre - half);
    result_->ci_high = std::min(1.0, centre + half);
  }
}

}  // namespace gem::search_internal
