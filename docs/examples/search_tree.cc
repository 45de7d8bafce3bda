// Copyright the gem authors. A search on a registered tree with libgem's searchable API
// (docs/SEARCHABLE.md). The tree was registered earlier into DATA_DIR, by gem-demo-tree or by a
// program calling gem::SearchableTree::Register and gem::StoreTree; its results cache is there
// too, so what any earlier search evaluated is not evaluated again.
//   search_tree DATA_DIR TREE TASK [N [SEED]]
// tests/searchable builds and runs this file.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gem/searchable_tree.h"

int Fail(const gem::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 4)
    return std::fprintf(stderr, "usage: search_tree DATA_DIR TREE TASK [N [SEED]]\n"), 2;
  gem::SearchableOptions options;
  options.data_dir = argv[1];
  auto cache = gem::Cache::Open(options.data_dir + "/db");
  if (!cache.ok()) return Fail(cache.status());
  auto tree = gem::OpenStoredTree(cache->get(), argv[2], options);
  if (!tree.ok()) return Fail(tree.status());
  auto evaluator = gem::MakeEvaluator(**tree, argv[3], cache->get());
  if (!evaluator.ok()) return Fail(evaluator.status());
  gem::SearchOptions search = (*tree)->search_options();  // then method, N and seed as you like
  if (argc > 4) search.queries_per_model = std::atoi(argv[4]);
  if (argc > 5) search.seed = std::strtoull(argv[5], nullptr, 10);
  gem::SearchResult result;
  if (gem::Status s = gem::Search(search, evaluator->get(), &result); !s.ok()) return Fail(s);
  std::printf("chose %s: %llu evaluations run, %llu answered by the cache\n",
              (*tree)->models()[result.chosen_model].name.c_str(),
              static_cast<unsigned long long>((*evaluator)->evaluations_run()),
              static_cast<unsigned long long>((*evaluator)->evaluations_cached()));
  return 0;
}
