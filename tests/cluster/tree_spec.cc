// Copyright the gem authors. A replay tree as the cluster evaluates it (tree_spec.h).
#include "cluster/tree_spec.h"

#include <cstdlib>

#include "gem/searchable_tree.h"

namespace gem::testing {

MatrixTree MakeMatrixTree(const std::string& name, uint32_t models, uint32_t queries,
                          double replay_delay_ms) {
  MatrixTree out;
  std::string csv = "model_id";
  for (uint32_t q = 0; q < queries; ++q) csv += ",q" + std::to_string(q);
  csv += "\n";
  out.correct.assign(models, std::vector<uint8_t>(queries));
  for (uint32_t m = 0; m < models; ++m) {
    csv += "m" + std::to_string(m);
    for (uint32_t q = 0; q < queries; ++q) {
      out.correct[m][q] = (m * 7 + q * 3) % 5 < 2;
      csv += out.correct[m][q] ? ",1" : ",0";
    }
    csv += "\n";
  }
  TreeSource source;
  source.name = name;
  source.format = "matrix";
  source.content = csv;
  source.file_name = name + ".csv";
  source.task = "t";
  auto tree = SearchableTree::Register(source, SearchableOptions{});
  if (!tree.ok()) std::abort();
  auto record = EncodeTreeRecord((*tree)->record());
  const SearchableTask* task = (*tree)->FindTask("t");
  if (!record.ok() || task == nullptr) std::abort();
  cluster::TreeSpec spec;
  spec.name = name;
  spec.record = *record;
  spec.task = "t";
  spec.models = (*tree)->model_digests();
  spec.queries = task->query_digests;
  spec.configs = {*(*tree)->config_digest(0)};
  spec.task_digest = task->digest;
  spec.replay_delay_ms = replay_delay_ms;
  out.spec = cluster::MakeTreeSpec(std::move(spec));
  return out;
}

}  // namespace gem::testing
