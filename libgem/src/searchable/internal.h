// Copyright the gem authors. What the files of the searchable part share (internal).
#ifndef GEM_SEARCHABLE_INTERNAL_H_
#define GEM_SEARCHABLE_INTERNAL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/digest.h"
#include "gem/searchable_tree.h"
#include "gem/status.h"

namespace gem::searchable_internal {

// Builds open trees from records (replay_tree.cc, manifest_tree.cc). The record is kept as given.
struct TreeBuilder {
  static Result<std::shared_ptr<SearchableTree>> Replay(const TreeRecord& record);
  static Result<std::shared_ptr<SearchableTree>> Manifest(const TreeRecord& record,
                                                          const SearchableOptions& options);
  // Registration completes the record once the tree is built (register.cc).
  static TreeRecord& MutableRecord(SearchableTree* tree) { return tree->record_; }
};

// The replay digest scheme (gem/searchable_tree.h, docs/SEARCHABLE.md, "Digests"). Persisted in
// every cache key of a replay tree: never change these.
Digest ReplayModelDigest(const Digest& content, uint32_t row);
Digest ReplayTaskDigest(const Digest& content, std::string_view task, std::string_view simulation);
Digest ReplayQueryDigest(const Digest& content, std::string_view task, std::string_view simulation,
                         uint32_t query);
Digest ReplayConfigDigest();
// "sim:<seed>:<queries>:<agreement>" for accuracy trees, "matrix" for matrix trees.
std::string Simulation(const TreeRecord& record);

// The task an accuracy column answers: "_pct" and then "_total" are stripped
// ("routerbench_total_pct" -> "routerbench", "gsm8k_pct" -> "gsm8k").
std::string TaskNameOfColumn(std::string_view column);

// The fields of a replay CSV's header (its first record). Errors from the CSV reader.
Result<std::vector<std::string>> HeaderFields(std::string_view text, std::string_view label);

// OK, or InvalidArgument("<what> '<name>'", ...) unless name is [A-Za-z0-9._-]{1,64}.
Status ValidName(std::string_view what, const std::string& name);

}  // namespace gem::searchable_internal

#endif  // GEM_SEARCHABLE_INTERNAL_H_
