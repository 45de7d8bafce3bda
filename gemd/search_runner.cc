// Copyright the gem authors. Running one search job on a worker: the evaluator stack, the
// search, and the job's final state.
//
// The stack of a replay tree, outermost first:
//   gem::Search  ->  CachedEvaluator (MultiGet; misses in chunks of eval_batch, each written to
//   the cache as it returns)  ->  StopEvaluator (replay_eval_delay_ms per pair; honours the stop
//   flag)  ->  MatrixEvaluator (the replayed 0/1 matrix, counted as fresh evaluations)
// and of a manifest tree (real models on the resident base, which the job holds throughout):
//   gem::Search  ->  BetterVariantEvaluator (each model scores its better prompt variant)
//     ->  per variant v: CachedEvaluator (config v)  ->  StopEvaluator  ->  EngineEvaluator
//   variant v (activates each model once per batch, generates both variants together)
// A resumed or repeated search runs the same seeded search again: what was cached is answered
// by the cache, so it pays only for what is missing. For manifest trees evaluations_run and
// evaluations_cached count (model, query, variant) results, two per pair.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include "context.h"
#include "gem/engine_evaluator.h"
#include "gem/population.h"
#include "gem/search.h"
#include "manifest_trees.h"
#include "report_data.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Checks the job's stop flag before each chunk it passes on, counts the pairs it passed, and
// (replay) makes a replayed evaluation take time, like a real one would, so that progress,
// cancellation and crash recovery can be seen and tested. Sleeps in slices so a stop request is
// honoured within ~20 ms.
class StopEvaluator final : public gem::Evaluator {
 public:
  StopEvaluator(gem::Evaluator* inner, double delay_ms, const std::atomic<bool>* stop,
                std::atomic<uint64_t>* evaluated)
      : inner_(inner), delay_ms_(delay_ms), stop_(stop), evaluated_(evaluated) {}
  uint32_t num_models() const override { return inner_->num_models(); }
  uint32_t num_queries() const override { return inner_->num_queries(); }
  Status Evaluate(std::span<const gem::EvalRequest> requests, std::span<gem::EvalOutcome> outcomes,
                  std::vector<gem::EvalDetail>* details) override {
    if (delay_ms_ > 0) {
      auto until =
          std::chrono::steady_clock::now() +
          std::chrono::microseconds(static_cast<int64_t>(delay_ms_ * 1000 * requests.size()));
      while (std::chrono::steady_clock::now() < until) {
        if (stop_ != nullptr && stop_->load()) return Status::Aborted("search stopped");
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
      }
    }
    if (stop_ != nullptr && stop_->load()) return Status::Aborted("search stopped");
    Status st = inner_->Evaluate(requests, outcomes, details);
    *evaluated_ += requests.size();
    if (st.ok() && after_chunk) after_chunk();
    return st;
  }

  // Called after each inner call: live progress within a round (a round of a large tree can
  // take long on a real engine).
  std::function<void()> after_chunk;

 private:
  gem::Evaluator* inner_;
  double delay_ms_;
  const std::atomic<bool>* stop_;
  std::atomic<uint64_t>* evaluated_;
};

// The evaluators of one job, outermost `top`; see the top of this file.
struct EvalStack {
  gem::Evaluator* top = nullptr;
  std::vector<std::unique_ptr<gem::Evaluator>> owned;
  std::vector<gem::CachedEvaluator*> caches;
  std::vector<StopEvaluator*> stops;
  std::atomic<uint64_t> evaluated{0};  // results passed below the caches (not cached)
  std::unique_ptr<gem::EngineEvaluator> engine;
  const gem::BetterVariantEvaluator* better = nullptr;

  uint64_t run() const {
    uint64_t n = 0;
    for (auto* c : caches) n += c->evaluations_run();
    return n;
  }
  uint64_t cached() const {
    uint64_t n = 0;
    for (auto* c : caches) n += c->evaluations_cached();
    return n;
  }
  void AfterChunk(std::function<void()> fn) {
    for (auto* s : stops) s->after_chunk = fn;
  }
};

template <class T>
T* Own(EvalStack* stack, std::unique_ptr<T> e) {
  T* raw = e.get();
  stack->owned.push_back(std::move(e));
  return raw;
}

Status BuildReplayStack(const Context& ctx, const ServedTree& tree, const ServedTask& task,
                        const std::atomic<bool>* stop, EvalStack* stack) {
  auto* matrix = Own(stack, std::make_unique<gem::MatrixEvaluator>(task.population.matrix,
                                                                   /*replay_record=*/false));
  auto* slow = Own(stack, std::make_unique<StopEvaluator>(matrix, ctx.config.replay_eval_delay_ms,
                                                          stop, &stack->evaluated));
  gem::CachedEvaluatorOptions copt;
  copt.task = task.digest;
  copt.max_inner_batch = ctx.config.eval_batch;
  auto* cached = Own(
      stack, std::make_unique<gem::CachedEvaluator>(ctx.cache.get(), slow, tree.model_digests,
                                                    task.query_digests, tree.config_digest, copt));
  stack->stops = {slow};
  stack->caches = {cached};
  stack->top = cached;
  return Status::OK();
}

