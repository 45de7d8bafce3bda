// Copyright the gem authors. Manifest trees in gemd: real models on a resident base.
//
// tree.register with a manifest (docs/MANIFEST.md) runs gem::RegisterTree into gemd's data dir:
// every fine-tune becomes a lossless (xor) delta against the base at
// <data_dir>/deltas/<digest>.xor.gemdelta, every adapter is copied to <data_dir>/adapters/, and
// the tree record goes to <data_dir>/trees/<record name>.json. gemd's own record (the store's
// trees family) keeps the request, so the tree and its tasks are rebuilt at start-up from the
// tree record without touching the candidates' original files again; only the base's files
// must stay where the manifest put them (the base is loaded from there).
//
// Digests (docs/GEMD.md, "Manifest trees"): models are gem::CandidatesFromTree's (the base's and
// a fine-tune's weights digest, an adapter's lora digest), tasks and queries gem::Task's content
// digests, and the two prompt variants' configs gem::EngineEvaluator::config(v). So results are
// shared with libgem programs (gem-demo-tree) on the same models, and across trees.
//
// Thread-safety: an EngineTree is immutable once built; its base is used under base->mu.
#ifndef GEMD_MANIFEST_TREES_H_
#define GEMD_MANIFEST_TREES_H_

#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "gem/engine_evaluator.h"
#include "gem/protocol.h"
#include "gem/tree.h"
#include "resident_bases.h"
#include "trees.h"

namespace gemd {

struct EngineTree {
  gem::RegisteredTree registered;
  std::vector<gem::EngineCandidate> candidates;  // the base first; the tree's model order
  std::vector<std::string> kinds;                // "base", "finetune" or "adapter", per model
  std::shared_ptr<ResidentBase> base;
  gem::Digest config_digests[gem::kNumPromptVariants];
};

// Builds the served tree of a manifest record: reads the tree record, makes the base resident
// (loading it if no other tree has), lists the candidates and loads the tasks (custom tasks from
// the record's content, built-ins from config.tasks_dir). Deterministic in the record and files.
gem::Result<std::shared_ptr<const ServedTree>> BuildManifestTree(
    const gem::protocol::StoredTree& record, const Config& config, ResidentBases* bases);

}  // namespace gemd

#endif  // GEMD_MANIFEST_TREES_H_
