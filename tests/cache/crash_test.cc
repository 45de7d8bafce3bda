// Copyright the gem authors. Crash durability: a writer process is SIGKILLed mid-stream; on
// reopen every write it had reported complete is there, and the database opens cleanly.
//
// The writer is a separate executable (cache_crash_writer) started with fork + exec, so the
// child starts with a fresh RocksDB (forking a process that has RocksDB threads is unsafe).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cache_test_util.h"
#include "gem/cache.h"

namespace gem {
namespace {

using testing::TempDir;

// Runs the writer, reads its acknowledgements until `at_least` arrived, SIGKILLs it, drains the
// pipe and returns the highest acknowledged number (-1 when none).
long RunAndKill(const std::string& db, const char* mode, const char* sync, long at_least) {
  int fds[2];
  if (pipe(fds) != 0) return -2;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(GEM_CRASH_WRITER, GEM_CRASH_WRITER, db.c_str(), mode, sync, (char*)nullptr);
    _exit(127);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  long last = -1;
  char line[64];
  while (last < at_least && std::fgets(line, sizeof line, in))
    last = std::strtol(line, nullptr, 10);
  kill(pid, SIGKILL);
  // Whatever the writer acknowledged before it died counts too.
  while (std::fgets(line, sizeof line, in)) last = std::strtol(line, nullptr, 10);
  std::fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own (status " << status << ") before the kill";
  return last;
}

void CheckPuts(const std::string& db, long last) {
  auto cache = Cache::Open(db);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  const Digest config = Sha256("crash config");
  std::vector<ResultKey> keys;
  for (long i = 0; i <= last; ++i) {
    keys.push_back(
        {Sha256("model" + std::to_string(i % 5)), Sha256("query" + std::to_string(i)), config});
  }
  std::vector<std::optional<CachedResult>> got;
  ASSERT_TRUE((*cache)->MultiGet(keys, &got).ok());
  long missing = 0;
  for (long i = 0; i <= last; ++i) {
    if (!got[i]) {
      ++missing;
      continue;
    }
    EXPECT_EQ(got[i]->correct, i % 2);
    EXPECT_EQ(got[i]->output, "result " + std::to_string(i));
  }
  EXPECT_EQ(missing, 0) << "of " << last + 1 << " acknowledged writes";
  // The task index entries were written in the same atomic write.
  uint64_t indexed = 0;
  const Digest task = Sha256("crash task");
  ASSERT_TRUE((*cache)
                  ->ForEachTaskResult(task, &config,
                                      [&](const ResultKey&) {
                                        ++indexed;
                                        return true;
                                      })
                  .ok());
  EXPECT_GE(indexed, static_cast<uint64_t>(last + 1));
}

TEST(CrashTest, SyncedPutsSurviveSigkill) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  long last = RunAndKill(db, "put", "1", 60);
  ASSERT_GE(last, 60);
  CheckPuts(db, last);
}

TEST(CrashTest, UnsyncedPutsSurviveSigkillOfTheProcess) {
  // Without fsync the WAL is still written to the OS before Put returns: a process kill loses
  // nothing (a power loss could; see docs/CACHE.md).
  TempDir dir;
  const std::string db = dir.Sub("db");
  long last = RunAndKill(db, "put", "0", 2000);
  ASSERT_GE(last, 2000);
  CheckPuts(db, last);
}

TEST(CrashTest, CachedEvaluatorLosesAtMostTheBatchInFlight) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  long last = RunAndKill(db, "evaluator", "1", 40);
  ASSERT_GE(last, 40);
  auto cache = Cache::Open(db);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  constexpr uint32_t kModels = 8, kQueries = 50000;
  auto matrix = testing::RandomMatrix(kModels, kQueries, 5);
  auto models = testing::Digests("model", kModels);
  auto queries = testing::Digests("query", kQueries);
  const Digest config = Sha256("crash config");
  std::vector<ResultKey> keys;
  std::vector<uint8_t> want;
  for (uint32_t b = 0; b <= static_cast<uint32_t>(last); ++b)
    for (uint32_t m = 0; m < kModels; ++m)
      for (uint32_t q = 5 * b; q < 5 * b + 5; ++q) {
        keys.push_back({models[m], queries[q], config});
        want.push_back(matrix[m][q]);
      }
  std::vector<std::optional<CachedResult>> got;
  ASSERT_TRUE((*cache)->MultiGet(keys, &got).ok());
  size_t missing = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!got[i]) {
      ++missing;
      continue;
    }
    EXPECT_EQ(got[i]->correct, want[i]);
  }
  EXPECT_EQ(missing, 0u);
  // At most one batch beyond the acknowledged ones may be there (written, not yet reported).
  auto st = (*cache)->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->results, keys.size());
  EXPECT_LE(st->results, keys.size() + kModels * 5);
}

}  // namespace
}  // namespace gem
