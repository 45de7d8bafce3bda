// Copyright the gem authors. cache.stats, cache.export, cache.import.
#include <spdlog/spdlog.h>

#include <sstream>

#include "gem/cache_io.h"
#include "handlers.h"
#include "manifest_trees.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

gem::Result<std::pair<std::shared_ptr<const ServedTree>, const ServedTask*>> FindTask(
    Context& ctx, const std::string& tree_name, const std::string& task_name) {
  auto tree = ctx.trees->Get(tree_name);
  if (!tree) {
    return Status::NotFound("tree '" + tree_name + "'", "not registered (gemctl tree list)");
  }
  const ServedTask* task = tree->FindTask(task_name);
  if (!task) {
    return Status::NotFound("task '" + task_name + "'",
                            "tree '" + tree_name + "' answers: " + tree->TaskList());
  }
  return std::make_pair(tree, task);
}

// The config a request's results are under: the replay config, or a manifest tree's prompt
// variant's.
gem::Result<gem::Digest> ConfigOf(const ServedTree& tree, uint32_t variant) {
  if (!tree.engine) {
    if (variant != 0) {
      return Status::InvalidArgument("variant " + std::to_string(variant),
                                     "replay trees have a single config (variant 0)");
    }
    return tree.config_digest;
  }
  if (variant >= gem::kNumPromptVariants) {
    return Status::InvalidArgument("variant " + std::to_string(variant),
                                   "must be 0 (no system prompt) or 1 (with one)");
  }
  return tree.engine->config_digests[variant];
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
  auto found = FindTask(ctx, req.tree, req.task);
  if (!found.ok()) return found.status();
  const auto& [tree, task] = *found;
  auto config = ConfigOf(*tree, req.variant);
  if (!config.ok()) return config.status();
  gem::ExportOptions opt;
  opt.config = *config;
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
  auto found = FindTask(ctx, req.tree, req.task);
  if (!found.ok()) return found.status();
  const auto& [tree, task] = *found;
  auto config = ConfigOf(*tree, req.variant);
  if (!config.ok()) return config.status();
  std::istringstream in(req.content);
  std::string source = req.file_name.empty() ? "import" : req.file_name;
  gem::ImportSummary summary;
  if (req.format == "csv") {
    gem::MatrixImportOptions opt;
    opt.task = task->digest;
    opt.config = *config;
    GEM_RETURN_IF_ERROR(gem::ImportMatrixCsv(ctx.cache.get(), in, source, opt, &summary));
  } else if (req.format == "lm-eval") {
    if (req.model >= tree->model_digests.size()) {
      return Status::InvalidArgument(
          "model " + std::to_string(req.model),
          "tree '" + req.tree + "' has " + std::to_string(tree->model_digests.size()) + " models");
    }
    gem::LmEvalImportOptions opt;
    opt.model_name = req.tree + "/" + tree->model_ids[req.model];
    opt.model = tree->model_digests[req.model];
    opt.task_name = req.tree + "/" + task->name;
    opt.task = task->digest;
    opt.config = *config;
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
