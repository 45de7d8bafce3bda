// Copyright the gem authors. The evaluator stack of a search on a tree (MakeEvaluator,
// gem/searchable_tree.h). What gemd's workers and gem-demo-tree both run.
#include <chrono>
#include <thread>

#include "gem/searchable_tree.h"

namespace gem {
namespace {

// Below the cache: checks the stop flag before each chunk it passes on, counts the results it
// passed, and (replay) makes a replayed evaluation take time, like a real one would, so that
// progress, cancellation and crash recovery can be seen and tested. Sleeps in slices so a stop
// request is honoured within ~20 ms.
class StopEvaluator final : public Evaluator {
 public:
  StopEvaluator(Evaluator* inner, double delay_ms, const std::atomic<bool>* stop,
                std::atomic<uint64_t>* passed, const std::function<void()>* after_chunk)
      : inner_(inner),
        delay_ms_(delay_ms),
        stop_(stop),
        passed_(passed),
        after_chunk_(after_chunk) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    if (delay_ms_ > 0) {
      const auto until =
          std::chrono::steady_clock::now() +
          std::chrono::microseconds(static_cast<int64_t>(delay_ms_ * 1000 * requests.size()));
      while (std::chrono::steady_clock::now() < until) {
        if (Stopped()) return Status::Aborted("search stopped");
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
      }
    }
    if (Stopped()) return Status::Aborted("search stopped");
    Status st = inner_->Evaluate(requests, outcomes, details);
    *passed_ += requests.size();
    if (st.ok() && *after_chunk_) (*after_chunk_)();
    return st;
  }

 private:
  bool Stopped() const { return stop_ != nullptr && stop_->load(); }

  Evaluator* inner_;
  double delay_ms_;
  const std::atomic<bool>* stop_;
  std::atomic<uint64_t>* passed_;
  const std::function<void()>* after_chunk_;  // the stack's; may be empty
};

}  // namespace

struct TreeEvaluator::Impl {
  // Declared first, released last: the base stays held until the engine evaluator is gone.
  std::shared_ptr<ResidentBase> base;
  std::unique_lock<std::mutex> base_lock;
  std::function<void()> after_chunk;
  std::atomic<uint64_t> passed{0};
  std::unique_ptr<EngineEvaluator> engine;
  std::vector<std::unique_ptr<Evaluator>> owned;  // innermost first
  std::vector<CachedEvaluator*> caches;
  Evaluator* top = nullptr;

  template <class T>
  T* Own(std::unique_ptr<T> e) {
    T* raw = e.get();
    owned.push_back(std::move(e));
    return raw;
  }

  ~Impl() {
    // Outermost first: each layer refers to the one below it.
    while (!owned.empty()) owned.pop_back();
    engine.reset();
  }
};

TreeEvaluator::TreeEvaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TreeEvaluator::~TreeEvaluator() = default;

uint32_t TreeEvaluator::num_models() const { return impl_->top->num_models(); }
uint32_t TreeEvaluator::num_queries() const { return impl_->top->num_queries(); }
Status TreeEvaluator::Evaluate(std::span<const EvalRequest> requests,
                               std::span<EvalOutcome> outcomes, std::vector<EvalDetail>* details) {
  return impl_->top->Evaluate(requests, outcomes, details);
}
Status TreeEvaluator::Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) {
  return impl_->top->Known(requests, known);
}

uint64_t TreeEvaluator::evaluations_run() const {
  uint64_t n = 0;
  for (const CachedEvaluator* c : impl_->caches) n += c->evaluations_run();
  return n;
}

uint64_t TreeEvaluator::evaluations_cached() const {
  uint64_t n = 0;
  for (const CachedEvaluator* c : impl_->caches) n += c->evaluations_cached();
  return n;
}

uint64_t TreeEvaluator::evaluations_passed() const { return impl_->passed.load(); }

uint32_t TreeEvaluator::results_per_pair() const {
  return static_cast<uint32_t>(impl_->caches.size());
}

