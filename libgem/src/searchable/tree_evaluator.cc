// Copyright the gem authors. The evaluator stack of a search on a tree (MakeEvaluator,
// gem/searchable_tree.h). What gemd's workers and gem-demo-tree both run.
#include <algorithm>
#include <chrono>
#include <thread>

#include "gem/searchable_tree.h"
#include "gem/spread_evaluator.h"

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

// Locks every base's mutex, all or none: a search spread over several devices must not hold one
// copy while waiting for another (two such searches would wait for each other forever).
// Polls every 20 ms; Aborted when `stop` becomes true meanwhile.
Status LockAll(const std::vector<std::shared_ptr<ResidentBase>>& bases,
               std::vector<std::unique_lock<std::mutex>>* locks, const std::atomic<bool>* stop) {
  for (;;) {
    locks->clear();
    for (const auto& b : bases) {
      std::unique_lock<std::mutex> l(b->mu, std::try_to_lock);
      if (!l.owns_lock()) break;
      locks->push_back(std::move(l));
    }
    if (locks->size() == bases.size()) return Status::OK();
    locks->clear();
    if (stop != nullptr && stop->load()) return Status::Aborted("search stopped");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

struct TreeEvaluator::Impl {
  // Declared first, released last: the bases stay held until the engine evaluators are gone.
  std::vector<std::shared_ptr<ResidentBase>> bases;  // the tree's, then more_bases
  std::vector<std::unique_lock<std::mutex>> base_locks;
  std::function<void()> after_chunk;
  std::atomic<uint64_t> passed{0};
  std::vector<std::unique_ptr<EngineEvaluator>> engines;  // one per base
  std::vector<std::unique_ptr<Evaluator>> owned;          // innermost first
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
    engines.clear();
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
  EngineEvaluator::Stats sum;
  for (const auto& e : impl_->engines) {
    const EngineEvaluator::Stats s = e->stats();
    sum.activations += s.activations;
    sum.generate_calls += s.generate_calls;
    sum.sequences += s.sequences;
    sum.tokens_out += s.tokens_out;
    sum.answered_from_pending += s.answered_from_pending;
  }
  return sum;
}

size_t TreeEvaluator::num_devices() const { return std::max<size_t>(1, impl_->engines.size()); }

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
  copt.accept = std::move(options.accept);
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

  // A manifest tree: one search at a time turns the resident base into its candidates (and so
  // each further copy the search spreads over).
  if (options.base != nullptr && options.base->digest != tree.base()->digest) {
    return Status::InvalidArgument("base", "must be a resident copy of the tree's base");
  }
  impl->bases.push_back(options.base != nullptr ? options.base : tree.base());
  for (const auto& b : options.more_bases) {
    if (b == nullptr || b->digest != tree.base()->digest ||
        std::find(impl->bases.begin(), impl->bases.end(), b) != impl->bases.end()) {
      return Status::InvalidArgument("more_bases",
                                     "each must be another resident copy of the tree's base");
    }
    impl->bases.push_back(b);
  }
  GEM_RETURN_IF_ERROR(LockAll(impl->bases, &impl->base_locks, options.stop));
  EngineEvalOptions eo;
  eo.sandbox = options.sandbox;
  eo.progress = options.progress;
  for (const auto& b : impl->bases) {
    auto engine = EngineEvaluator::Create(b->model.get(), tree.candidates(), task.task, eo);
    if (!engine.ok()) return engine.status();
    impl->engines.push_back(std::move(*engine));
  }
  Evaluator* per_variant[kNumPromptVariants];
  for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
    Evaluator* below = impl->engines[0]->variant(v);
    if (impl->engines.size() > 1) {
      std::vector<Evaluator*> devices;
      for (const auto& e : impl->engines) devices.push_back(e->variant(v));
      below = impl->Own(std::make_unique<SpreadEvaluator>(std::move(devices)));
    }
    auto* c = impl->Own(std::make_unique<CachedEvaluator>(cache, stop_below(below, 0),
                                                          tree.model_digests(), task.query_digests,
                                                          *tree.config_digest(v), copt));
    impl->caches.push_back(c);
    per_variant[v] = c;
  }
  impl->top = impl->Own(std::make_unique<BetterVariantEvaluator>(per_variant[0], per_variant[1]));
  return std::unique_ptr<TreeEvaluator>(new TreeEvaluator(std::move(impl)));
}

}  // namespace gem
