// Copyright the gem authors. gemd on a data dir written by the gemd of main at 534050d, before the
// searchable part (tests/fixtures/old_store): it loads the three trees of the old store, and each
// search the old gemd ran is answered entirely from the old results (0 evaluations run) with the
// same chosen model and the same pulls and wins per model: resumed from its own job record (which
// names method "gem" without a method revision: the algorithm "gem" named then, gem_v1) and run
// again as a new job of gem_v1. A "gem" job started now records revision 2 and resumes as the
// adaptive gem. A tree registered now is stored once: no record file appears in <data_dir>/trees/.
#include "searchable/old_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "gem/protocol.h"
#include "gem/store.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

// Rewrites job `id`'s record in the (stopped) gemd's store to say `status`, as a gemd that stopped
// while running the job leaves it. Every other field is kept as decoded; a record written before
// method revisions decodes with method_revision 0 and is written back with it.
Status MarkJob(const std::string& data_dir, uint64_t id, const std::string& status) {
  auto store = Store::Open(data_dir + "/db");
  if (!store.ok()) return store.status();
  char key[48];
  std::snprintf(key, sizeof(key), "job/%020llu", static_cast<unsigned long long>(id));
  std::string bytes;
  GEM_RETURN_IF_ERROR((*store)->Get(Family::kJobs, key, &bytes));
  protocol::JobInfo job;
  GEM_RETURN_IF_ERROR(protocol::DecodeRecord(bytes, &job));
  job.status = status;
  return (*store)->Put(Family::kJobs, key, protocol::EncodeRecord(job));
}

// The old search `old` (expected.json) and the reply `now` made the same choices, and `now` paid
// for none of them.
void ExpectSameSearch(const nlohmann::json& now, const nlohmann::json& old) {
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

TEST(ServiceOldStore, OldTreesLoadAndOldSearchesAreFree) {
  const nlohmann::json expected = OldStoreExpected();
  ASSERT_TRUE(expected.is_object()) << "tests/fixtures/old_store/expected.json";
  TempDir dir;
  Gemd gemd(dir.path());
  Status st = CopyOldStore(gemd.data_dir());
  ASSERT_TRUE(st.ok()) << st.ToString();
  // The old jobs as an old gemd that stopped while running them left them: this gemd marks them
  // interrupted, and they can be resumed.
  for (const auto& [key, old] : expected.items()) {
    ASSERT_EQ(old.value("method", ""), "gem") << key;
    EXPECT_FALSE(old.contains("method_revision")) << key;
    st = MarkJob(gemd.data_dir(), old.value("id", uint64_t{0}), "running");
    ASSERT_TRUE(st.ok()) << key << ": " << st.ToString();
  }
  ASSERT_TRUE(gemd.Start()) << gemd.log();

  nlohmann::json list = gemd.CtlJson({"tree", "list"});
  ASSERT_EQ(list.value("trees", nlohmann::json::array()).size(), 3u) << list.dump() << gemd.log();

  for (const auto& [key, old] : expected.items()) {
    SCOPED_TRACE(key);
    const std::string tree = key.substr(0, key.find('/'));
    const std::string task = key.substr(key.find('/') + 1);
    const std::string id = std::to_string(old.value("id", uint64_t{0}));
    // The old record, resumed: it says "gem" with no revision, so it runs gem_v1.
    nlohmann::json status = gemd.CtlJson({"search", "status", id});
    ASSERT_EQ(status.value("status", ""), "interrupted") << status.dump() << gemd.log();
    EXPECT_EQ(status.value("method_revision", -1), 0);
    nlohmann::json resumed = gemd.CtlJson({"search", "resume", id, "--wait"}, 120);
    ASSERT_EQ(resumed.value("status", ""), "done") << resumed.dump() << gemd.log();
    ExpectSameSearch(resumed, old);
    status = gemd.CtlJson({"search", "status", id});
    EXPECT_EQ(status.value("method", ""), "gem");
    EXPECT_EQ(status.value("method_revision", -1), 1) << "the record now says which gem ran";

    // The same search started now under the old algorithm's name.
    nlohmann::json now =
        gemd.CtlJson({"search", "start", "--tree", tree, "--task", task, "--method", "gem_v1",
                      "--queries-per-model", std::to_string(old.value("queries_per_model", 0)),
                      "--seed", std::to_string(old.value("seed", 0)), "--wait"},
                     120);
    ASSERT_EQ(now.value("status", ""), "done") << now.dump() << gemd.log();
    ExpectSameSearch(now, old);
  }

  // A "gem" job started now records revision 2 and runs the adaptive gem, which asks other
  // queries than the old search; interrupted and resumed, it runs the adaptive gem again.
  const nlohmann::json& old_qwen = expected.at("qwen/gsm8k");
  nlohmann::json fresh =
      gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "gsm8k", "--method", "gem",
                    "--queries-per-model", std::to_string(old_qwen.value("queries_per_model", 0)),
                    "--seed", std::to_string(old_qwen.value("seed", 0)), "--wait"},
                   120);
  ASSERT_EQ(fresh.value("status", ""), "done") << fresh.dump() << gemd.log();
  const uint64_t fresh_id = fresh.value("id", uint64_t{0});
  nlohmann::json fresh_job = gemd.CtlJson({"search", "status", std::to_string(fresh_id)});
  EXPECT_EQ(fresh_job.value("method_revision", -1), 2);
  bool differs = false;
  for (size_t m = 0; m < old_qwen["models"].size(); ++m) {
    differs |= fresh["models"][m].value("pulls", 0) != old_qwen["models"][m].value("pulls", 0);
  }
  EXPECT_TRUE(differs)
      << "the adaptive gem made gem_v1's choices: this test cannot tell them apart";
  ASSERT_EQ(gemd.Stop(), 0) << gemd.log();
  st = MarkJob(gemd.data_dir(), fresh_id, "running");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(gemd.Start()) << gemd.log();
  nlohmann::json again =
      gemd.CtlJson({"search", "resume", std::to_string(fresh_id), "--wait"}, 120);
  ASSERT_EQ(again.value("status", ""), "done") << again.dump() << gemd.log();
  EXPECT_EQ(again.value("evaluations_run", -1), 0) << "a resume of the same search is free";
  EXPECT_EQ(again.value("chosen_model", -2), fresh.value("chosen_model", -1));
  EXPECT_EQ(again.value("spent", 0), fresh.value("spent", -1));
  for (size_t m = 0; m < fresh["models"].size(); ++m) {
    EXPECT_EQ(again["models"][m].value("pulls", 0), fresh["models"][m].value("pulls", -1)) << m;
    EXPECT_EQ(again["models"][m].value("wins", 0), fresh["models"][m].value("wins", -1)) << m;
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
