// Copyright the gem authors. The tree registry: trees gemd can search, and their digests.
//
// A tree is either a manifest tree (real models: a base and its fine-tunes and adapters,
// docs/MANIFEST.md; searched through the inference engine on a resident base: manifest_trees.h)
// or a replay source: a per-model accuracy CSV
// (../shared/data/trees format; each *_pct column is a task, simulated into a 0/1 matrix exactly
// as gem::SimulatePopulation does, with the seed and agreement recorded in the tree) or a real
// 0/1 matrix CSV (one task). A search on a replay tree runs through the same CachedEvaluator as
// an engine search would, so its results land in, and are reused from, the shared cache.
//
// Digests (docs/GEMD.md, "Replay digests"; all SHA-256 over Hasher::Field sequences):
//   content  = SHA-256(file bytes)
//   model i  = H("gem.replay.model.v1", content, i)        i = the row index in the file
//   task     = H("gem.replay.task.v1", content, task, simulation)
//   query j  = H("gem.replay.query.v1", content, task, simulation, j)
//   config   = gem::ConfigDigest({engine_version = "gem.replay.v1"})
// where simulation = "sim:<seed>:<queries>:<agreement>" for accuracy trees and "matrix" for
// matrix trees. Two names for the same file share every digest, hence every cached result.
//
// Thread-safety: TreeRegistry is thread-safe; a ServedTree is immutable once built.
#ifndef GEMD_TREES_H_
#define GEMD_TREES_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "gem/cache.h"
#include "gem/digest.h"
#include "gem/population.h"
#include "gem/protocol.h"
#include "gem/status.h"
#include "gem/task.h"
#include "resident_bases.h"

namespace gemd {

struct EngineTree;  // manifest_trees.h

struct ServedTask {
  std::string name;                       // "gsm8k", "routerbench", ... or the matrix's task
  std::string column;                     // the accuracy column ("" for matrix and manifest trees)
  gem::Population population;             // replay trees
  std::shared_ptr<const gem::Task> task;  // manifest trees: the queries the engine answers
  gem::Digest digest;
  std::vector<gem::Digest> query_digests;
  uint32_t num_queries() const { return static_cast<uint32_t>(query_digests.size()); }
};

struct ServedTree {
  gem::protocol::StoredTree record;
  gem::Digest content_digest;
  std::vector<gem::Digest> model_digests;
  std::vector<std::string> model_ids;
  std::vector<double> popularity;  // empty when the file has none
  std::vector<ServedTask> tasks;
  gem::Digest config_digest;  // manifest trees: prompt variant 0's (engine->config_digests)
  std::shared_ptr<const EngineTree> engine;  // manifest trees only; nullptr for replay trees

  // nullptr when the tree has no such task.
  const ServedTask* FindTask(std::string_view name) const;
  std::string TaskList() const;  // "gsm8k, mbpp, routerbench"
};

// The task an accuracy column answers: "_pct" and then "_total" are stripped
// ("routerbench_total_pct" -> "routerbench", "gsm8k_pct" -> "gsm8k").
std::string TaskNameOfColumn(std::string_view column);

gem::Digest ReplayModelDigest(const gem::Digest& content, uint32_t row);
gem::Digest ReplayTaskDigest(const gem::Digest& content, std::string_view task,
                             std::string_view simulation);
gem::Digest ReplayQueryDigest(const gem::Digest& content, std::string_view task,
                              std::string_view simulation, uint32_t query);
gem::Digest ReplayConfigDigest();

// Parses and (for accuracy trees) simulates a stored tree. Deterministic in the record.
gem::Result<std::shared_ptr<const ServedTree>> BuildReplayTree(
    const gem::protocol::StoredTree& record);

class TreeRegistry {
 public:
  // REQUIRES: cache and bases outlive the registry.
  TreeRegistry(gem::Cache* cache, const Config& config, ResidentBases* bases);

  // Rebuilds every tree recorded in the store ("model load" stage; manifest trees load their
  // base model here). A record that no longer builds is logged and skipped (it stays in the
  // store).
  gem::Status LoadAll();

  // Registers a new tree: validates, builds, persists it and labels its digests in the cache.
  // InvalidArgument (bad name, unreadable CSV: the message names line and column; a manifest
  // tree without tasks, or none of whose candidates fits the base), FailedPrecondition (the
  // name is taken), and the manifest's and loader's errors (they name the file).
  // Registration converts every fine-tune of a manifest tree into a delta, which for large
  // models takes minutes: the server calls it on a thread of its own. Manifest registrations
  // run one at a time (they write into the same data dir).
  gem::Result<gem::protocol::TreeInfo> Register(const gem::protocol::TreeRegisterRequest& request,
                                                const std::string& registered_by);

  std::shared_ptr<const ServedTree> Get(std::string_view name) const;  // nullptr when unknown
  std::vector<gem::protocol::TreeInfo> List() const;                   // by name
  size_t size() const;

 private:
  gem::Result<gem::protocol::TreeInfo> RegisterManifest(
      const gem::protocol::TreeRegisterRequest& request, const std::string& registered_by);
  gem::Status Publish(const gem::protocol::StoredTree& record,
                      std::shared_ptr<const ServedTree> tree);

  gem::Cache* cache_;
  Config config_;
  ResidentBases* bases_;
  std::mutex register_mu_;  // serialises manifest registrations
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedTree>, std::less<>> trees_;  // guarded by mu_
};

}  // namespace gemd

#endif  // GEMD_TREES_H_
