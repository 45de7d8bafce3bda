// Copyright the gem authors. Tree scan: from folders of checkpoints to a tree manifest.
//
// ScanTree() walks Hugging Face model folders (a mirror such as /models/ORG/NAME, or single
// model directories) and the Hugging Face hub cache layout (models--ORG--NAME/refs/main ->
// snapshots/<commit>/), reads each model's config.json, adapter_config.json
// (base_model_name_or_path) and model card (README.md YAML front matter: base_model,
// base_model_relation, tags, downloads), links every model to its parent, and returns what
// WriteScanManifest() writes as a manifest (docs/MANIFEST.md) that RegisterTree() accepts
// unchanged. docs/TREE_SCAN.md states every rule; the short form:
//
//   * identity: a cache entry models--ORG--NAME is "ORG/NAME"; a plain folder is its path
//     relative to the scanned root (so /mirror/ORG/NAME scanned as /mirror is "ORG/NAME"), or its
//     own name when the root is the model folder itself.
//   * parent: adapter_config.json's base_model_name_or_path, else the card's base_model (the
//     first one, for a merge). A reference matches a scanned model by identity, or as a path
//     (relative to the model's folder, or absolute) to a scanned model's folder.
//   * relation: the card's base_model_relation (HF's adapter, merge, quantized, finetune; gem
//     writes "quantization" for "quantized"); without one it is inferred as the Hub does
//     (adapter_config.json -> adapter; quantised weights -> quantization; several base models
//     -> merge; else finetune), and the inference is noted on the model.
//   * the base: --base, else the one scanned model that names no parent.
//   * popularity: the downloads CSV, else the card's `downloads:` (gem's convention; the Hub's
//     cards carry none), else unknown.
//   * digest: what registration computes (the weights digest; for an adapter its LoRA digest;
//     for a delta checkpoint the digest its header names), so registration can check that the
//     files it registers are the ones scanned.
//
// Nothing is guessed: a model that cannot be placed (a card that does not parse, a parent that
// is not among the scanned models or was itself left out, a chain that does not reach the base,
// an adapter on something other than the base, quantised weights gem cannot serve, contradicting
// files, no weights) is left out of the manifest and listed with the reason.
//
// Thread-safety: free functions, reentrant. ScanTree reads files only; WriteScanManifest writes
// one file.
#ifndef GEM_TREE_SCAN_H_
#define GEM_TREE_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gem/digest.h"
#include "gem/manifest.h"
#include "gem/status.h"

namespace gem {

struct ScanOptions {
  // Folders to walk (model folders, mirrors, hub caches, single cache entries). At least one.
  std::vector<std::string> roots;
  // The tree's base: a scanned model's identity ("ORG/NAME") or a path to its folder (which is
  // scanned too when it lies outside the roots). "" (default): the one scanned model that names
  // no parent; several such models is an error that lists them.
  std::string base;
  // Optional CSV of downloads: a header with a `downloads` column and an identity column
  // (`model`, `repo`, `repo_id` or `id`). Overrides the cards' downloads. Default: none.
  std::string downloads_csv;
  // The tree's name in the manifest. Default: the base's identity with '/' replaced by '-',
  // followed by "-tree".
  std::string name;
  // Compute digests (reads every weight once, as registration does). Default: true.
  bool digests = true;
  // Optional progress lines ("hashing ORG/NAME", ...), called from the scanning thread.
  std::function<void(const std::string&)> progress;
};

// One placed model (the base or a candidate).
struct ScannedModel {
  std::string id;        // identity, the manifest name ("ORG/NAME", or the folder's path)
  std::string dir;       // the folder read (a cache entry's snapshot directory)
  std::string entry;     // what the manifest's "path" names: dir, or the cache entry
  std::string revision;  // cache entries: the snapshot's commit ("" otherwise)
  CandidateKind kind = CandidateKind::kFinetune;  // how registration loads it
  std::string relation;                           // "base", "finetune", "adapter",
                                                  // "quantization" or "merge"
  std::string parent;                             // the parent's id ("" for the base)
  std::vector<std::string> merged_from;           // merges: every base_model the card lists
  int64_t downloads = -1;                         // -1 = unknown
  std::string downloads_source;                   // "csv", "card" or ""
  std::vector<std::string> tags;                  // the card's tags
  Digest digest;                                  // zero when ScanOptions::digests is false
  std::vector<std::string> notes;  // what was inferred or overridden, e.g. "relation inferred:
                                   // adapter_config.json present"
};

// A model found but left out, and why.
struct ScanProblem {
  std::string id;      // its identity ("" when it has none, e.g. a cache entry without snapshot)
  std::string path;    // the folder
  std::string reason;  // e.g. "README.md line 3, column 7: ... (YAML)"; several joined by "; "
};

struct TreeScan {
  std::string name;
  ScannedModel base;
  std::vector<ScannedModel> candidates;  // placed descendants, parents before children, then by id
  std::vector<ScanProblem> left_out;     // by path
  std::vector<std::string> warnings;     // problems that did not stop placement (a card's bad
                                         // downloads, ids in the CSV that nothing scanned has)
  size_t models_seen() const { return 1 + candidates.size() + left_out.size(); }
};

// Scans the roots. Errors (nothing to write): no roots, a root that does not exist, an
// unreadable or malformed downloads CSV (line named), no base found or several candidates for
// it (listed), a --base that names nothing scanned. Per-model problems are in left_out.
Result<TreeScan> ScanTree(const ScanOptions& options);

// The manifest (docs/MANIFEST.md, version 1) of a scan, as JSON text: absolute paths, each
// cache entry pinned to its scanned commit with "revision", and "relation", "digest" and (merges)
// "merged_from" on every entry.
std::string ScanManifestJson(const TreeScan& scan);

// Writes ScanManifestJson to `path` (atomically: a temp file, then rename). IOError naming the
// path.
Status WriteScanManifest(const TreeScan& scan, const std::string& path);

}  // namespace gem

#endif  // GEM_TREE_SCAN_H_
