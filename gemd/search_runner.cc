// Copyright the gem authors. Running one search job on a worker: the evaluator stack, the
// search, and the job's final state.
//
// The stack, outermost first:
//   gem::Search  ->  CachedEvaluator (MultiGet; misses in chunks of eval_batch, each written to
//   the cache as it returns)  ->  DelayEvaluator (replay_eval_delay_ms per pair; honours the stop
//   flag)  ->  MatrixEvaluator (the replayed 0/1 matrix, counted as fresh evaluations)
// A resumed or repeated search runs the same seeded search again: what was cached is answered
// by the cache, so it pays only for what is missing.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include "context.h"
#include "gem/population.h"
#include "gem/search.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Makes a replayed evaluation take time, like a real one would, so that progress, cancellation
// and crash recovery can be seen and tested. Sleeps in slices so a stop request is honoured
// within ~20 ms.
class DelayEvaluator final : public gem::Evaluator {
 public:
  DelayEvaluator(gem::Evaluator* inner, double delay_ms, const std::atomic<bool>* stop)
      : inner_(inner), delay_ms_(delay_ms), stop_(stop) {}
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
    evaluated_ += requests.size();
    if (st.ok() && after_chunk) after_chunk(evaluated_);
    return st;
  }

  // Called after each inner call with the pairs evaluated so far: live progress within a round
  // (a round of a large tree can take long on a real engine).
  std::function<void(uint64_t)> after_chunk;

 private:
  uint64_t evaluated_ = 0;
  gem::Evaluator* inner_;
  double delay_ms_;
  const std::atomic<bool>* stop_;
};

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
  const ReplayTask* task = tree ? tree->FindTask(job->task) : nullptr;
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

  gem::MatrixEvaluator matrix(task->population.matrix, /*replay_record=*/false);
  DelayEvaluator slow(&matrix, ctx.config.replay_eval_delay_ms, stop.get());
  gem::CachedEvaluatorOptions copt;
  copt.task = task->digest;
  copt.max_inner_batch = ctx.config.eval_batch;
  gem::CachedEvaluator cached(ctx.cache.get(), &slow, tree->model_digests, task->query_digests,
                              tree->config_digest, copt);

  gem::SearchOptions opt;
  opt.method = job->method;
  opt.queries_per_model = job->queries_per_model;
  opt.seed = job->seed;
  opt.shuffle_queries = false;  // the task's order: repeated and overlapping searches share pairs
  if (tree->popularity.size() == tree->model_digests.size()) opt.popularity = tree->popularity;
  opt.cancel = stop.get();
  // Progress: exact after each search batch (on_progress); in between, after each evaluator
  // chunk, `spent` advances by the pairs answered since the last batch.
  uint64_t spent_at_batch = 0, answered_at_batch = 0;
  opt.on_progress = [&](const gem::SearchProgress& p) {
    spent_at_batch = p.spent;
    answered_at_batch = cached.evaluations_run() + cached.evaluations_cached();
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.progress = {p.spent, p.budget, p.round, p.survivors, p.leader};
          j.evaluations_run = cached.evaluations_run();
          j.evaluations_cached = cached.evaluations_cached();
        },
        /*persist=*/false);
  };
  slow.after_chunk = [&](uint64_t evaluated) {
    const uint64_t answered =
        std::max<uint64_t>(evaluated + cached.evaluations_cached(),
                           cached.evaluations_run() + cached.evaluations_cached());
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.progress.spent =
              std::max(j.progress.spent,
                       std::min(j.progress.budget,
                                spent_at_batch + answered - std::min(answered, answered_at_batch)));
          j.evaluations_run = std::max<uint64_t>(evaluated, cached.evaluations_run());
          j.evaluations_cached = cached.evaluations_cached();
        },
        /*persist=*/false);
  };

  gem::SearchResult result;
  Status st = gem::Search(opt, &cached, &result);
  ctx.evaluations_run += cached.evaluations_run();
  ctx.evaluations_cached += cached.evaluations_cached();
  (void)ctx.jobs->Update(
      id,
      [&](proto::JobInfo& j) {
        j.evaluations_run = cached.evaluations_run();
        j.evaluations_cached = cached.evaluations_cached();
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
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.chosen_model = result.chosen_model;
          j.chosen_model_digest = tree->model_digests.at(result.chosen_model).Hex();
          j.progress.leader = result.chosen_model;
          if (result.method.size()) j.method = result.method;
        },
        /*persist=*/false);
    r.job = *ctx.jobs->Get(id);
    r.job.status = proto::kJobDone;
    // The result is stored before the job says done, so a done job always has its result.
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
