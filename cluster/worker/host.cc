// Copyright the gem authors. The worker's tree host (host.h) on libgem's searchable trees: the
// tree is opened from gemd's tree record with gem::SearchableTree::Open, as gemd opens it.
#include "cluster/worker/host.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "gem/engine_evaluator.h"
#include "gem/population.h"
#include "gem/searchable_tree.h"

namespace gem::cluster {
namespace {

class SearchableHost final : public TreeHost {
 public:
  explicit SearchableHost(const HostOptions& options)
      : options_(options),
        bases_(options.threads, [](const std::string& line) { spdlog::info("{}", line); }) {}

  Result<std::string> Load(const cluster::Load& load) override {
    Drop();
    auto record = DecodeTreeRecord(load.record);
    if (!record.ok()) return record.status().WithContext("tree record of " + load.tree);
    SearchableOptions so;
    so.data_dir = options_.data_dir.empty() ? load.data_dir : options_.data_dir;
    so.tasks_dir = options_.tasks_dir.empty() ? load.tasks_dir : options_.tasks_dir;
    so.bases = &bases_;
    so.threads = options_.threads;
    auto tree = SearchableTree::Open(*record, so);
    if (!tree.ok()) return tree.status().WithContext("tree '" + record->name + "'");
    auto task = (*tree)->GetTask(load.task);
    if (!task.ok()) return task.status();
    std::vector<Digest> configs;
    for (uint32_t v = 0; v < (*tree)->num_variants(); ++v)
      configs.push_back(*(*tree)->config_digest(v));
    if ((*tree)->kind() == SearchableTree::Kind::kManifest) {
      // Paths gemd recorded under its own data dir (adapters) are found under the node's.
      std::vector<EngineCandidate> candidates = (*tree)->candidates();
      if (!load.origin_data_dir.empty() && load.origin_data_dir != so.data_dir) {
        for (auto& c : candidates) {
          if (c.path.rfind(load.origin_data_dir + "/", 0) == 0) {
            c.path = so.data_dir + c.path.substr(load.origin_data_dir.size());
          }
        }
      }
      EngineEvalOptions eo;
      eo.sandbox.hidden_paths = {options_.sandbox_hide.empty() ? so.data_dir
                                                               : options_.sandbox_hide};
      base_ = (*tree)->base();
      base_lock_ = std::unique_lock<std::mutex>(base_->mu);
      auto ev =
          EngineEvaluator::Create(base_->model.get(), std::move(candidates), (*task)->task, eo);
      if (!ev.ok()) {
        Drop();
        return ev.status();
      }
      engine_ = std::move(*ev);
    } else {
      matrix_ = std::make_unique<MatrixEvaluator>((*task)->population.matrix,
                                                  /*replay_record=*/false);
      delay_ms_ = load.replay_delay_ms;
    }
    num_queries_ = (*task)->num_queries();
    const Digest fp =
        TreeFingerprint((*tree)->model_digests(), (*task)->digest, (*task)->query_digests, configs);
    tree_ = std::move(*tree);
    id_ = load.tree;
    return fp.Hex();
  }

  Status Evaluate(const cluster::Unit& unit, std::vector<QueryResult>* results) override {
    results->clear();
    const std::string what = "unit " + std::to_string(unit.unit);
    if (unit.tree != id_ || !tree_) {
      return Status::InvalidArgument(
          what, "is for tree " + unit.tree + ", this worker holds '" + id_ + "'");
    }
    if (unit.model >= tree_->num_models())
      return Status::InvalidArgument(what, "model out of range");
    std::vector<EvalRequest> requests;
    for (uint32_t q : unit.queries) {
      if (q >= num_queries_) return Status::InvalidArgument(what, "query out of range");
      requests.push_back({unit.model, q});
    }
    // Per variant, every query (the engine generates both variants in its first call and
    // answers the second from them); then interleaved as the unit asks.
    std::vector<std::vector<EvalOutcome>> outcomes(unit.variants.size());
    std::vector<std::vector<EvalDetail>> details(unit.variants.size());
    for (size_t k = 0; k < unit.variants.size(); ++k) {
      const uint32_t v = unit.variants[k];
      if (v >= tree_->num_variants()) {
        return Status::InvalidArgument(what, "variant " + std::to_string(v) + " out of range");
      }
      Evaluator* ev = engine_ ? engine_->variant(static_cast<uint8_t>(v)) : matrix_.get();
      if (!engine_ && delay_ms_ > 0) {  // as gemd's replay.eval_delay_ms does locally
        std::this_thread::sleep_for(
            std::chrono::microseconds(static_cast<int64_t>(delay_ms_ * 1000 * requests.size())));
      }
      outcomes[k].resize(requests.size());
      GEM_RETURN_IF_ERROR(ev->Evaluate(requests, outcomes[k], &details[k]));
      details[k].resize(requests.size());
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      for (size_t k = 0; k < unit.variants.size(); ++k) {
        const EvalDetail& d = details[k][i];
        QueryResult r;
        r.query = requests[i].query;
        r.variant = unit.variants[k];
        r.correct = outcomes[k][i].correct != 0;
        r.output = d.output;
        r.reason = d.reason;
        r.tokens_in = d.tokens_in;
        r.tokens_out = d.tokens_out;
        r.seconds = d.seconds;
        results->push_back(std::move(r));
      }
    }
    return Status::OK();
  }

  std::string tree() const override { return id_; }

 private:
  void Drop() {
    engine_.reset();  // before the base it runs on is released
    matrix_.reset();
    if (base_lock_.owns_lock()) base_lock_.unlock();
    base_lock_ = {};
    base_.reset();
    tree_.reset();
    id_.clear();
    delay_ms_ = 0;
    num_queries_ = 0;
  }

  HostOptions options_;
  ResidentBases bases_;  // a worker that moves between trees on one base loads it once
  std::shared_ptr<const SearchableTree> tree_;
  std::shared_ptr<ResidentBase> base_;
  std::unique_lock<std::mutex> base_lock_;
  std::unique_ptr<EngineEvaluator> engine_;
  std::unique_ptr<MatrixEvaluator> matrix_;
  std::string id_;
  uint32_t num_queries_ = 0;
  double delay_ms_ = 0;
};

}  // namespace

std::unique_ptr<TreeHost> MakeTreeHost(const HostOptions& options) {
  return std::make_unique<SearchableHost>(options);
}

}  // namespace gem::cluster
