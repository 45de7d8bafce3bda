// Copyright the gem authors. A store written before the searchable part (main at 534050d,
// tests/fixtures/old_store) opened with the searchable API: its version 1 tree records still open,
// and each search the old gemd ran is answered entirely from the old store's results (0
// evaluations run) with the same choice and the same trace, when run with the algorithm its record
// names: "gem" without a method revision, which is gem_v1. So the cache keys (model, query,
// config digests) of existing stores are still the keys the code computes.
#include "searchable/old_store.h"

#include <gtest/gtest.h>

#include <map>

#include "gem/search.h"
#include "gem/searchable_tree.h"
#include "task/test_util.h"

namespace gem {
namespace {

TEST(OldStore, EveryRecordOpensAndEverySearchIsAnsweredFromIt) {
  const nlohmann::json expected = testing::OldStoreExpected();
  ASSERT_TRUE(expected.is_object()) << "tests/fixtures/old_store/expected.json";
  testing::TempDir tmp;
  const std::string data_dir = tmp.path() + "/data";
  Status st = testing::CopyOldStore(data_dir);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto cache = Cache::Open(data_dir + "/db");
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();

  std::vector<Status> unreadable;
  auto records = ReadStoredTrees(*(*cache)->store(), &unreadable);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_TRUE(unreadable.empty()) << unreadable[0].ToString();
  std::map<std::string, std::shared_ptr<const SearchableTree>> trees;
  SearchableOptions options;
  options.data_dir = data_dir;
  for (const TreeRecord& r : *records) {
    EXPECT_EQ(r.version, 1u) << r.name;
    auto tree = SearchableTree::Open(r, options);
    ASSERT_TRUE(tree.ok()) << r.name << ": " << tree.status().ToString();
    trees[r.name] = *tree;
  }
  ASSERT_EQ(trees.size(), 3u);
  EXPECT_EQ(trees["demo-tree"]->kind(), SearchableTree::Kind::kManifest);
  EXPECT_EQ(trees["qwen"]->record().format, "accuracy");
  EXPECT_EQ(trees["small-matrix"]->record().format, "matrix");

  for (const auto& [key, old] : expected.items()) {
    SCOPED_TRACE(key);
    const std::string tree_name = key.substr(0, key.find('/'));
    const std::string task = key.substr(key.find('/') + 1);
    ASSERT_EQ(old.value("status", ""), "done");
    const auto& tree = trees.at(tree_name);
    auto ev = MakeEvaluator(*tree, task, cache->get());
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    SearchOptions so = tree->search_options();
    // The job record says "gem" and no method revision (the old gemd had none): it runs the
    // algorithm "gem" named then, gem_v1 (gem/search.h, "Method revisions").
    ASSERT_EQ(old.value("method", ""), "gem");
    ASSERT_FALSE(old.contains("method_revision"));
    auto algorithm = ResolveSearchMethod(old.value("method", ""), 0);
    ASSERT_TRUE(algorithm.ok()) << algorithm.status().ToString();
    EXPECT_EQ(*algorithm, "gem_v1");
    so.method = *algorithm;
    so.queries_per_model = old.value("queries_per_model", 0u);
    so.seed = old.value("seed", uint64_t{0});
    SearchResult r;
    st = Search(so, ev->get(), &r);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ((*ev)->evaluations_run(), 0u) << "results the old store should have had";
    EXPECT_EQ((*ev)->evaluations_cached(), old.value("evaluations_run", uint64_t{0}) +
                                               old.value("evaluations_cached", uint64_t{0}));
    EXPECT_EQ(int64_t{r.chosen_model}, old.value("chosen_model", int64_t{-1}));
    EXPECT_EQ(tree->models()[r.chosen_model].name, old.value("chosen_model_name", ""));
    EXPECT_EQ(tree->models()[r.chosen_model].digest.Hex(), old.value("chosen_model_digest", ""));
    EXPECT_EQ(r.spent, old.value("spent", uint64_t{0}));
    const auto& models = old.at("models");
    ASSERT_EQ(models.size(), tree->num_models());
    for (uint32_t m = 0; m < tree->num_models(); ++m) {
      EXPECT_EQ(r.pulls[m], models[m].value("pulls", 0u)) << "model " << m;
      EXPECT_EQ(r.wins[m], models[m].value("wins", 0u)) << "model " << m;
    }
  }
}

// A version 1 record, read and written again, is a version 2 record that opens to the same tree
// without the record file.
TEST(OldStore, AVersion1RecordRewrittenNeedsNoRecordFile) {
  testing::TempDir tmp;
  const std::string data_dir = tmp.path() + "/data";
  ASSERT_TRUE(testing::CopyOldStore(data_dir).ok());
  auto cache = Cache::Open(data_dir + "/db");
  ASSERT_TRUE(cache.ok());
  SearchableOptions options;
  options.data_dir = data_dir;
  auto old = OpenStoredTree(cache->get(), "demo-tree", options);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  TreeRecord record = (*old)->record();
  auto reg = LoadTreeRecord(data_dir, record.legacy_record_name);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  record.registration = *reg;
  record.legacy_record_name.clear();
  auto bytes = EncodeTreeRecord(record);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  std::filesystem::remove(data_dir + "/trees/demo-tree.json");
  auto decoded = DecodeTreeRecord(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->version, kTreeRecordVersion);
  auto again = SearchableTree::Open(*decoded, options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->get()->model_digests(), (*old)->model_digests());
  EXPECT_EQ(*again->get()->config_digest(1), *(*old)->config_digest(1));
  EXPECT_EQ(again->get()->tasks()[0].digest, (*old)->tasks()[0].digest);
}

}  // namespace
}  // namespace gem