// REQUIRES: the caller holds tree.engine->base->mu for as long as the stack is used.
Status BuildEngineStack(const Context& ctx, const ServedTree& tree, const ServedTask& task,
                        uint64_t job, const std::atomic<bool>* stop, EvalStack* stack) {
  const EngineTree& engine = *tree.engine;
  gem::EngineEvalOptions eo;
  eo.sandbox.hidden_paths = {ctx.config.data_dir};  // generated code must not see the cache
  eo.progress = [job](const std::string& line) { spdlog::debug("job {}: {}", job, line); };
  auto ev =
      gem::EngineEvaluator::Create(engine.base->model.get(), engine.candidates, task.task, eo);
  if (!ev.ok()) return ev.status();
  stack->engine = std::move(*ev);
  gem::Evaluator* per_variant[gem::kNumPromptVariants];
  for (uint8_t v = 0; v < gem::kNumPromptVariants; ++v) {
    auto* s = Own(stack, std::make_unique<StopEvaluator>(stack->engine->variant(v), 0, stop,
                                                         &stack->evaluated));
    gem::CachedEvaluatorOptions copt;
    copt.task = task.digest;
    copt.max_inner_batch = ctx.config.eval_batch;
    auto* c = Own(stack, std::make_unique<gem::CachedEvaluator>(
                             ctx.cache.get(), s, tree.model_digests, task.query_digests,
                             engine.config_digests[v], copt));
    stack->stops.push_back(s);
    stack->caches.push_back(c);
    per_variant[v] = c;
  }
  auto* better =
      Own(stack, std::make_unique<gem::BetterVariantEvaluator>(per_variant[0], per_variant[1]));
  stack->better = better;
  stack->top = better;
  return Status::OK();
}

void Finish(Context& ctx, uint64_t id, const std::string& state, const std::string& error) {
  Status st = ctx.jobs->Update(id, [&](proto::JobInfo& j) {
    j.status = state;
    j.error = error;
    j.finished_at = Now();
  });
  if (!st.ok()) spdlog::error("job {}: cannot record state {}: {}", id, state, st.ToString());
  if (state == proto::kJobDone) {
    spdlog::info("job {} done", id);
  } else {
    spdlog::warn("job {} {}: {}", id, state, error);
  }
}

}  // namespace