EngineEvaluator::Stats TreeEvaluator::engine_stats() const {
  return impl_->engine ? impl_->engine->stats() : EngineEvaluator::Stats{};
}

void TreeEvaluator::set_after_chunk(std::function<void()> fn) {
  impl_->after_chunk = std::move(fn);
}

Result<std::unique_ptr<TreeEvaluator>> MakeEvaluator(const SearchableTree& tree,
                                                     std::string_view task_name, Cache* cache,
                                                     TreeEvaluatorOptions options) {
  auto found = tree.GetTask(task_name);
  if (!found.ok()) return found.status();
  const SearchableTask& task = **found;
  auto impl = std::make_unique<TreeEvaluator::Impl>();
  impl->after_chunk = std::move(options.after_chunk);
  CachedEvaluatorOptions copt;
  copt.task = task.digest;
  copt.max_inner_batch = options.max_inner_batch;
  auto stop_below = [&](Evaluator* inner, double delay_ms) {
    return impl->Own(std::make_unique<StopEvaluator>(inner, delay_ms, options.stop, &impl->passed,
                                                     &impl->after_chunk));
  };

  if (options.below_cache) {
    // Another executor answers the misses and writes them: the caches only read, and pass a
    // batch's misses in one call (the more at once, the more workers can share them).
    copt.write_back = false;
    copt.max_inner_batch = 0;
    std::vector<Evaluator*> per_variant;
    for (uint32_t v = 0; v < tree.num_variants(); ++v) {
      Evaluator* below = options.below_cache(v);
      if (below == nullptr) {
        return Status::InvalidArgument("below_cache(" + std::to_string(v) + ")", "is null");
      }
      auto* c = impl->Own(
          std::make_unique<CachedEvaluator>(cache, stop_below(below, 0), tree.model_digests(),
                                            task.query_digests, *tree.config_digest(v), copt));
      impl->caches.push_back(c);
      per_variant.push_back(c);
    }
    impl->top =
        per_variant.size() == 1
            ? per_variant[0]
            : impl->Own(std::make_unique<BetterVariantEvaluator>(per_variant[0], per_variant[1]));
    return std::unique_ptr<TreeEvaluator>(new TreeEvaluator(std::move(impl)));
  }

  if (tree.kind() == SearchableTree::Kind::kReplay) {
    auto* matrix = impl->Own(std::make_unique<MatrixEvaluator>(task.population.matrix,
                                                               /*replay_record=*/false));
    auto* cached = impl->Own(std::make_unique<CachedEvaluator>(
        cache, stop_below(matrix, options.delay_ms), tree.model_digests(), task.query_digests,
        *tree.config_digest(0), copt));
    impl->caches = {cached};
    impl->top = cached;
    return std::unique_ptr<TreeEvaluator>(new TreeEvaluator(std::move(impl)));
  }

  // A manifest tree: one search at a time turns the resident base into its candidates.
  impl->base = tree.base();
  impl->base_lock = std::unique_lock<std::mutex>(impl->base->mu, std::defer_lock);
  while (!impl->base_lock.try_lock()) {
    if (options.stop != nullptr && options.stop->load()) return Status::Aborted("search stopped");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EngineEvalOptions eo;
  eo.sandbox = options.sandbox;
  eo.progress = options.progress;
  auto engine = EngineEvaluator::Create(impl->base->model.get(), tree.candidates(), task.task, eo);
  if (!engine.ok()) return engine.status();
  impl->engine = std::move(*engine);
  Evaluator* per_variant[kNumPromptVariants];
  for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
    auto* c = impl->Own(std::make_unique<CachedEvaluator>(
        cache, stop_below(impl->engine->variant(v), 0), tree.model_digests(), task.query_digests,
        *tree.config_digest(v), copt));
    impl->caches.push_back(c);
    per_variant[v] = c;
  }
  impl->top = impl->Own(std::make_unique<BetterVariantEvaluator>(per_variant[0], per_variant[1]));
  return std::unique_ptr<TreeEvaluator>(new TreeEvaluator(std::move(impl)));
}

}  // namespace gem
