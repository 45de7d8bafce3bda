// Copyright the gem authors. The tree registry (trees.h).
#include "trees.h"

#include <spdlog/spdlog.h>

namespace gemd {

using gem::Result;
using gem::Status;
namespace proto = gem::protocol;

proto::TreeInfo InfoOf(const gem::TreeRecord& r) {
  return {.name = r.name,
          .format = r.format,
          .file_name = r.file_name,
          .digest = r.digest,
          .num_models = r.num_models,
          .num_queries = r.num_queries,
          .sim_seed = r.sim_seed,
          .tasks = r.tasks,
          .registered_by = r.registered_by,
          .registered_at = r.registered_at,
          .base = r.base,
          .refused = r.refused};
}

TreeRegistry::TreeRegistry(gem::Cache* cache, const Config& config, gem::ResidentBases* bases)
    : cache_(cache), config_(config), bases_(bases) {}

gem::SearchableOptions TreeRegistry::Options() const {
  gem::SearchableOptions o;
  o.data_dir = config_.data_dir;
  o.tasks_dir = config_.tasks_dir;
  o.replay.num_queries = config_.replay_queries;
  o.replay.seed = config_.replay_sim_seed;
  o.replay.agreement = config_.replay_agreement;
  o.bases = bases_;
  o.threads = config_.engine_threads;
  return o;
}

Status TreeRegistry::LoadAll() {
  std::vector<Status> unreadable;
  auto records = gem::ReadStoredTrees(*cache_->store(), &unreadable);
  if (!records.ok()) return records.status();
  for (const Status& st : unreadable) spdlog::error("{} (skipped)", st.ToString());
  for (const gem::TreeRecord& r : *records) {
    auto tree = gem::SearchableTree::Open(r, Options());
    if (!tree.ok()) {
      spdlog::error("tree '{}' not loaded: {}", r.name, tree.status().ToString());
      continue;
    }
    if (r.version < gem::kTreeRecordVersion) {
      spdlog::info("tree '{}': a version {} record (read as it is)", r.name, r.version);
    }
    std::lock_guard<std::mutex> lock(mu_);
    trees_[r.name] = *tree;
  }
  return Status::OK();
}

Status TreeRegistry::Taken(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (trees_.count(name)) {
    return Status::FailedPrecondition("tree '" + name + "'", "is already registered");
  }
  return Status::OK();
}

Result<proto::TreeInfo> TreeRegistry::Register(const proto::TreeRegisterRequest& req,
                                               const std::string& registered_by) {
  // clang-format off
  gem::TreeSource source{.name = req.name, .format = req.format, .content = req.content,
                         .file_name = req.file_name, .queries = req.queries, .task = req.task,
                         .manifest = req.manifest, .tasks = {}};
  // clang-format on
  for (const auto& t : req.tasks) source.tasks.push_back({t.name, t.content, t.file_name});

  gem::SearchableOptions options = Options();
  options.registered_by = registered_by;
  options.check_name = [this](const std::string& name) { return Taken(name); };
  options.progress = [name = req.name.empty() ? req.manifest : req.name](const std::string& line) {
    spdlog::info("tree {}: {}", name, line);
  };
  const bool manifest = req.format == "manifest" ||
                        ((req.format.empty() || req.format == "auto") && !req.manifest.empty());
  std::unique_lock<std::mutex> one_at_a_time(register_mu_, std::defer_lock);
  if (manifest) one_at_a_time.lock();
  auto tree = gem::SearchableTree::Register(source, options);
  if (!tree.ok()) return tree.status();

  const std::string& name = (*tree)->name();
  std::lock_guard<std::mutex> lock(mu_);
  if (trees_.count(name)) {
    return Status::FailedPrecondition("tree '" + name + "'", "is already registered");
  }
  GEM_RETURN_IF_ERROR(gem::StoreTree(cache_, **tree));
  trees_[name] = *tree;
  return InfoOf((*tree)->record());
}

std::shared_ptr<const gem::SearchableTree> TreeRegistry::Get(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = trees_.find(name);
  return it == trees_.end() ? nullptr : it->second;
}

std::vector<proto::TreeInfo> TreeRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::TreeInfo> out;
  for (const auto& [name, t] : trees_) out.push_back(InfoOf(t->record()));
  return out;
}

size_t TreeRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trees_.size();
}

}  // namespace gemd
