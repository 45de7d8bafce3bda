// Copyright the gem authors. The dispatcher (cluster/dispatcher.h) with real gem-worker processes
// (outside Slurm) on real ZeroMQ sockets and a real cache: every result arrives and is written
// once; a worker that goes silent, is killed or is told to leave has its unit done by another;
// its late result is dropped, not written; keys not in the keyring never get in.
#include "cluster/dispatcher.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cluster/keys.h"
#include "cluster/tree_spec.h"
#include "cluster/worker_process.h"
#include "gem/cache.h"
#include "service/harness.h"

namespace gem::cluster {
namespace {

using gem::testing::MakeMatrixTree;
using gem::testing::MatrixTree;
using gem::testing::TempDir;
using gem::testing::WorkerProcess;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A dispatcher on an ephemeral port, its keys on disk, a cache, and gem-workers on demand.
class Cluster {
 public:
  explicit Cluster(const std::string& dir, uint32_t heartbeat_ms = 100, uint32_t liveness = 4,
                   bool hold_admission = false)
      : dir_(dir) {
    auto cache = Cache::Open(dir + "/db");
    if (!cache.ok()) std::abort();
    cache_ = std::move(*cache);
    auto server = LoadOrCreateServerKey(dir + "/server.key");
    auto worker = NewKeyPair();
    if (!server.ok() || !worker.ok()) std::abort();
    if (!WriteKeyFile(dir + "/worker.key", worker->secret_z85, true, "test worker").ok()) {
      std::abort();
    }
    if (!keyring_.Add("s1", worker->public_z85).ok()) std::abort();
    worker_public_ = worker->public_z85;
    DispatcherOptions o;
    o.endpoint = "tcp://127.0.0.1:*";
    o.server_secret_key = server->secret_z85;
    o.heartbeat_ms = heartbeat_ms;
    o.liveness = liveness;
    o.hold_admission = hold_admission;
    dispatcher_ = std::make_unique<Dispatcher>(o, cache_.get(), &keyring_);
    if (!dispatcher_->Start().ok()) std::abort();
  }
  ~Cluster() { dispatcher_->Stop(/*stop_workers=*/true); }

  std::unique_ptr<WorkerProcess> StartWorker(const std::string& id,
                                             const std::string& key = "worker.key",
                                             double lost_timeout_s = 30) {
    return std::make_unique<WorkerProcess>(
        std::vector<std::string>{"--endpoint", dispatcher_->endpoint(), "--server-key",
                                 dir_ + "/server.pub", "--secret-key", dir_ + "/" + key, "--id", id,
                                 "--lost-timeout", std::to_string(lost_timeout_s), "--threads",
                                 "1"},
        dir_ + "/" + id + ".log");
  }
  bool WaitForWorkers(size_t n, double seconds = 10) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (dispatcher_->workers().size() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  Dispatcher& d() { return *dispatcher_; }
  Cache& cache() { return *cache_; }
  Keyring& keyring() { return keyring_; }
  const std::string& worker_public() const { return worker_public_; }
  std::string Logs() const {
    std::string s;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() == ".log")
        s += "--- " + e.path().string() + "\n" + ReadFile(e.path());
    }
    return s;
  }

