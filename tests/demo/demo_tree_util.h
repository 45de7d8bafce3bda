// Copyright the gem authors. The shipped demo tree (data/demo_tree, tools/make_demo_tree.py):
// what the test and the demo program both need.
#ifndef GEM_TESTS_DEMO_DEMO_TREE_UTIL_H_
#define GEM_TESTS_DEMO_DEMO_TREE_UTIL_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gem/status.h"

namespace gem::demo {

// One row of data/demo_tree/accuracies.csv: a model's correct answers on a task in each
// prompt variant, measured by tools/make_demo_tree.py with transformers.
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

// (model name, task) -> row.
inline Result<std::map<std::pair<std::string, std::string>, MeasuredAccuracy>> ReadAccuracies(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path, "cannot open");
  std::string line;
  std::getline(in, line);
  if (line.rfind("model,kind,downloads,task,queries,correct_no_system,correct_with_system", 0) !=
      0) {
    return Status::Corruption(path, "unexpected header: " + line);
  }
  std::map<std::pair<std::string, std::string>, MeasuredAccuracy> out;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() != 9) {
      return Status::Corruption(path + ":" + std::to_string(row), "expected 9 fields");
    }
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
      return Status::Corruption(path + ":" + std::to_string(row), e.what());
    }
    out[{a.model, a.task}] = a;
  }
  return out;
}

}  // namespace gem::demo

#endif  // GEM_TESTS_DEMO_DEMO_TREE_UTIL_H_
