// Copyright the gem authors. The provisioner (cluster/provisioner.h) on a real local Slurm
// cluster: a search's demand makes it submit a job array whose gem-workers join from both nodes;
// scancel of one task mid-evaluation loses nothing; idle tasks are cancelled and their keys
// retired; a job that cannot launch fails the waiting search with its log; after a crash a new
// gemd adopts the running job and its workers reconnect.
#include "cluster/provisioner.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/keys.h"
#include "cluster/local_slurm.h"
#include "cluster/tree_spec.h"
#include "gem/cache.h"
#include "service/harness.h"

namespace gem::cluster {
namespace {

using gem::testing::MakeMatrixTree;
using gem::testing::MatrixTree;
using gem::testing::TempDir;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

// gemd's cluster side without gemd: cache, keyring, dispatcher and provisioner on one store.
struct Head {
  Head(const std::string& dir, const std::string& endpoint, Cache* cache,
       const std::string& worker_program = std::string(GEM_BIN_DIR) + "/gem-worker",
       double idle_timeout_s = 300) {
    auto server = LoadOrCreateServerKey(dir + "/server.key");
    if (!server.ok()) std::abort();
    DispatcherOptions d;
    d.endpoint = endpoint;
    d.server_secret_key = server->secret_z85;
    d.heartbeat_ms = 200;
    d.liveness = 5;
    d.hold_admission = true;  // as gemd: Recover() opens it
    dispatcher = std::make_unique<Dispatcher>(d, cache, &keyring);
    Status st = dispatcher->Start();
    if (!st.ok()) std::abort();
    ProvisionerOptions p;
    p.sbatch.gpus_per_node = 1;
    p.sbatch.time = "00:10:00";
    p.max_nodes = 2;
    p.idle_timeout_s = idle_timeout_s;
    p.join_timeout_s = 20;
    p.poll_s = 0.5;
    p.work_dir = dir + "/work";
    p.endpoint = endpoint;
    p.server_public_key = server->public_z85;
    p.worker_program = worker_program;
    p.lost_timeout_s = 60;
    provisioner =
        std::make_unique<Provisioner>(p, &slurm, &keyring, dispatcher.get(), cache->store());
  }
  // A crash: threads end, nothing is cancelled or retired.
  void Crash() {
    provisioner->Stop();
    dispatcher->Stop(/*stop_workers=*/false);
  }
  Slurm slurm;
  Keyring keyring;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Provisioner> provisioner;
};

std::vector<Triple> AllTriples(const MatrixTree& t) {
  std::vector<Triple> all;
  for (uint32_t m = 0; m < t.correct.size(); ++m) {
    for (uint32_t q = 0; q < t.correct[m].size(); ++q) all.push_back({m, q, 0});
  }
  return all;
}

template <class Pred>
bool Eventually(double seconds, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// The workers that finished units, in order (a search's on_unit). The last one has just been
// given its next unit: cancelling its task now hits it mid-unit, where a worker picked only for
// being busy may be a millisecond from done (both workers start their first units together).
struct Finishers {
  std::mutex mu;
  std::vector<std::string> workers;  // guarded by mu
  void Add(const Placement& p) {
    std::lock_guard<std::mutex> lock(mu);
    workers.push_back(p.worker);
  }
  std::string Last() {
    std::lock_guard<std::mutex> lock(mu);
    return workers.empty() ? "" : workers.back();
  }
};

// The Slurm task of the worker that finished a unit last, once it is busy with its next one.
std::string FreshlyBusyTask(Dispatcher& d, Finishers& f) {
  std::string task;
  Eventually(10, [&] {
    const std::string last = f.Last();
    for (const auto& w : d.workers()) {
      if (!last.empty() && w.id == last && w.busy) task = w.slurm_job;
    }
    return !task.empty();
  });
  return task;
}

std::string Describe(const Provisioner& p) {
  std::string s;
  for (const auto& t : p.tasks()) {
    s += t.slurm_task + " " + t.submission + " " + t.state + " " + t.node + " " + t.reason +
         " workers=" + std::to_string(t.workers) + "\n";
  }
  return s;
}

TEST(ClusterProvisioner, DemandSubmitsWorkersScancelLosesNothingIdleTasksEnd) {
  TempDir dir;
  GEM_REQUIRE_LOCAL_SLURM(cluster, dir.path() + "/slurm", 2, 1);
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  Head head(dir.path(), endpoint, cache->get(), std::string(GEM_BIN_DIR) + "/gem-worker",
            /*idle_timeout_s=*/2);
  ASSERT_TRUE(head.provisioner->Recover().ok());
  head.provisioner->Start();

  // 8 models x 60 queries x 10 ms: 0.6 s a unit, ~2.5 s of work on two workers.
  MatrixTree t = MakeMatrixTree("m", 8, 60, 10);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  std::set<std::string> nodes;
  std::mutex mu;
  Finishers finishers;
  Status st;
  std::thread search([&] {
    st = head.dispatcher->Evaluate(t.spec, triples, 1, nullptr, &results,
                                   [&](const Placement& p, uint32_t) {
                                     finishers.Add(p);
                                     std::lock_guard<std::mutex> lock(mu);
                                     nodes.insert(p.node + " gpu " + p.gpu);
                                   });
  });
  // Both workers join (one per node), then one of them is cancelled mid-evaluation.
  ASSERT_TRUE(Eventually(30, [&] { return head.dispatcher->workers().size() == 2; }))
      << Describe(*head.provisioner) << cluster.LogTails();
  const std::string victim = FreshlyBusyTask(*head.dispatcher, finishers);
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(head.slurm.Cancel(victim).ok());
  search.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  for (size_t i = 0; i < triples.size(); ++i) {
    ASSERT_EQ(results[i].correct, t.correct[triples[i].model][triples[i].query]);
  }
  auto s = head.dispatcher->stats();
  EXPECT_EQ(s.results_written, triples.size()) << "a result was lost or written twice";
  EXPECT_GE(s.units_requeued, 1u) << "the cancelled worker's unit was not given to another";
  const std::string gpu = cluster.gpu_indices() ? " gpu 0" : " gpu ";
  EXPECT_EQ(nodes, (std::set<std::string>{"n1" + gpu, "n2" + gpu}));
  EXPECT_EQ(head.provisioner->stats().submitted_jobs, 1u);

  // Idle: the remaining task is cancelled, the job's key retired, its record deleted.
  ASSERT_TRUE(Eventually(20, [&] { return head.provisioner->tasks().empty(); }))
      << Describe(*head.provisioner);
  EXPECT_EQ(head.keyring.size(), 0u);
  EXPECT_GE(head.provisioner->stats().cancelled_idle_tasks, 1u);
  int records = 0;
  ASSERT_TRUE(cache->get()
                  ->store()
                  ->Scan(Family::kJobs, "cluster/",
                         [&](auto, auto) {
                           ++records;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(records, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/work/s1/worker.key"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/work/s1/job.sh"));
  head.provisioner->Stop();
}

TEST(ClusterProvisioner, APreemptedTaskIsRequeuedByItsJobAndItsUnitDoneElsewhere) {
  TempDir dir;
  GEM_REQUIRE_LOCAL_SLURM(cluster, dir.path() + "/slurm", 2, 1);
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  Head head(dir.path(), endpoint, cache->get());
  ASSERT_TRUE(head.provisioner->Recover().ok());
  head.provisioner->Start();
  MatrixTree t = MakeMatrixTree("m", 6, 60, 10);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  Finishers finishers;
  Status st;
  std::thread search([&] {
    st = head.dispatcher->Evaluate(t.spec, triples, 1, nullptr, &results,
                                   [&](const Placement& p, uint32_t) { finishers.Add(p); });
  });
  ASSERT_TRUE(Eventually(30, [&] { return head.dispatcher->workers().size() == 2; }))
      << Describe(*head.provisioner) << cluster.LogTails();
  const std::string victim = FreshlyBusyTask(*head.dispatcher, finishers);
  ASSERT_FALSE(victim.empty());
  // What preemption with PreemptMode=REQUEUE does: SIGTERM to the task, which goes back to the
  // queue (here: held for Slurm's requeue delay).
  auto r = RunProcess({"scontrol", "requeue", victim});
  ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
  search.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto s = head.dispatcher->stats();
  EXPECT_EQ(s.results_written, triples.size());
  EXPECT_GE(s.units_requeued, 1u);
  // The requeued task is still the job's: pending, counted live, not replaced by a new job.
  EXPECT_TRUE(Eventually(10, [&] {
    for (const auto& task : head.provisioner->tasks()) {
      if (task.slurm_task == victim) return task.state == "PENDING";
    }
    return false;
  })) << Describe(*head.provisioner);
  EXPECT_EQ(head.provisioner->stats().submitted_jobs, 1u);
  head.provisioner->Shutdown();
  head.provisioner->Stop();
}

TEST(ClusterProvisioner, AJobThatCannotLaunchFailsTheSearchWithItsLog) {
  TempDir dir;
  GEM_REQUIRE_LOCAL_SLURM(cluster, dir.path() + "/slurm", 2, 1);
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  Head head(dir.path(), endpoint, cache->get(), "/nonexistent/gem-worker");
  ASSERT_TRUE(head.provisioner->Recover().ok());
  head.provisioner->Start();
  MatrixTree t = MakeMatrixTree("m", 2, 5);
  auto triples = AllTriples(t);
  std::vector<TripleResult> results;
  Status st = head.dispatcher->Evaluate(t.spec, triples, 1, nullptr, &results);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("no gem-worker ever joined"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("/work/s1/"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("nonexistent"), std::string::npos) << st.ToString();
  head.provisioner->Shutdown();
  head.provisioner->Stop();
}

TEST(ClusterProvisioner, AfterACrashTheRunningJobIsAdoptedAndItsWorkersReconnect) {
  TempDir dir;
  GEM_REQUIRE_LOCAL_SLURM(cluster, dir.path() + "/slurm", 2, 1);
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  MatrixTree t = MakeMatrixTree("m", 4, 20, 2);
  auto triples = AllTriples(t);
  std::string job;
  {
    Head first(dir.path(), endpoint, cache->get());
    ASSERT_TRUE(first.provisioner->Recover().ok());
    first.provisioner->Start();
    std::vector<TripleResult> results;
    ASSERT_TRUE(first.dispatcher->Evaluate(t.spec, triples, 1, nullptr, &results).ok());
    auto tasks = first.provisioner->tasks();
    ASSERT_FALSE(tasks.empty());
    job = tasks[0].slurm_task.substr(0, tasks[0].slurm_task.find('_'));
    first.Crash();
  }
  // A new gemd on the same store and endpoint: the job still runs, is adopted, its workers
  // reconnect (holding the tree they built) and serve the next search without a new job.
  Head second(dir.path(), endpoint, cache->get());
  ASSERT_TRUE(second.provisioner->Recover().ok());
  EXPECT_EQ(second.provisioner->stats().adopted_jobs, 1u);
  second.provisioner->Start();
  ASSERT_TRUE(Eventually(20, [&] { return second.dispatcher->workers().size() == 2; }))
      << Describe(*second.provisioner);
  for (const auto& w : second.dispatcher->workers()) {
    EXPECT_EQ(w.slurm_job.substr(0, w.slurm_job.find('_')), job);
    EXPECT_EQ(w.tree, t.spec->id) << "the worker rebuilt a tree it held";
  }
  MatrixTree t2 = MakeMatrixTree("m2", 3, 10);
  std::vector<TripleResult> results;
  ASSERT_TRUE(second.dispatcher->Evaluate(t2.spec, AllTriples(t2), 2, nullptr, &results).ok());
  EXPECT_EQ(second.provisioner->stats().submitted_jobs, 0u);
  // A graceful stop cancels it.
  second.provisioner->Shutdown();
  second.provisioner->Stop();
  Slurm slurm;
  ASSERT_TRUE(Eventually(20, [&] {
    auto q = slurm.Query({job});
    if (!q.ok()) return false;
    for (const auto& x : *q) {
      if (!x.ended()) return false;
    }
    return true;
  }));
}

}  // namespace
}  // namespace gem::cluster
