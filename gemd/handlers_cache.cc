// Copyright the gem authors. cache.stats, cache.export, cache.import.
#include <spdlog/spdlog.h>

#include <sstream>

#include "gem/cache_io.h"
#include "handlers.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

// What an export or import is about: a tree's task, and the config (prompt variant) its results
// are under.
struct Target {
  std::shared_ptr<const gem::SearchableTree> tree;
  const gem::SearchableTask* task = nullptr;
  gem::Digest config;
};

gem::Result<Target> FindTarget(Context& ctx, const std::string& tree_name,
                               const std::string& task_name, uint32_t variant) {
  Target t;
  t.tree = ctx.trees->Get(tree_name);
  if (!t.tree) {
    return Status::NotFound("tree '" + tree_name + "'", "not registered (gemctl tree list)");
  }
  auto task = t.tree->GetTask(task_name);
  if (!task.ok()) return task.status();
  t.task = *task;
  auto config = t.tree->config_digest(variant);
  if (!config.ok()) return config.status();
  t.config = *config;
  return t;
}

BodyResult Stats(Context& ctx) {
  auto stats = ctx.cache->Stats();
  if (!stats.ok()) return stats.status();
  proto::CacheStatsReply r;
  r.path = stats->path;
  r.counters["results"] = stats->results;
  r.counters["labels"] = stats->labels;
  r.counters["size_on_disk_bytes"] = stats->size_on_disk_bytes;
  r.counters["tasks"] = stats->tasks.size();
  r.counters["evaluations_run_since_start"] = ctx.evaluations_run.load();
  r.counters["evaluations_cached_since_start"] = ctx.evaluations_cached.load();
  for (const auto& t : stats->tasks) {
    std::string name = t.name.empty() ? t.task.ShortHex() : t.name;
    r.counters["task " + name + " results"] = t.results;
    r.counters["task " + name + " models"] = t.models;
  }
  return proto::ReplyBody(std::move(r));
}

BodyResult Export(Context& ctx, const proto::CacheExportRequest& req) {
  auto target = FindTarget(ctx, req.tree, req.task, req.variant);
  if (!target.ok()) return target.status();
  const auto& [tree, task, config] = *target;
  gem::ExportOptions opt;
  opt.config = config;
  std::ostringstream out;
  gem::ExportSummary summary;
  GEM_RETURN_IF_ERROR(gem::ExportMatrixCsv(*ctx.cache, task->digest, opt, out, &summary));
  proto::CacheExportReply r;
  r.format = "csv";
  r.content = out.str();
  r.entries = summary.cells_filled;
  return proto::ReplyBody(std::move(r));
}

BodyResult Import(Context& ctx, const proto::CacheImportRequest& req) {
  auto target = FindTarget(ctx, req.tree, req.task, req.variant);
  if (!target.ok()) return target.status();
  const auto& [tree, task, config] = *target;
  std::istringstream in(req.content);
  std::string source = req.file_name.empty() ? "import" : req.file_name;
  gem::ImportSummary summary;
  if (req.format == "csv") {
    gem::MatrixImportOptions opt;
    opt.task = task->digest;
    opt.config = config;
    GEM_RETURN_IF_ERROR(gem::ImportMatrixCsv(ctx.cache.get(), in, source, opt, &summary));
  } else if (req.format == "lm-eval") {
    if (req.model >= tree->num_models()) {
      return Status::InvalidArgument(
          "model " + std::to_string(req.model),
          "tree '" + req.tree + "' has " + std::to_string(tree->num_models()) + " models");
    }
    gem::LmEvalImportOptions opt;
    opt.model_name = req.tree + "/" + tree->models()[req.model].name;
    opt.model = tree->models()[req.model].digest;
    opt.task_name = req.tree + "/" + task->name;
    opt.task = task->digest;
    opt.config = config;
    opt.query_digests = task->query_digests;
    GEM_RETURN_IF_ERROR(gem::ImportLmEvalSamples(ctx.cache.get(), in, source, opt, &summary));
  } else {
    return Status::InvalidArgument("format '" + req.format + "'", "must be csv or lm-eval");
  }
  spdlog::info("cache import {} into {}/{}: {} written, {} kept", source, req.tree, req.task,
               summary.results_written, summary.results_kept);
  return proto::ReplyBody(proto::CacheImportReply{summary.results_written, summary.results_kept});
}

}  // namespace

BodyResult HandleCache(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  if (std::holds_alternative<proto::CacheStatsRequest>(req.body)) return Stats(ctx);
  if (auto* r = std::get_if<proto::CacheExportRequest>(&req.body)) return Export(ctx, *r);
  if (auto* r = std::get_if<proto::CacheImportRequest>(&req.body)) return Import(ctx, *r);
  return Status::NotSupported("request type '" + req.type + "'");
}

}  // namespace gemd
