// Copyright the gem authors. Searches through a real gemd, driven by the real gemctl: the answer
// equals libgem's, a repeat costs nothing, an overlapping search pays only for what is new.
#include <gtest/gtest.h>

#include "service/harness.h"
#include "service/reference.h"

namespace gem::testing {
namespace {

constexpr uint32_t kQueries = 400;  // simulated per task; small keeps the test quick
const double kAgreement = SimulationOptions().agreement;  // gemd's default replay.agreement

uint64_t CachedResults(const Gemd& gemd) {
  auto stats = gemd.CtlJson({"cache", "stats"});
  return stats.is_null() ? 0 : stats["counters"]["results"].get<uint64_t>();
}

TEST(ServiceSearch, SameModelAsLibgemRepeatIsFreeOverlapReuses) {
  TempDir dir;
  Gemd gemd(dir.path(), {"--cpu-workers", "2"});
  ASSERT_TRUE(gemd.Start());
  const std::string csv = TreePath("qwen2.5_3b.csv");
  auto reg = gemd.Ctl({"tree", "register", "--replay", csv, "--name", "qwen", "--queries",
                       std::to_string(kQueries)});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  EXPECT_NE(reg.out.find("tasks gsm8k, mbpp, routerbench"), std::string::npos) << reg.out;

  // 1. gemd's answer equals libgem's, same seed.
  auto a = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "gsm8k", "--method",
                         "paper", "--queries-per-model", "8", "--seed", "11", "--wait"});
  ASSERT_FALSE(a.is_null());
  Reference ra = DirectSearch(csv, "gsm8k_pct", kQueries, 0, kAgreement, "paper", 8, 11);
  EXPECT_EQ(a["status"], "done");
  EXPECT_EQ(a["method"], "paper");
  EXPECT_EQ(a["queries_per_model"], 8);
  EXPECT_EQ(a["chosen_model"].get<int64_t>(), ra.result.chosen_model);
  EXPECT_EQ(a["spent"].get<uint64_t>(), ra.result.spent);
  const uint64_t distinct_a = ra.distinct().size();
  EXPECT_EQ(a["evaluations_run"].get<uint64_t>(), distinct_a);
  EXPECT_EQ(a["evaluations_run"].get<uint64_t>() + a["evaluations_cached"].get<uint64_t>(),
            ra.asked.size());
  EXPECT_EQ(CachedResults(gemd), distinct_a);

  // 2. The same search again: zero evaluator calls, everything from the cache.
  auto again = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "gsm8k", "--method",
                             "paper", "--queries-per-model", "8", "--seed", "11", "--wait"});
  ASSERT_FALSE(again.is_null());
  EXPECT_EQ(again["status"], "done");
  EXPECT_EQ(again["chosen_model"], a["chosen_model"]);
  EXPECT_EQ(again["evaluations_run"].get<uint64_t>(), 0u);
  EXPECT_EQ(again["evaluations_cached"].get<uint64_t>(), ra.asked.size());
  EXPECT_NE(again["id"], a["id"]);
  EXPECT_EQ(CachedResults(gemd), distinct_a);

  // 3. An overlapping search (another seed and budget on the same tree and task, as another
  //    team would run): every pair it shares with the first is answered by the cache.
  auto b =
      gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "gsm8k", "--method", "paper",
                    "--queries-per-model", "12", "--seed", "5", "--wait", "--user", "team-b"});
  ASSERT_FALSE(b.is_null());
  Reference rb = DirectSearch(csv, "gsm8k_pct", kQueries, 0, kAgreement, "paper", 12, 5);
  EXPECT_EQ(b["chosen_model"].get<int64_t>(), rb.result.chosen_model);
  auto da = ra.distinct();
  uint64_t shared = 0, fresh = 0;
  for (const auto& p : rb.distinct()) (da.count(p) ? shared : fresh)++;
  ASSERT_GT(shared, 0u) << "the two searches should overlap (same task order)";
  EXPECT_EQ(b["evaluations_run"].get<uint64_t>(), fresh);
  EXPECT_EQ(b["evaluations_cached"].get<uint64_t>(), rb.asked.size() - fresh);
  EXPECT_EQ(b["user"], "team-b");
  EXPECT_EQ(CachedResults(gemd), distinct_a + fresh);

  // A different task of the same tree shares nothing (its queries differ). No --method: the
  // default method, which on an empty cache answers as libgem's does.
  auto c = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "routerbench",
                         "--queries-per-model", "3", "--seed", "1", "--wait"});
  ASSERT_FALSE(c.is_null());
  Reference rc = DirectSearch(csv, "routerbench_total_pct", kQueries, 0, kAgreement,
                              kDefaultSearchMethod, 3, 1);
  EXPECT_EQ(c["method"], kDefaultSearchMethod);
  EXPECT_EQ(c["chosen_model"].get<int64_t>(), rc.result.chosen_model);
  EXPECT_EQ(c["evaluations_cached"].get<uint64_t>() + c["evaluations_run"].get<uint64_t>(),
            c["spent"].get<uint64_t>());
  EXPECT_GT(c["evaluations_run"].get<uint64_t>(), 0u);

  // Listing shows every job with who started it.
  auto list = gemd.CtlJson({"search", "list"});
  ASSERT_EQ(list["jobs"].size(), 4u);
  EXPECT_EQ(list["jobs"][1]["user"], "team-b");
  EXPECT_GE(list["jobs"][1]["uid"].get<int64_t>(), 0) << "uid from the ipc socket";
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceSearch, ErrorsNameTheProblemAndSetTheExitStatus) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  auto r = gemd.Ctl({"search", "start", "--tree", "nope", "--task", "gsm8k"});
  EXPECT_EQ(r.exit_code, 11) << r.err;  // 10 + NotFound
  EXPECT_NE(r.err.find("tree 'nope'"), std::string::npos) << r.err;
  ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m",
                      "--queries", "100"})
                .exit_code,
            0);
  r = gemd.Ctl({"search", "start", "--tree", "m", "--task", "arc"});
  EXPECT_EQ(r.exit_code, 11);
  EXPECT_NE(r.err.find("gsm8k, mbpp, routerbench"), std::string::npos) << r.err;
  r = gemd.Ctl({"search", "start", "--tree", "m", "--task", "mbpp", "--method", "magic"});
  EXPECT_EQ(r.exit_code, 14);  // InvalidArgument
  EXPECT_NE(r.err.find("method 'magic'"), std::string::npos) << r.err;
  r = gemd.Ctl({"search", "start", "--tree", "m", "--task", "mbpp", "-N", "101"});
  EXPECT_EQ(r.exit_code, 14);
  r = gemd.Ctl({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m"});
  EXPECT_EQ(r.exit_code, 20) << r.err;  // FailedPrecondition: name taken
  r = gemd.Ctl({"search", "result", "99"});
  EXPECT_EQ(r.exit_code, 11);
  r = gemd.Ctl({"search", "start", "--tree"});
  EXPECT_EQ(r.exit_code, 2);  // usage
  r = gemd.Ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
  EXPECT_EQ(gemd.Stop(), 0);
  // No daemon: exit 3, with a message that says so.
  r = gemd.Ctl({"--timeout", "0.5", "health"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no answer"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gem::testing
