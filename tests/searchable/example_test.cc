// Copyright the gem authors. docs/examples/search_tree.cc, the searchable API's example, built and
// run as a user would: on a replay tree and on the demo model tree, each registered here through
// the same API and searched once in this process; the example, a separate process on the same
// data dir, must choose the same model and evaluate nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "gem/searchable_tree.h"
#include "task/test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Registers `source`, searches `task` with N and seed, closes the store; returns the choice.
std::string RegisterAndSearch(const std::string& data_dir, const TreeSource& source,
                              const std::string& task, uint32_t n, uint64_t seed) {
  auto cache = Cache::Open(data_dir + "/db");
  EXPECT_TRUE(cache.ok()) << cache.status().ToString();
  SearchableOptions options;
  options.data_dir = data_dir;
  auto tree = SearchableTree::Register(source, options);
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  if (!cache.ok() || !tree.ok()) return "";
  EXPECT_TRUE(StoreTree(cache->get(), **tree).ok());
  auto ev = MakeEvaluator(**tree, task, cache->get());
  EXPECT_TRUE(ev.ok()) << ev.status().ToString();
  if (!ev.ok()) return "";
  SearchOptions so = (*tree)->search_options();
  so.queries_per_model = n;
  so.seed = seed;
  SearchResult r;
  Status st = Search(so, ev->get(), &r);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return (*tree)->models()[r.chosen_model].name;
}

testing::CommandResult RunExample(const std::string& args) {
  return testing::RunCommand(std::string(GEM_BIN_DIR) + "/gem-example-search-tree " + args +
                             " 2>&1");
}

TEST(SearchableExample, SearchesAReplayTreeFromItsStore) {
  testing::TempDir dir;
  TreeSource source;
  source.name = "qwen";
  source.content = ReadText(std::string(GEM_SOURCE_DIR) + "/data/trees/qwen2.5_3b.csv");
  source.queries = 30;
  const std::string chosen = RegisterAndSearch(dir.path(), source, "gsm8k", 6, 11);
  ASSERT_FALSE(chosen.empty());
  auto r = RunExample("'" + dir.path() + "' qwen gsm8k 6 11");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("chose " + chosen + ": 0 evaluations run, ", 0), 0u) << r.out;

  r = RunExample("'" + dir.path() + "' qwen arc");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("task 'arc'"), std::string::npos) << r.out;
  EXPECT_EQ(RunExample("").code, 2);
}

TEST(SearchableExample, SearchesTheDemoModelTreeFromItsStore) {
  testing::TempDir dir;
  const std::string demo = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";
  TreeSource source;
  source.manifest = demo + "/tree.json";
  source.tasks = {{"demo_add", ReadText(demo + "/tasks/demo_add.jsonl"), "demo_add.jsonl"}};
  const std::string chosen = RegisterAndSearch(dir.path(), source, "demo_add", 6, 3);
  ASSERT_FALSE(chosen.empty());
  auto r = RunExample("'" + dir.path() + "' demo-tree demo_add 6 3");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("chose " + chosen + ": 0 evaluations run, ", 0), 0u) << r.out;
}

}  // namespace
}  // namespace gem
