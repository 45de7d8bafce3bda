// Copyright the gem authors. cache.stats, cache.export, cache.import.
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "gem/cache_io.h"
#include "handlers.h"
#include "manifest_trees.h"
#include "request_limits.h"

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

BodyResult Import(Context& ctx, const PeerInfo& peer, const proto::CacheImportRequest& req) {
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
    opt.imported_by = peer.Principal();
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