void RunJob(Context& ctx, uint64_t id, const std::string& device) {
  auto job = ctx.jobs->Get(id);
  if (!job) return;
  auto stop = ctx.jobs->StopFlag(id);
  if (stop->load()) {  // stopped while queued, after the scheduler took it
    std::string as = ctx.jobs->StopState(id);
    Finish(ctx, id, as.empty() ? proto::kJobCancelled : as, "stopped before it started");
    ctx.jobs->ClearStop(id);
    return;
  }
  auto tree = ctx.trees->Get(job->tree);
  const ServedTask* task = tree ? tree->FindTask(job->task) : nullptr;
  (void)ctx.jobs->Update(id, [&](proto::JobInfo& j) {
    j.status = proto::kJobRunning;
    j.started_at = Now();
    j.finished_at = 0;
    j.device = device;
    j.attempts += 1;
    j.error.clear();
    j.progress = {};
    j.progress.budget = uint64_t{j.queries_per_model} * (tree ? tree->model_digests.size() : 0);
    j.evaluations_run = 0;
    j.evaluations_cached = 0;
  });
  if (!task) {
    Finish(ctx, id, proto::kJobFailed,
           tree ? "tree '" + job->tree + "' has no task '" + job->task + "'"
                : "tree '" + job->tree + "' is not registered");
    return;
  }
  spdlog::info("job {} running on {}: tree {} task {} method {} N={} seed={} (user {})", id, device,
               job->tree, job->task, job->method, job->queries_per_model, job->seed, job->user);

  EvalStack stack;
  std::unique_lock<std::mutex> base_lock;
  Status built;
  if (tree->engine) {
    // One search at a time turns a resident base into its candidates.
    base_lock = std::unique_lock<std::mutex>(tree->engine->base->mu, std::defer_lock);
    while (!base_lock.try_lock()) {
      if (stop->load()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    built = base_lock.owns_lock() ? BuildEngineStack(ctx, *tree, *task, id, stop.get(), &stack)
                                  : Status::Aborted("search stopped");
  } else {
    built = BuildReplayStack(ctx, *tree, *task, stop.get(), &stack);
  }

  gem::SearchOptions opt;
  opt.method = job->method;
  opt.queries_per_model = job->queries_per_model;
  opt.seed = job->seed;
  opt.shuffle_queries = false;  // the task's order: repeated and overlapping searches share pairs
  if (tree->popularity.size() == tree->model_digests.size()) opt.popularity = tree->popularity;
  opt.cancel = stop.get();
  // Progress: exact after each search batch (on_progress); in between, after each evaluator
  // chunk, `spent` advances by the results answered since the last batch (for manifest trees,
  // per pair: a pair has one result per prompt variant).
  const uint64_t per_pair = tree->engine ? gem::kNumPromptVariants : 1;
  uint64_t spent_at_batch = 0, answered_at_batch = 0;
  opt.on_progress = [&](const gem::SearchProgress& p) {
    spent_at_batch = p.spent;
    answered_at_batch = stack.run() + stack.cached();
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.progress = {p.spent, p.budget, p.round, p.survivors, p.leader};
          j.evaluations_run = stack.run();
          j.evaluations_cached = stack.cached();
        },
        /*persist=*/false);
  };
  stack.AfterChunk([&] {
    const uint64_t answered =
        std::max<uint64_t>(stack.evaluated.load() + stack.cached(), stack.run() + stack.cached());
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.progress.spent =
              std::max(j.progress.spent,
                       std::min(j.progress.budget,
                                spent_at_batch +
                                    (answered - std::min(answered, answered_at_batch)) / per_pair));
          j.evaluations_run = std::max<uint64_t>(stack.evaluated.load(), stack.run());
          j.evaluations_cached = stack.cached();
        },
        /*persist=*/false);
  });

  gem::SearchResult result;
  Status st = built.ok() ? gem::Search(opt, stack.top, &result) : built;
  if (base_lock.owns_lock()) base_lock.unlock();
  ctx.evaluations_run += stack.run();
  ctx.evaluations_cached += stack.cached();
  (void)ctx.jobs->Update(
      id,
      [&](proto::JobInfo& j) {
        j.evaluations_run = stack.run();
        j.evaluations_cached = stack.cached();
        j.progress.spent = result.spent;
        j.progress.budget = result.budget;
      },
      /*persist=*/false);

  if (st.ok()) {
    proto::SearchResultReply r;
    r.budget = result.budget;
    r.spent = result.spent;
    r.estimated_accuracy = result.estimated_accuracy;
    r.ci_low = result.ci_low;
    r.ci_high = result.ci_high;
    r.p_best = result.p_best;
    r.p_top3 = result.p_top3;
    for (const auto& rt : result.rounds) {
      r.rounds.push_back({rt.round, static_cast<uint32_t>(rt.survivors.size()),
                          rt.queries_per_survivor, rt.spent, rt.correlated});
    }
    for (uint32_t m = 0; m < tree->model_digests.size(); ++m) {
      proto::ModelTally t;
      t.index = m;
      t.name = tree->model_ids[m];
      if (m < tree->popularity.size()) t.popularity = tree->popularity[m];
      if (m < result.pulls.size()) t.pulls = result.pulls[m];
      if (m < result.wins.size()) t.wins = result.wins[m];
      r.models.push_back(std::move(t));
    }
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.chosen_model = result.chosen_model;
          j.chosen_model_digest = tree->model_digests.at(result.chosen_model).Hex();
          j.chosen_model_name = tree->model_ids.at(result.chosen_model);
          j.progress.leader = result.chosen_model;
          if (result.method.size()) j.method = result.method;
        },
        /*persist=*/false);
    r.job = *ctx.jobs->Get(id);
    r.job.status = proto::kJobDone;
    // The trace (report.search) and the result are stored before the job says done, so a done
    // job always has its result.
    if (Status tr = StoreSearchTrace(ctx, id, result); !tr.ok()) {
      spdlog::warn("job {}: cannot store its trace (reports will lack rounds): {}", id,
                   tr.ToString());
    }
    Status put = ctx.jobs->PutResult(id, r);
    if (!put.ok()) {
      Finish(ctx, id, proto::kJobFailed, "cannot store the result: " + put.ToString());
      return;
    }
    Finish(ctx, id, proto::kJobDone, "");
  } else if (st.IsAborted() && stop->load()) {
    std::string as = ctx.jobs->StopState(id);
    if (as.empty()) as = proto::kJobCancelled;
    Finish(
        ctx, id, as,
        as == proto::kJobInterrupted ? "gemd stopped during the search" : "cancelled by request");
  } else {
    Finish(ctx, id, proto::kJobFailed, st.ToString());
  }
  ctx.jobs->ClearStop(id);
}

}  // namespace gemd
