// Copyright the gem authors. kill -9 of gemd in the middle of a search, then a restart: the
// cached results written before the kill are there, the job is "interrupted", a resume finishes
// it paying only for what was missing. Also: cancel and resume of a running job.
//
// The replay evaluator is slowed down (--replay-eval-delay-ms, docs/GEMD.md) so that a search
// takes a few seconds and the kill lands mid-search: we wait until the cache holds some but not
// all of the search's results before killing.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "service/harness.h"
#include "service/reference.h"

namespace gem::testing {
namespace {

constexpr uint32_t kQueries = 300;

uint64_t CachedResults(const Gemd& gemd) {
  auto stats = gemd.CtlJson({"cache", "stats"});
  return stats.is_null() ? 0 : stats["counters"]["results"].get<uint64_t>();
}

std::string Status(const Gemd& gemd, int job) {
  auto j = gemd.CtlJson({"search", "status", std::to_string(job)});
  return j.is_null() ? "?" : j["status"].get<std::string>();
}

TEST(ServiceCrash, Kill9MidSearchThenResumePaysOnlyWhatIsMissing) {
  TempDir dir;
  Gemd gemd(dir.path(), {"--cpu-workers", "1", "--replay-eval-delay-ms", "0.5"});
  ASSERT_TRUE(gemd.Start());
  const std::string csv = TreePath("qwen2.5_3b.csv");
  ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", csv, "--name", "qwen", "--queries",
                      std::to_string(kQueries)})
                .exit_code,
            0);
  Reference r1 =
      DirectSearch(csv, "mbpp_pct", kQueries, 0, SimulationOptions().agreement, "paper", 10, 3);
  Reference r2 =
      DirectSearch(csv, "mbpp_pct", kQueries, 0, SimulationOptions().agreement, "paper", 4, 4);
  const uint64_t total1 = r1.distinct().size();

  auto j1 = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "mbpp", "--method",
                          "paper", "-N", "10", "--seed", "3"});
  auto j2 = gemd.CtlJson({"search", "start", "--tree", "qwen", "--task", "mbpp", "--method",
                          "paper", "-N", "4", "--seed", "4"});
  ASSERT_FALSE(j1.is_null());
  ASSERT_FALSE(j2.is_null());
  ASSERT_EQ(j1["id"], 1);
  ASSERT_EQ(j2["id"], 2);

  // Wait until the first search has written part of its results, then kill -9.
  uint64_t before_kill = 0;
  for (int i = 0; i < 400 && before_kill < 300 && !gemd.Exited(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    before_kill = CachedResults(gemd);
  }
  EXPECT_EQ(Status(gemd, 1), "running");
  EXPECT_EQ(Status(gemd, 2), "queued");  // one worker: the second waits
  gemd.Kill9();
  ASSERT_GE(before_kill, 300u) << "the search wrote nothing to the cache in 10 s";
  ASSERT_LT(before_kill, total1) << "the search finished before the kill; slow it down more";

  ASSERT_TRUE(gemd.Start());
  const uint64_t after_restart = CachedResults(gemd);
  EXPECT_GE(after_restart, before_kill) << "results written before the kill were lost";
  EXPECT_LT(after_restart, total1);
  auto list = gemd.CtlJson({"search", "list"});
  ASSERT_EQ(list["jobs"].size(), 2u);
  for (const auto& j : list["jobs"]) EXPECT_EQ(j["status"], "interrupted") << j.dump();

  // Resume: the same seeded search, through the cache.
  auto done = gemd.CtlJson({"search", "resume", "1", "--wait"}, 90);
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done["status"], "done");
  EXPECT_EQ(done["chosen_model"].get<int64_t>(), r1.result.chosen_model);
  EXPECT_EQ(done["attempts"], 2);
  EXPECT_EQ(done["evaluations_run"].get<uint64_t>(), total1 - after_restart);
  EXPECT_EQ(done["evaluations_run"].get<uint64_t>() + done["evaluations_cached"].get<uint64_t>(),
            r1.asked.size());
  EXPECT_EQ(CachedResults(gemd), total1) << "the cache grew by more than what was missing";

  // The queued one resumes too, and pays only for pairs the first did not ask.
  auto done2 = gemd.CtlJson({"search", "resume", "2", "--wait"}, 90);
  ASSERT_FALSE(done2.is_null());
  EXPECT_EQ(done2["chosen_model"].get<int64_t>(), r2.result.chosen_model);
  uint64_t fresh = 0;
  auto d1 = r1.distinct();
  for (const auto& p : r2.distinct()) fresh += d1.count(p) == 0;
  EXPECT_EQ(done2["evaluations_run"].get<uint64_t>(), fresh);
  EXPECT_NE(gemd.log().find("marked interrupted"), std::string::npos);
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceCrash, CancelRunningThenResumeAndGracefulStopInterrupts) {
  TempDir dir;
  Gemd gemd(dir.path(), {"--cpu-workers", "1", "--replay-eval-delay-ms", "0.5"});
  ASSERT_TRUE(gemd.Start());
  ASSERT_EQ(gemd.Ctl({"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m",
                      "--queries", "200"})
                .exit_code,
            0);
  ASSERT_EQ(gemd.Ctl({"search", "start", "--tree", "m", "--task", "gsm8k", "-N", "10"}).exit_code,
            0);
  for (int i = 0; i < 400 && !gemd.Exited() && CachedResults(gemd) < 64; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Status(gemd, 1), "running");
  auto c = gemd.Ctl({"search", "cancel", "1"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  std::string st;
  for (int i = 0; i < 200 && !gemd.Exited() && (st = Status(gemd, 1)) == "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st, "cancelled");
  auto r = gemd.Ctl({"search", "result", "1"});
  EXPECT_EQ(r.exit_code, 20) << r.err;  // FailedPrecondition: no result
  EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
  auto done = gemd.CtlJson({"search", "resume", "1", "--wait"}, 60);
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done["status"], "done");
  EXPECT_GT(done["evaluations_cached"].get<uint64_t>(), 0u) << "resume should reuse the cache";

  // A graceful stop during a search: the job becomes interrupted, not cancelled or failed.
  ASSERT_EQ(gemd.Ctl({"search", "start", "--tree", "m", "--task", "mbpp", "-N", "10"}).exit_code,
            0);
  for (int i = 0; i < 200 && !gemd.Exited() && Status(gemd, 2) != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(gemd.Stop(), 0);
  ASSERT_TRUE(gemd.Start());
  EXPECT_EQ(Status(gemd, 2), "interrupted");
  EXPECT_EQ(gemd.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
