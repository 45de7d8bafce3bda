// Copyright the gem authors. What a gem-worker evaluates with: the tree gemd told it to load, and
// the evaluator behind it (the replayed matrix, or the inference engine on the tree's base).
//
// A worker holds one tree at a time. Load() builds it from the record gemd sent exactly as gemd
// built its own (the same code, the same files as the node sees them), so model i, query j and
// prompt variant v mean the same on both sides; the fingerprint it returns proves it
// (cluster::TreeFingerprint over the digests the worker computed).
//
// Thread-safety: not thread-safe; the worker's evaluation thread owns its host.
#ifndef GEM_CLUSTER_WORKER_HOST_H_
#define GEM_CLUSTER_WORKER_HOST_H_

#include <memory>
#include <string>
#include <vector>

#include "cluster/wire.h"
#include "gem/status.h"

namespace gem::cluster {

struct HostOptions {
  int threads = 0;           // engine threads (0: all cores of the task)
  std::string data_dir;      // overrides Load::data_dir ("" = as gemd says)
  std::string tasks_dir;     // overrides Load::tasks_dir ("" = as gemd says)
  std::string sandbox_hide;  // a path generated code must not see ("" = the data dir)
};

class TreeHost {
 public:
  virtual ~TreeHost() = default;
  // Builds the tree of `load`, dropping the one held. Returns its fingerprint (hex). Errors name
  // the record, file or task that failed.
  virtual Result<std::string> Load(const cluster::Load& load) = 0;
  // Evaluates `unit` on the held tree: one QueryResult per (query, variant), queries in the
  // unit's order, variants in the unit's order within each query. InvalidArgument when the unit
  // is for another tree or out of range; the engine's and graders' errors as they are.
  virtual Status Evaluate(const cluster::Unit& unit, std::vector<QueryResult>* results) = 0;
  // The id (Load::tree) of the tree held, "" when none.
  virtual std::string tree() const = 0;
};

// The host of this build: gemd's own tree code (replay and manifest trees).
std::unique_ptr<TreeHost> MakeTreeHost(const HostOptions& options);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_WORKER_HOST_H_