 private:
  std::string dir_, worker_public_;
  std::unique_ptr<Cache> cache_;
  Keyring keyring_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

std::vector<Triple> AllTriples(const MatrixTree& t) {
  std::vector<Triple> all;
  for (uint32_t m = 0; m < t.correct.size(); ++m) {
    for (uint32_t q = 0; q < t.correct[m].size(); ++q) all.push_back({m, q, 0});
  }
  return all;
}

// Every triple answered right, and in the cache with that answer.
void ExpectAnswered(Cluster& c, const MatrixTree& t, const std::vector<Triple>& triples,
                    const std::vector<TripleResult>& results) {
  ASSERT_EQ(results.size(), triples.size());
  std::vector<ResultKey> keys;
  for (size_t i = 0; i < triples.size(); ++i) {
    const Triple& x = triples[i];
    EXPECT_EQ(results[i].correct, t.correct[x.model][x.query]) << x.model << "," << x.query;
    keys.push_back({t.spec->models[x.model], t.spec->queries[x.query], t.spec->configs[0]});
  }
  std::vector<std::optional<CachedResult>> cached;
  ASSERT_TRUE(c.cache().MultiGet(keys, &cached).ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(cached[i].has_value()) << "not in the cache: " << i;
    EXPECT_EQ(cached[i]->correct, results[i].correct);
  }
}

TEST(ClusterDispatcher, TwoWorkersAnswerEverythingAndEachResultIsWrittenOnce) {
  TempDir dir;
  Cluster c(dir.path());
  auto w1 = c.StartWorker("w1");
  auto w2 = c.StartWorker("w2");
  ASSERT_TRUE(c.WaitForWorkers(2)) << c.Logs();
  MatrixTree t = MakeMatrixTree("m", 12, 40, /*replay_delay_ms=*/1);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  std::set<std::string> where;
  uint32_t answered = 0;
  Status st =
      c.d().Evaluate(t.spec, triples, 1, nullptr, &results, [&](const Placement& p, uint32_t n) {
        where.insert(p.worker + "@" + p.node + "/" + p.device);
        answered += n;
      });
  ASSERT_TRUE(st.ok()) << st.ToString() << c.Logs();
  ExpectAnswered(c, t, triples, results);
  EXPECT_EQ(answered, triples.size());
  EXPECT_EQ(where.size(), 2u) << "both workers should have run units";
  auto s = c.d().stats();
  EXPECT_EQ(s.results_written, triples.size());
  EXPECT_EQ(s.units_done, 12u);  // one unit per model
  EXPECT_EQ(s.units_requeued, 0u);
  EXPECT_EQ(c.d().pending_units(), 0u);

  // Two searches asking overlapping triples at once: the overlap is sent once.
  MatrixTree t2 = MakeMatrixTree("m2", 6, 30, 2);
  std::vector<Triple> a, b;
  for (uint32_t m = 0; m < 6; ++m) {
    for (uint32_t q = 0; q < 30; ++q) {
      if (q < 20) a.push_back({m, q, 0});
      if (q >= 10) b.push_back({m, q, 0});
    }
  }
  std::vector<TripleResult> ra, rb;
  Status sa, sb;
  std::thread ta([&] { sa = c.d().Evaluate(t2.spec, a, 2, nullptr, &ra); });
  std::thread tb([&] { sb = c.d().Evaluate(t2.spec, b, 3, nullptr, &rb); });
  ta.join();
  tb.join();
  ASSERT_TRUE(sa.ok() && sb.ok()) << sa.ToString() << sb.ToString();
  ExpectAnswered(c, t2, a, ra);
  ExpectAnswered(c, t2, b, rb);
  s = c.d().stats();
  EXPECT_EQ(s.results_written, triples.size() + 6 * 30) << "a shared triple was written twice";
  EXPECT_EQ(s.results_joined, 6u * 10);
}

TEST(ClusterDispatcher, SilentWorkerLosesItsUnitAndItsLateResultIsNeverWritten) {
  TempDir dir;
  Cluster c(dir.path(), /*heartbeat_ms=*/100, /*liveness=*/4);
  auto w1 = c.StartWorker("w1");
  ASSERT_TRUE(c.WaitForWorkers(1)) << c.Logs();
  // One unit of 40 queries x 25 ms: a second of work.
  MatrixTree t = MakeMatrixTree("slow", 1, 40, 25);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  Status st;
  std::thread search([&] { st = c.d().Evaluate(t.spec, triples, 1, nullptr, &results); });
  // Freeze w1 once it holds the unit; w2 joins and must take it over.
  bool busy = false;
  for (int i = 0; i < 200 && !busy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (const auto& w : c.d().workers()) busy |= w.busy && w.tree == t.spec->id;
  }
  ASSERT_TRUE(busy) << c.Logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  w1->Signal(SIGSTOP);
  auto w2 = c.StartWorker("w2");
  search.join();
  ASSERT_TRUE(st.ok()) << st.ToString() << c.Logs();
  ExpectAnswered(c, t, triples, results);
  auto s = c.d().stats();
  EXPECT_EQ(s.units_requeued, 1u);
  EXPECT_GE(s.workers_lost, 1u);
  // w1 wakes up with its unit finished: either it notices first that gemd was silent and drops
  // the result itself, or it sends it and gemd drops it (the lease is no longer held). Never is
  // it written. Then it rejoins.
  w1->Signal(SIGCONT);
  EXPECT_TRUE(c.WaitForWorkers(2)) << c.Logs();
  s = c.d().stats();
  const bool dropped_by_worker =
      ReadFile(dir.path() + "/w1.log").find("dropped a result") != std::string::npos;
  EXPECT_TRUE(dropped_by_worker || s.stale_results_dropped == triples.size()) << c.Logs();
  EXPECT_EQ(s.results_written, triples.size()) << "the late result was written";
}

TEST(ClusterDispatcher, KilledOrSignalledWorkersUnitGoesToAnother) {
  TempDir dir;
  Cluster c(dir.path(), 100, 4);
  for (int sig : {SIGKILL, SIGTERM}) {
    auto w1 = c.StartWorker("a" + std::to_string(sig));
    ASSERT_TRUE(c.WaitForWorkers(1)) << c.Logs();
    MatrixTree t = MakeMatrixTree("k" + std::to_string(sig), 1, 40, 25);
    auto triples = AllTriples(t);
    std::vector<TripleResult> results;
    Status st;
    const auto before = c.d().stats();
    std::thread search([&] { st = c.d().Evaluate(t.spec, triples, 1, nullptr, &results); });
    bool busy = false;
    for (int i = 0; i < 200 && !busy; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (const auto& w : c.d().workers()) busy |= w.busy && w.tree == t.spec->id;
    }
    ASSERT_TRUE(busy);
    w1->Signal(sig);
    if (sig == SIGTERM) {
      EXPECT_EQ(w1->Wait(5), 0) << "a worker leaves cleanly on SIGTERM";
      EXPECT_NE(ReadFile(dir.path() + "/a15.log").find("leaving: signal 15"), std::string::npos)
          << ReadFile(dir.path() + "/a15.log");
    }
    auto w2 = c.StartWorker("b" + std::to_string(sig));
    search.join();
    ASSERT_TRUE(st.ok()) << st.ToString() << c.Logs();
    ExpectAnswered(c, t, triples, results);
    auto s = c.d().stats();
    EXPECT_EQ(s.units_requeued - before.units_requeued, 1u);
    EXPECT_EQ(s.results_written - before.results_written, triples.size());
    w2.reset();
    w1.reset();
    ASSERT_TRUE(c.WaitForWorkers(0, 5)) << c.Logs();
  }
}

// A restarting gemd binds the worker socket before it has re-admitted the keys of the jobs it
// adopts. With hold_admission a worker that dials meanwhile waits in its handshake and joins once
// its key is back and admission opens; refused instead, it would never join (libzmq does not
// reconnect a client whose handshake failed).
TEST(ClusterDispatcher, AWorkerDialingBeforeItsKeyIsReadmittedJoinsOnceAdmissionOpens) {
  TempDir dir;
  Cluster c(dir.path(), 100, 4, /*hold_admission=*/true);
  c.keyring().Remove("s1");  // as after a crash: the job's key is not admitted yet
  auto w = c.StartWorker("w1");
  EXPECT_FALSE(c.WaitForWorkers(1, 1.0)) << "admission was held, yet a worker got in";
  ASSERT_TRUE(c.keyring().Add("s1", c.worker_public()).ok());
  c.d().OpenAdmission();
  ASSERT_TRUE(c.WaitForWorkers(1, 10)) << c.Logs();
  MatrixTree t = MakeMatrixTree("held", 2, 5);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  ASSERT_TRUE(c.d().Evaluate(t.spec, triples, 1, nullptr, &results).ok()) << c.Logs();
  ExpectAnswered(c, t, triples, results);
}

TEST(ClusterDispatcher, UnknownKeysNeverJoinAndStopEndsWaitingSearches) {
  TempDir dir;
  Cluster c(dir.path());
  auto other = NewKeyPair();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(WriteKeyFile(dir.path() + "/other.key", other->secret_z85, true, "x").ok());
  auto intruder = c.StartWorker("intruder", "other.key", /*lost_timeout_s=*/1);
  EXPECT_EQ(intruder->Wait(10), 3) << "a worker that cannot get in gives up (exit 3)";
  EXPECT_TRUE(c.d().workers().empty());

  // No worker: a search waits, and is released when it is stopped.
  MatrixTree t = MakeMatrixTree("m", 2, 5);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  std::atomic<bool> stop{false};
  Status st;
  std::thread search([&] { st = c.d().Evaluate(t.spec, triples, 1, &stop, &results); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c.d().pending_units(), 2u);
  stop = true;
  search.join();
  EXPECT_TRUE(st.IsAborted()) << st.ToString();
  EXPECT_EQ(c.d().pending_units(), 0u) << "units nobody waits for are dropped";
}

TEST(ClusterDispatcher, AWorkerBuildingOtherDigestsFailsTheSearchWithTheReason) {
  TempDir dir;
  Cluster c(dir.path());
  auto w = c.StartWorker("w");
  ASSERT_TRUE(c.WaitForWorkers(1));
  MatrixTree t = MakeMatrixTree("m", 2, 5);
  TreeSpec bad = *t.spec;
  bad.configs = {Sha256("another engine version")};
  auto spec = MakeTreeSpec(bad);
  std::vector<TripleResult> results;
  std::vector<Triple> triples = {{0, 0, 0}};
  Status st = c.d().Evaluate(spec, triples, 1, nullptr, &results);
  EXPECT_TRUE(st.IsAborted());
  EXPECT_NE(st.ToString().find("other digests"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace gem::cluster
