// Copyright the gem authors. Tree manifests: a base model and its candidate descendants.
//
// The format (JSON, version 1) is specified in docs/MANIFEST.md. In short:
//   {"gem_manifest": 1, "name": "my-tree", "hf_cache": "~/.cache/huggingface/hub",
//    "base": {"path": "base-dir", "name": "...", "downloads": 1000, "tags": ["..."]},
//    "candidates": [{"path": "ft-dir", "kind": "finetune", "name": "...", "parent": "...",
//                    "downloads": 12, "tags": ["math"]},
//                   {"repo": "org/name", "revision": "main"},            // an HF cache entry
//                   {"path": "lora-dir", "kind": "adapter"}]}
// Relative paths are relative to the manifest's directory.
//
// Thread-safety: free functions, reentrant.
#ifndef GEM_MANIFEST_H_
#define GEM_MANIFEST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem {

// Optional information about a model; carried into the registered tree record.
struct ModelMeta {
  std::string name;        // display name; default: the directory name (or the HF repo id)
  int64_t downloads = -1;  // -1 = unknown
  std::string parent;      // the name of the model it was derived from ("" = unknown)
  std::vector<std::string> tags;
  // How it derives from its parent: "finetune", "adapter", "quantization" or "merge" ("" =
  // not stated). Informational: registration loads by CandidateKind. Written by tree scans.
  std::string relation;
};

enum class CandidateKind : uint8_t {
  kAuto = 0,      // decided at registration: adapter_config.json present -> adapter
  kFinetune = 1,  // a full fine-tune: an HF model directory
  kAdapter = 2,   // a PEFT LoRA directory
};
const char* CandidateKindName(CandidateKind kind);  // "auto", "finetune", "adapter"

struct ManifestEntry {
  std::string spec;       // what the manifest said ("path" or "repo@revision"), for messages
  std::string path;       // the resolved model directory ("" when it could not be resolved)
  Status resolve_status;  // why `path` could not be resolved (OK otherwise)
  CandidateKind kind = CandidateKind::kAuto;
  ModelMeta meta;
  // The digest registration must find (hex; "" = not stated): the weights digest of a model, the
  // LoRA digest of an adapter. A tree scan writes it; registration refuses a candidate whose
  // files no longer have it.
  std::string digest;
};

struct TreeManifest {
  int version = 1;
  std::string name;    // the tree's name; default: the manifest file's stem
  std::string source;  // the manifest path
  ManifestEntry base;
  std::vector<ManifestEntry> candidates;
};

// Reads and validates a manifest. InvalidArgument naming the file and the field for a malformed
// manifest (unknown version, missing base, a candidate with neither path nor repo, bad field
// types, duplicate candidate names); Corruption for invalid JSON; NotFound for a missing file.
// A candidate whose directory cannot be resolved is NOT an error here: its resolve_status says
// why, so that registration can refuse that one candidate and go on. The base must resolve.
Result<TreeManifest> ReadManifest(const std::string& path);

// The same for a manifest's bytes already read (e.g. to digest them too). `path` is where they
// came from: relative paths in the manifest are resolved against its directory, the default name
// is its stem, and messages name it. Errors as ReadManifest, less NotFound for the file itself.
Result<TreeManifest> ParseManifest(std::string_view text, const std::string& path);

// Resolves a Hugging Face cache entry to its snapshot directory: `entry` is a
// models--ORG--NAME directory; `revision` a branch or tag under refs/ (default "main") or a
// commit hash under snapshots/. A plain model directory is returned unchanged. NotFound naming
// what is missing.
Result<std::string> ResolveHfCacheEntry(const std::string& entry, const std::string& revision);

}  // namespace gem

#endif  // GEM_MANIFEST_H_
