// Copyright the gem authors. The cluster behind a search's evaluator seam (remote_evaluator.h).
#include "cluster/remote_evaluator.h"

namespace gem::cluster {

class RemoteEvaluation::Variant final : public Evaluator {
 public:
  Variant(RemoteEvaluation* owner, uint32_t v) : owner_(owner), v_(v) {}
  uint32_t num_models() const override {
    return static_cast<uint32_t>(owner_->tree_->models.size());
  }
  uint32_t num_queries() const override {
    return static_cast<uint32_t>(owner_->tree_->queries.size());
  }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    return owner_->Evaluate(v_, requests, outcomes, details);
  }

 private:
  RemoteEvaluation* owner_;
  uint32_t v_;
};

RemoteEvaluation::RemoteEvaluation(Dispatcher* dispatcher, Cache* cache,
                                   std::shared_ptr<const TreeSpec> tree, uint64_t job,
                                   const std::atomic<bool>* stop,
                                   std::function<void(const Placement&, uint32_t)> on_unit)
    : dispatcher_(dispatcher),
      cache_(cache),
      tree_(std::move(tree)),
      job_(job),
      stop_(stop),
      on_unit_(std::move(on_unit)) {
  for (uint32_t v = 0; v < tree_->configs.size(); ++v) {
    variants_.push_back(std::make_unique<Variant>(this, v));
  }
}

RemoteEvaluation::~RemoteEvaluation() = default;

Evaluator* RemoteEvaluation::variant(uint32_t v) { return variants_.at(v).get(); }

Status RemoteEvaluation::Evaluate(uint32_t v, std::span<const EvalRequest> requests,
                                  std::span<EvalOutcome> outcomes,
                                  std::vector<EvalDetail>* details) {
  const TreeSpec& t = *tree_;
  std::vector<Triple> triples;
  triples.reserve(requests.size());
  for (const auto& r : requests) triples.push_back({r.model, r.query, v});
  // Variant 0 brings the other variants of its pairs along, unless the cache has them.
  if (v == 0 && t.configs.size() > 1) {
    for (uint32_t w = 1; w < t.configs.size(); ++w) {
      std::vector<ResultKey> keys;
      keys.reserve(requests.size());
      for (const auto& r : requests)
        keys.push_back({t.models[r.model], t.queries[r.query], t.configs[w]});
      std::vector<uint8_t> have(keys.size());
      GEM_RETURN_IF_ERROR(cache_->MultiContains(keys, have));
      for (size_t i = 0; i < requests.size(); ++i) {
        if (!have[i]) triples.push_back({requests[i].model, requests[i].query, w});
      }
    }
  }
  std::vector<TripleResult> results;
  Status st = dispatcher_->Evaluate(tree_, triples, job_, stop_, &results, on_unit_);
  if (!st.ok()) return st;
  received_.fetch_add(triples.size(), std::memory_order_relaxed);
  if (details) details->resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    outcomes[i].correct = results[i].correct;
    outcomes[i].from_cache = 0;
    if (details) (*details)[i] = std::move(results[i].detail);
  }
  return Status::OK();
}

}  // namespace gem::cluster
