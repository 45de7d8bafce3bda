// Copyright the gem authors. cache.stats, cache.export, cache.import.
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "gem/cache_io.h"
#include "handlers.h"
#include "request_limits.h"

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
  // A full scan of the store, so: off the server thread, one at a time (the server's reads
  // queue), and only when something was written since the last one (RocksDB's sequence number
  // counts every write), so a flood of requests costs one scan.
  std::shared_ptr<const gem::CacheStats> stats;
  {
    std::lock_guard<std::mutex> lock(ctx.stats_mu);
    const uint64_t sequence = ctx.cache->store()->db()->GetLatestSequenceNumber();
    if (!ctx.last_stats || sequence != ctx.last_stats_sequence) {
      auto fresh = ctx.cache->Stats();
      if (!fresh.ok()) return fresh.status();
      ctx.last_stats = std::make_shared<const gem::CacheStats>(std::move(*fresh));
      ctx.last_stats_sequence = sequence;
    }
    stats = ctx.last_stats;
  }
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

BodyResult Import(Context& ctx, const PeerInfo& peer, const proto::CacheImportRequest& req) {
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
    opt.imported_by = peer.Principal();
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
    opt.imported_by = peer.Principal();
    GEM_RETURN_IF_ERROR(gem::ImportLmEvalSamples(ctx.cache.get(), in, source, opt, &summary));
  } else {
    return Status::InvalidArgument("format '" + req.format + "'", "must be csv or lm-eval");
  }
  // Other users' searches use these results only when an admin trusts the importer (access.h).
  spdlog::info("cache import {} into {}/{} by {} ({}): {} written, {} kept{}", LogSafe(source),
               req.tree, req.task, peer.Describe(), RoleName(peer.role), summary.results_written,
               summary.results_kept,
               peer.role >= Role::kAdmin ? "" : "; used by other users only if an admin trusts it");
  return proto::ReplyBody(proto::CacheImportReply{summary.results_written, summary.results_kept});
}

}  // namespace

BodyResult HandleCache(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  if (std::holds_alternative<proto::CacheStatsRequest>(req.body)) return Stats(ctx);
  if (auto* r = std::get_if<proto::CacheExportRequest>(&req.body)) return Export(ctx, *r);
  if (auto* r = std::get_if<proto::CacheImportRequest>(&req.body)) return Import(ctx, peer, *r);
  return Status::NotSupported("request type '" + req.type + "'");
}

}  // namespace gemd
