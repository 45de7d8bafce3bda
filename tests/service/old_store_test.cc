// Copyright the gem authors. gemd on a data dir written by the gemd of main at 534050d, before the
// searchable part (tests/fixtures/old_store): it loads the three trees of the old store, and each
// search the old gemd ran, run again, is answered entirely from the old results (0 evaluations
// run) with the same chosen model and the same pulls and wins per model. A tree registered now
// is stored once: no record file appears in <data_dir>/trees/.
#include "searchable/old_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "service/harness.h"

namespace gem::testing {
namespace {

TEST(ServiceOldStore, OldTreesLoadAndOldSearchesAreFree) {
  const nlohmann::json expected = OldStoreExpected();
  ASSERT_TRUE(expected.is_object()) << "tests/fixtures/old_store/expected.json";
  TempDir dir;
  Gemd gemd(dir.path());
  Status st = CopyOldStore(gemd.data_dir());
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(gemd.Start()) << gemd.log();

  nlohmann::json list = gemd.CtlJson({"tree", "list"});
  ASSERT_EQ(list.value("trees", nlohmann::json::array()).size(), 3u) << list.dump() << gemd.log();

  for (const auto& [key, old] : expected.items()) {
    SCOPED_TRACE(key);
    const std::string tree = key.substr(0, key.find('/'));
    const std::string task = key.substr(key.find('/') + 1);
    nlohmann::json now = gemd.CtlJson(
        {"search", "start", "--tree", tree, "--task", task, "--method", old.value("method", ""),
         "--queries-per-model", std::to_string(old.value("queries_per_model", 0)), "--seed",
         std::to_string(old.value("seed", 0)), "--wait"},
        120);
    ASSERT_EQ(now.value("status", ""), "done") << now.dump() << gemd.log();
    EXPECT_EQ(now.value("evaluations_run", -1), 0) << "results the old store should have had";
    EXPECT_EQ(
        now.value("evaluations_cached", uint64_t{0}),
        old.value("evaluations_run", uint64_t{0}) + old.value("evaluations_cached", uint64_t{0}));
    EXPECT_EQ(now.value("chosen_model", -2), old.value("chosen_model", -1));
    EXPECT_EQ(now.value("chosen_model_name", "?"), old.value("chosen_model_name", ""));
    EXPECT_EQ(now.value("chosen_model_digest", "?"), old.value("chosen_model_digest", ""));
    EXPECT_EQ(now.value("spent", 0), old.value("spent", -1));
    ASSERT_EQ(now["models"].size(), old["models"].size());
    for (size_t m = 0; m < old["models"].size(); ++m) {
      EXPECT_EQ(now["models"][m].value("pulls", 0), old["models"][m].value("pulls", -1)) << m;
      EXPECT_EQ(now["models"][m].value("wins", 0), old["models"][m].value("wins", -1)) << m;
    }
  }

  // A manifest tree registered now: its record is in the store only.
  nlohmann::json reg =
      gemd.CtlJson({"tree", "register", std::string(GEM_SOURCE_DIR) + "/data/demo_tree/tree.json",
                    "--name", "demo-again", "--task",
                    std::string(GEM_SOURCE_DIR) + "/data/demo_tree/tasks/demo_add.jsonl"},
                   300);
  ASSERT_EQ(reg["tree"].value("name", ""), "demo-again") << reg.dump() << gemd.log();
  EXPECT_FALSE(std::filesystem::exists(gemd.data_dir() + "/trees/demo-again.json"));
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
  // ... and it loads again after a restart, beside the old ones.
  ASSERT_TRUE(gemd.Start()) << gemd.log();
  list = gemd.CtlJson({"tree", "list"});
  EXPECT_EQ(list.value("trees", nlohmann::json::array()).size(), 4u) << list.dump() << gemd.log();
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

}  // namespace
}  // namespace gem::testing
