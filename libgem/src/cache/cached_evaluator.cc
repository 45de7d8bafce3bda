// Copyright the gem authors. CachedEvaluator: MultiGet first, only misses reach the evaluator.
#include <algorithm>
#include <unordered_map>

#include "gem/cache.h"

namespace gem {

namespace {

struct KeyHash {
  size_t operator()(const ResultKey& k) const noexcept {
    // Digests are uniform: mixing two words is plenty for a per-batch table.
    return std::hash<Digest>()(k.model) * 31 + std::hash<Digest>()(k.query);
  }
};

}  // namespace

CachedEvaluator::CachedEvaluator(Cache* cache, Evaluator* inner, std::vector<Digest> model_digests,
                                 std::vector<Digest> query_digests, const Digest& config,
                                 CachedEvaluatorOptions options)
    : cache_(cache),
      inner_(inner),
      models_(std::move(model_digests)),
      queries_(std::move(query_digests)),
      config_(config),
      options_(std::move(options)) {}

uint32_t CachedEvaluator::num_models() const { return static_cast<uint32_t>(models_.size()); }
uint32_t CachedEvaluator::num_queries() const { return static_cast<uint32_t>(queries_.size()); }

ResultKey CachedEvaluator::KeyOf(const EvalRequest& r) const {
  return ResultKey{models_[r.model], queries_[r.query], config_};
}

Status CachedEvaluator::Evaluate(std::span<const EvalRequest> requests,
                                 std::span<EvalOutcome> outcomes,
                                 std::vector<EvalDetail>* details) {
  const size_t n = requests.size();
  if (outcomes.size() != n) {
    return Status::InvalidArgument("CachedEvaluator", "outcomes.size() != requests.size()");
  }
  if (inner_ &&
      (inner_->num_models() != models_.size() || inner_->num_queries() != queries_.size())) {
    return Status::InvalidArgument(
        "CachedEvaluator", "the inner evaluator has " + std::to_string(inner_->num_models()) +
                               " models x " + std::to_string(inner_->num_queries()) +
                               " queries, the digests " + std::to_string(models_.size()) + " x " +
                               std::to_string(queries_.size()));
  }
  std::vector<ResultKey> keys(n);
  for (size_t i = 0; i < n; ++i) {
    if (requests[i].model >= models_.size() || requests[i].query >= queries_.size()) {
      return Status::InvalidArgument(
          "CachedEvaluator", "request (model " + std::to_string(requests[i].model) + ", query " +
                                 std::to_string(requests[i].query) + ") out of range");
    }
    keys[i] = KeyOf(requests[i]);
  }
  if (details) details->assign(n, EvalDetail{});

  std::vector<std::optional<CachedResult>> hits;
  GEM_RETURN_IF_ERROR(cache_->MultiGet(keys, &hits));

  // Distinct misses, each remembered with the request positions it answers.
  std::vector<size_t> miss_first;              // position of the first occurrence
  std::vector<size_t> answer_of(n, SIZE_MAX);  // for a repeated miss: its first occurrence
  std::unordered_map<ResultKey, size_t, KeyHash> seen;
  uint64_t cached = 0;
  if (options_.accept) {
    for (auto& h : hits) {
      if (h && !options_.accept(*h)) h.reset();
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (hits[i]) {
      outcomes[i].correct = hits[i]->correct;
      outcomes[i].from_cache = 1;
      if (details) (*details)[i] = hits[i]->ToDetail();
      ++cached;
      continue;
    }
    auto [it, inserted] = seen.emplace(keys[i], i);
    if (inserted) {
      miss_first.push_back(i);
    } else {
      answer_of[i] = it->second;
    }
  }

  if (!miss_first.empty() && inner_ == nullptr) {
    const EvalRequest& r = requests[miss_first[0]];
    cached_.fetch_add(cached, std::memory_order_relaxed);
    return Status::NotFound(
        "cache-only evaluator",
        std::to_string(miss_first.size()) + " pair(s) not cached, first: model " +
            std::to_string(r.model) + " (" + models_[r.model].ShortHex() + ") query " +
            std::to_string(r.query) + " (" + queries_[r.query].ShortHex() + ")");
  }

  Status write_status;
  const size_t chunk = options_.max_inner_batch ? options_.max_inner_batch : miss_first.size();
  const Digest* task = options_.task ? &*options_.task : nullptr;
  for (size_t start = 0; start < miss_first.size(); start += chunk) {
    const size_t m = std::min(chunk, miss_first.size() - start);
    std::vector<EvalRequest> sub(m);
    for (size_t j = 0; j < m; ++j) sub[j] = requests[miss_first[start + j]];
    std::vector<EvalOutcome> sub_out(m);
    std::vector<EvalDetail> sub_details;
    inner_calls_.fetch_add(1, std::memory_order_relaxed);
    run_.fetch_add(m, std::memory_order_relaxed);
    Status s = inner_->Evaluate(sub, sub_out, &sub_details);
    if (!s.ok()) {
      cached_.fetch_add(cached, std::memory_order_relaxed);
      return s;
    }
    sub_details.resize(m);  // an evaluator without details may leave it empty
    std::vector<ResultKey> wkeys(m);
    std::vector<CachedResult> wvals(m);
    for (size_t j = 0; j < m; ++j) {
      const size_t i = miss_first[start + j];
      outcomes[i] = sub_out[j];
      outcomes[i].correct = sub_out[j].correct ? 1 : 0;
      wkeys[j] = keys[i];
      wvals[j] = CachedResult::FromDetail(sub_out[j].correct, sub_details[j],
                                          cache_->options().max_inline_output);
      if (details) (*details)[i] = std::move(sub_details[j]);
    }
    // Written before the next chunk runs: a crash loses at most the chunk in flight.
    if (options_.write_back && write_status.ok()) {
      write_status = cache_->PutBatch(wkeys, wvals, task);
    }
  }

  for (size_t i = 0; i < n; ++i) {
    if (answer_of[i] == SIZE_MAX) continue;
    outcomes[i].correct = outcomes[answer_of[i]].correct;
    outcomes[i].from_cache = 1;
    if (details) (*details)[i] = (*details)[answer_of[i]];
    ++cached;
  }
  cached_.fetch_add(cached, std::memory_order_relaxed);
  if (!write_status.ok()) return write_status.WithContext("writing results to the cache");
  return Status::OK();
}

Status CachedEvaluator::Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) {
  if (known.size() != requests.size()) {
    return Status::InvalidArgument("CachedEvaluator::Known", "known.size() != requests.size()");
  }
  std::vector<ResultKey> keys(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].model >= models_.size() || requests[i].query >= queries_.size()) {
      return Status::InvalidArgument("CachedEvaluator::Known", "request out of range");
    }
    keys[i] = KeyOf(requests[i]);
  }
  if (!options_.accept) return cache_->MultiContains(keys, known);
  std::vector<std::optional<CachedResult>> hits;
  GEM_RETURN_IF_ERROR(cache_->MultiGet(keys, &hits));
  for (size_t i = 0; i < keys.size(); ++i) known[i] = hits[i] && options_.accept(*hits[i]) ? 1 : 0;
  return Status::OK();
}

}  // namespace gem
