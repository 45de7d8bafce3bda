// Copyright the gem authors. The worker's tree host (host.h) on gemd's tree code.
#include "cluster/worker/host.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "gem/engine_evaluator.h"
#include "gem/population.h"
#include "gem/protocol.h"
#include "manifest_trees.h"
#include "trees.h"

namespace gem::cluster {
namespace {

class GemdTreeHost final : public TreeHost {
 public:
  explicit GemdTreeHost(const HostOptions& options) : options_(options), bases_(options.threads) {}

  Result<std::string> Load(const cluster::Load& load) override {
    Drop();
    protocol::StoredTree record;
    GEM_RETURN_IF_ERROR(protocol::DecodeRecord(load.record, &record));
    gemd::Config config;
    config.data_dir = options_.data_dir.empty() ? load.data_dir : options_.data_dir;
    config.tasks_dir = options_.tasks_dir.empty() ? load.tasks_dir : options_.tasks_dir;
    config.engine_threads = options_.threads;
    auto tree = record.info.format == "manifest" ? gemd::BuildManifestTree(record, config, &bases_)
                                                 : gemd::BuildReplayTree(record);
    if (!tree.ok()) return tree.status().WithContext("tree '" + record.info.name + "'");
    const gemd::ServedTask* task = (*tree)->FindTask(load.task);
    if (task == nullptr) {
      return Status::NotFound("tree '" + record.info.name + "'", "has no task '" + load.task + "'");
    }
    std::vector<Digest> configs;
    if ((*tree)->engine) {
      const auto& engine = *(*tree)->engine;
      configs.assign(std::begin(engine.config_digests), std::end(engine.config_digests));
      EngineEvalOptions eo;
      eo.sandbox.hidden_paths = {options_.sandbox_hide.empty() ? config.data_dir
                                                               : options_.sandbox_hide};
      base_lock_ = std::unique_lock<std::mutex>(engine.base->mu);
      auto ev =
          EngineEvaluator::Create(engine.base->model.get(), engine.candidates, task->task, eo);
      if (!ev.ok()) {
        base_lock_ = {};
        return ev.status();
      }
      engine_ = std::move(*ev);
    } else {
      configs = {(*tree)->config_digest};
      matrix_ = std::make_unique<MatrixEvaluator>(task->population.matrix,
                                                  /*replay_record=*/false);
      delay_ms_ = load.replay_delay_ms;
    }
    tree_ = *tree;
    task_ = task;
    id_ = load.tree;
    return TreeFingerprint(tree_->model_digests, task->digest, task->query_digests, configs).Hex();
  }

  Status Evaluate(const cluster::Unit& unit, std::vector<QueryResult>* results) override {
    results->clear();
    if (unit.tree != id_ || !tree_) {
      return Status::InvalidArgument(
          "unit " + std::to_string(unit.unit),
          "is for tree " + unit.tree + ", this worker holds '" + id_ + "'");
    }
    const uint32_t num_variants = engine_ ? kNumPromptVariants : 1;
    if (unit.model >= tree_->model_digests.size()) {
      return Status::InvalidArgument("unit " + std::to_string(unit.unit), "model out of range");
    }
    std::vector<EvalRequest> requests;
    for (uint32_t q : unit.queries) {
      if (q >= task_->num_queries()) {
        return Status::InvalidArgument("unit " + std::to_string(unit.unit), "query out of range");
      }
      requests.push_back({unit.model, q});
    }
    // Per variant, every query; then interleaved as the unit asks.
    std::vector<std::vector<EvalOutcome>> outcomes(unit.variants.size());
    std::vector<std::vector<EvalDetail>> details(unit.variants.size());
    for (size_t k = 0; k < unit.variants.size(); ++k) {
      const uint32_t v = unit.variants[k];
      if (v >= num_variants) {
        return Status::InvalidArgument("unit " + std::to_string(unit.unit),
                                       "variant " + std::to_string(v) + " out of range");
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
    engine_.reset();
    matrix_.reset();
    base_lock_ = {};
    task_ = nullptr;
    tree_.reset();
    id_.clear();
    delay_ms_ = 0;
  }

  HostOptions options_;
  gemd::ResidentBases bases_;
  std::shared_ptr<const gemd::ServedTree> tree_;
  const gemd::ServedTask* task_ = nullptr;
  std::unique_ptr<EngineEvaluator> engine_;
  std::unique_ptr<MatrixEvaluator> matrix_;
  std::unique_lock<std::mutex> base_lock_;
  std::string id_;
  double delay_ms_ = 0;
};

}  // namespace

std::unique_ptr<TreeHost> MakeTreeHost(const HostOptions& options) {
  return std::make_unique<GemdTreeHost>(options);
}

}  // namespace gem::cluster
