// Copyright the gem authors. Running one search job on a worker: the search on the tree's
// evaluator stack (gem::MakeEvaluator: the cache in front of the replayed matrix or of the engine,
// gem/searchable_tree.h), live progress, and the job's final state.
//
// A resumed or repeated search runs the same seeded search again: what was cached is answered by
// the cache, so it pays only for what is missing. For manifest trees evaluations_run and
// evaluations_cached count (model, query, variant) results, two per pair.
//
// The executor seam: a job with executor "slurm" gets the same stack with the cluster below the
// cache (gem::TreeEvaluatorOptions::below_cache = the job's cluster::RemoteEvaluation): the same
// search, the same cache keys and results, evaluated by gem-workers (docs/CLUSTER.md). Where each
// round's units ran is recorded in the job's `placements`.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "cluster/remote_evaluator.h"
#include "context.h"
#include "devices.h"
#include "gem/search.h"
#include "gem/searchable_tree.h"
#include "report_data.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

int64_t Now() { return NowMs() / 1000; }  // unix seconds

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
  const gem::SearchableTask* task = tree ? tree->FindTask(job->task) : nullptr;
  (void)ctx.jobs->Update(id, [&](proto::JobInfo& j) {
    j.status = proto::kJobRunning;
    j.started_at = Now();
    j.finished_at = 0;
    j.device = device;
    j.attempts += 1;
    j.error.clear();
    j.progress = {};
    j.progress.budget = gem::SearchBudget(j.queries_per_model, tree ? tree->num_models() : 0);
    j.evaluations_run = 0;
    j.evaluations_cached = 0;
    j.placements.clear();
    if (j.executor.empty()) j.executor = "local";
  });
  if (!task) {
    Finish(ctx, id, proto::kJobFailed,
           tree ? "tree '" + job->tree + "' has no task '" + job->task + "'"
                : "tree '" + job->tree + "' is not registered");
    return;
  }
  // A manifest tree's search on a GPU runs on that GPU's own copy of the base (the CUDA backend);
  // on a CPU worker, on the copy trees open with.
  // A slurm search's device ("slurm:N") is a slot of the cluster scheduler, not hardware: its
  // evaluations run on the workers, so it neither loads a base here nor borrows local devices.
  const bool manifest = tree->kind() == gem::SearchableTree::Kind::kManifest;
  const bool local = job->executor != "slurm";
  const std::string kind = DeviceKind(device);
  std::shared_ptr<gem::ResidentBase> own_base;
  if (manifest && local && kind != "cpu") {
    auto b = ctx.bases->Get(tree->base()->path, tree->base()->digest, device);
    if (!b.ok()) {
      Finish(ctx, id, proto::kJobFailed, device + ": " + b.status().ToString());
      return;
    }
    own_base = std::move(*b);
  }
  // It spreads its rounds over the idle devices the spread setting admits, each with its own
  // resident copy of the base (loaded the first time a device needs it): GPUs over GPUs ("gpu",
  // "all"), CPU workers over CPU workers ("all"). Never both in one search: all its results are
  // cached under one numerics id (docs/GPU.md, "Cache sharing between backends").
  std::vector<std::string> lent;
  std::vector<std::shared_ptr<gem::ResidentBase>> more_bases;
  const bool spread = ctx.config.spread == "all" || (ctx.config.spread == "gpu" && kind != "cpu");
  if (manifest && local && spread) {
    lent = ctx.scheduler->Borrow(device,
                                 [&kind](const std::string& d) { return DeviceKind(d) == kind; });
    std::vector<std::string> unused;
    for (const std::string& d : lent) {
      auto b = ctx.bases->Get(tree->base()->path, tree->base()->digest, d);
      if (!b.ok()) {
        spdlog::warn("job {}: not spreading to {}: {}", id, d, b.status().ToString());
        unused.push_back(d);
        continue;
      }
      more_bases.push_back(std::move(*b));
    }
    if (!unused.empty()) {  // a device without the base goes back to the queue now
      std::erase_if(lent, [&](const std::string& d) {
        return std::find(unused.begin(), unused.end(), d) != unused.end();
      });
      ctx.scheduler->Release(unused);
    }
  }
  std::string devices = device;
  for (const auto& b : more_bases) devices += "," + b->device;
  if (devices != device) (void)ctx.jobs->Update(id, [&](proto::JobInfo& j) { j.device = devices; });
  spdlog::info("job {} running on {}: tree {} task {} method {} N={} seed={} (user {})", id,
               devices, job->tree, job->task, job->method, job->queries_per_model, job->seed,
               job->user);

  gem::TreeEvaluatorOptions eo;
  eo.base = std::move(own_base);
  eo.more_bases = std::move(more_bases);
  eo.stop = stop.get();
  eo.delay_ms = ctx.config.replay_eval_delay_ms;
  eo.max_inner_batch = ctx.config.eval_batch;
  eo.sandbox = ctx.sandbox;  // hides the data dir and gemd's socket (main.cc: GraderSandbox)
  // Others' imports only when trusted (access.h): a forged import cannot change this search.
  eo.accept = ctx.access.ResultFilter(JobOwner(*job));
  eo.progress = [id](const std::string& line) { spdlog::debug("job {}: {}", id, line); };

  // The slurm executor: the cluster below the cache. Units completed in the batch in progress
  // are kept by worker until on_progress says which round the batch was.
  std::unique_ptr<gem::cluster::RemoteEvaluation> remote;
  std::map<std::string, proto::Placement> batch_placements;  // by worker; this thread only
  gem::Status setup;
  if (job->executor == "slurm") {
    spdlog::info("job {}: evaluations on the cluster", id);
    auto spec =
        ctx.cluster
            ? ctx.cluster->Spec(*tree, *task)
            : gem::Result<std::shared_ptr<const gem::cluster::TreeSpec>>(Status::FailedPrecondition(
                  "executor 'slurm'", "this gemd has no cluster (cluster.worker_endpoint)"));
    if (spec.ok()) {
      remote = std::make_unique<gem::cluster::RemoteEvaluation>(
          ctx.cluster->dispatcher(), ctx.cache.get(), *spec, id, stop.get(),
          [&](const gem::cluster::Placement& where, uint32_t answered) {
            proto::Placement& p = batch_placements[where.worker];
            p.worker = where.worker;
            p.node = where.node;
            p.gpu = where.gpu;
            p.device = where.device;
            p.units++;
            p.results += answered;
          });
      eo.below_cache = [&](uint32_t v) { return remote->variant(v); };
    } else {
      setup = spec.status();
    }
  }
  auto made = setup.ok() ? gem::MakeEvaluator(*tree, job->task, ctx.cache.get(), std::move(eo))
                         : gem::Result<std::unique_ptr<gem::TreeEvaluator>>(setup);
  std::unique_ptr<gem::TreeEvaluator> ev = made.ok() ? std::move(*made) : nullptr;
  // With the cluster, the workers' results are the evaluations run (a variant they brought
  // along with another is a cache hit for the search, and a result run for the job, as the
  // local engine's both-variant generation counts it); every other answer came from the cache.
  auto run = [&]() -> uint64_t {
    if (!ev) return 0;
    return remote ? remote->results_received() : ev->evaluations_run();
  };
  auto cached = [&]() -> uint64_t {
    if (!ev) return 0;
    if (!remote) return ev->evaluations_cached();
    const uint64_t answered = ev->evaluations_run() + ev->evaluations_cached();
    return answered - std::min(answered, remote->results_received());
  };

  // The algorithm the job started with: a job recorded before method revisions (0) that says
  // "gem" runs gem_v1, the algorithm "gem" named then.
  auto algorithm = gem::ResolveSearchMethod(job->method, job->method_revision);
  if (!algorithm.ok()) {
    Finish(ctx, id, proto::kJobFailed, algorithm.status().ToString());
    return;
  }
  gem::SearchOptions opt = tree->search_options();
  opt.method = *algorithm;
  opt.queries_per_model = job->queries_per_model;
  opt.seed = job->seed;
  opt.cancel = stop.get();
  // Progress: exact after each search batch (on_progress); in between, after each evaluator
  // chunk, `spent` advances by the results answered since the last batch (for manifest trees,
  // per pair: a pair has one result per prompt variant).
  uint64_t spent_at_batch = 0, answered_at_batch = 0;
  opt.on_progress = [&](const gem::SearchProgress& p) {
    spent_at_batch = p.spent;
    answered_at_batch = run() + cached();
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.progress = {p.spent, p.budget, p.round, p.survivors, p.leader};
          j.evaluations_run = run();
          j.evaluations_cached = cached();
          for (auto& entry : batch_placements) {
            // Not a structured binding: clang 14 (the sanitizer builds) cannot capture one.
            const auto& worker = entry.first;
            auto& placed = entry.second;
            auto same = std::find_if(j.placements.begin(), j.placements.end(), [&](auto& x) {
              return x.round == p.round && x.worker == worker;
            });
            if (same == j.placements.end()) {
              placed.round = p.round;
              j.placements.push_back(placed);
            } else {
              same->units += placed.units;
              same->results += placed.results;
            }
          }
        },
        /*persist=*/false);
    batch_placements.clear();
  };
  if (ev) {
    const uint64_t per_pair = ev->results_per_pair();
    ev->set_after_chunk([&, per_pair] {
      const uint64_t answered =
          std::max<uint64_t>(ev->evaluations_passed() + cached(), run() + cached());
      (void)ctx.jobs->Update(
          id,
          [&](proto::JobInfo& j) {
            j.progress.spent = std::max(
                j.progress.spent,
                std::min(j.progress.budget,
                         spent_at_batch +
                             (answered - std::min(answered, answered_at_batch)) / per_pair));
            j.evaluations_run = std::max<uint64_t>(ev->evaluations_passed(), run());
            j.evaluations_cached = cached();
          },
          /*persist=*/false);
    });
  }

  gem::SearchResult result;
  Status st = ev ? gem::Search(opt, ev.get(), &result) : made.status();
  const uint64_t total_run = run(), total_cached = cached();
  ev.reset();  // releases a manifest tree's base (and its copies) for the next search
  ctx.scheduler->Release(lent);
  ctx.evaluations_run += total_run;
  ctx.evaluations_cached += total_cached;
  remote.reset();  // after the evaluators above it
  (void)ctx.jobs->Update(
      id,
      [&](proto::JobInfo& j) {
        j.evaluations_run = total_run;
        j.evaluations_cached = total_cached;
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
    for (uint32_t m = 0; m < tree->num_models(); ++m) {
      proto::ModelTally t;
      t.index = m;
      t.name = tree->models()[m].name;
      t.popularity = tree->models()[m].popularity;
      if (m < result.pulls.size()) t.pulls = result.pulls[m];
      if (m < result.wins.size()) t.wins = result.wins[m];
      r.models.push_back(std::move(t));
    }
    (void)ctx.jobs->Update(
        id,
        [&](proto::JobInfo& j) {
          j.chosen_model = result.chosen_model;
          j.chosen_model_digest = tree->models().at(result.chosen_model).digest.Hex();
          j.chosen_model_name = tree->models().at(result.chosen_model).name;
          j.progress.leader = result.chosen_model;
          // The name stays the one asked for; the revision says which algorithm ran.
          if (j.method_revision == 0) j.method_revision = 1;
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
