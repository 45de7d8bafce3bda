// Copyright the gem authors. Internals of the tree scan (gem/tree_scan.h): model cards, the walk
// over folders and hub caches, and what is read of each model before placing it.
#ifndef GEM_SCAN_SCAN_INTERNAL_H_
#define GEM_SCAN_SCAN_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem::scan_internal {

// What a model card's YAML front matter says (the Hub's model card metadata, plus gem's
// `downloads`). Only the keys the scan uses are read; others are ignored.
struct ModelCard {
  bool present = false;                  // README.md exists
  bool has_front_matter = false;         // it opens with a --- block
  std::vector<std::string> base_models;  // base_model: a string or a list of strings
  std::string relation;                  // base_model_relation as written ("" = absent)
  std::vector<std::string> tags;
  int64_t downloads = -1;
  // Problems that make the card unusable (the model is left out): YAML that does not parse, an
  // unterminated front matter, a base_model or base_model_relation of the wrong type.
  std::vector<std::string> errors;
  // Problems with keys the placement does not need (the model is still placed): bad tags or
  // downloads; each says the value is ignored.
  std::vector<std::string> warnings;
};

// Reads `readme` (a README.md that may not exist). Never fails: problems are in the card, each
// naming the file (by its base name) and, for YAML errors, the line and column in the file.
ModelCard ReadModelCard(const std::string& readme);

// A folder the walk took for a model (or tried to).
struct FoundModel {
  std::string id;        // identity (gem/tree_scan.h)
  std::string dir;       // the folder with the files (a cache entry's snapshot)
  std::string entry;     // the manifest's "path": dir, or the models--ORG--NAME entry
  std::string revision;  // cache entries: the snapshot's commit
  std::string problem;   // set when the walk already knows it cannot be used
};

// True when `dir` holds a model's files: config.json, adapter_config.json, model.gemdelta, a
// .safetensors, .gguf or pytorch_model*.bin file.
bool LooksLikeModelFolder(const std::string& dir);

// Walks `root`: a model folder, a folder of folders (any depth up to 8; hidden folders and a hub
// cache's blobs are skipped), a hub cache (its models--* entries) or one models--ORG--NAME entry.
// Appends what it finds; NotFound when root does not exist.
Status WalkRoot(const std::string& root, std::vector<FoundModel>* out);

// Everything the placement needs to know about one found model (inspect.cc).
struct Inspected {
  FoundModel found;
  ModelCard card;
  std::string canonical_dir;    // fs::canonical of found.dir
  std::string canonical_entry;  // ... of found.entry
  bool adapter = false;         // adapter_config.json present
  std::string adapter_base;     // its base_model_name_or_path ("" when absent or null)
  bool delta_checkpoint = false;
  std::string quantized;  // why its weights are quantised ("" = float weights or none)
  std::string relation;   // decided: finetune, adapter, quantization, merge ("" = names no base)
  std::vector<std::string> problems;  // any one leaves the model out
  std::vector<std::string> warnings;  // noted; the model may still be placed
  std::vector<std::string> notes;     // what was inferred
};

// Reads a found model's card, configs and weight headers, decides its relation and collects its
// problems. Never fails: problems are recorded.
Inspected Inspect(FoundModel found);

// Identity columns a downloads CSV may use, in order of preference.
inline constexpr const char* kDownloadsIdColumns[] = {"model", "repo", "repo_id", "id"};

// Reads a downloads CSV into (identity, downloads) pairs. InvalidArgument naming the file and
// line for a missing column or a value that is not a whole number >= 0; IOError when unreadable.
Result<std::vector<std::pair<std::string, int64_t>>> ReadDownloadsCsv(const std::string& path);

}  // namespace gem::scan_internal

#endif  // GEM_SCAN_SCAN_INTERNAL_H_
