// Copyright the gem authors. The demo tree's measured accuracies (data/demo_tree/accuracies.csv,
// written by tools/make_demo_tree.py with transformers): gem-demo-tree shows them beside its
// search, and the demo tree's tests check the engine against them.
#ifndef GEM_CLI_DEMO_TREE_ACCURACIES_H_
#define GEM_CLI_DEMO_TREE_ACCURACIES_H_

#include <algorithm>
#include <cstdint>
#include <exception>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gem/csv.h"
#include "gem/status.h"

namespace gem::demo {

// One row of accuracies.csv: a model's correct answers on a task in each prompt variant.
struct MeasuredAccuracy {
  std::string model;
  std::string kind;
  int64_t downloads = 0;
  std::string task;
  uint32_t queries = 0;
  uint32_t correct[2] = {0, 0};  // without, with the system prompt
  double min_logit_margin = 0;
  uint32_t best() const { return correct[0] > correct[1] ? correct[0] : correct[1]; }
};

// (model name, task) -> row. NotFound when the file cannot be opened; Corruption naming the
// line for an unexpected header, a row without its 9 fields or a field that is not a number.
inline Result<std::map<std::pair<std::string, std::string>, MeasuredAccuracy>> ReadAccuracies(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path, "cannot open");
  std::vector<csv::Record> rows;
  GEM_RETURN_IF_ERROR(csv::ReadAll(in, path, &rows));
  const std::vector<std::string> header = {
      "model", "kind", "downloads", "task", "queries", "correct_no_system", "correct_with_system"};
  if (rows.empty() || rows[0].fields.size() < header.size() ||
      !std::equal(header.begin(), header.end(), rows[0].fields.begin())) {
    return Status::Corruption(path, "unexpected header");
  }
  std::map<std::pair<std::string, std::string>, MeasuredAccuracy> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& f = rows[r].fields;
    const std::string where = path + ":" + std::to_string(rows[r].line);
    if (f.size() != 9) return Status::Corruption(where, "expected 9 fields");
    MeasuredAccuracy a;
    try {
      a.model = f[0];
      a.kind = f[1];
      a.downloads = std::stoll(f[2]);
      a.task = f[3];
      a.queries = static_cast<uint32_t>(std::stoul(f[4]));
      a.correct[0] = static_cast<uint32_t>(std::stoul(f[5]));
      a.correct[1] = static_cast<uint32_t>(std::stoul(f[6]));
      a.min_logit_margin = std::stod(f[8]);
    } catch (const std::exception& e) {
      return Status::Corruption(where, e.what());
    }
    out[{a.model, a.task}] = a;
  }
  return out;
}

}  // namespace gem::demo

#endif  // GEM_CLI_DEMO_TREE_ACCURACIES_H_
