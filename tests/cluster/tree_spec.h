// Copyright the gem authors. A replay tree as the cluster evaluates it (cluster::TreeSpec), built
// for a test from a 0/1 matrix the test writes, with the same code gemd and gem-worker use.
#ifndef GEM_TESTS_CLUSTER_TREE_SPEC_H_
#define GEM_TESTS_CLUSTER_TREE_SPEC_H_

#include <memory>
#include <string>
#include <vector>

#include "cluster/dispatcher.h"

namespace gem::testing {

// A matrix CSV of `models` rows and `queries` columns with value (m * 7 + q * 3) % 5 < 2, its
// tree spec (task "t"), and the expected answer of each (model, query).
struct MatrixTree {
  std::shared_ptr<const cluster::TreeSpec> spec;
  std::vector<std::vector<uint8_t>> correct;  // [model][query]
};
MatrixTree MakeMatrixTree(const std::string& name, uint32_t models, uint32_t queries,
                          double replay_delay_ms = 0);

}  // namespace gem::testing

#endif  // GEM_TESTS_CLUSTER_TREE_SPEC_H_
