// Copyright the gem authors. Slurm as gemd uses it (cluster/slurm.h, sbatch.h, keys.h): the
// batch script, worker keys, and a job array on a real local cluster: its tasks run on both
// nodes with one fake GPU each, one task can be cancelled while the others run on.
#include "cluster/slurm.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/keys.h"
#include "cluster/local_slurm.h"
#include "cluster/sbatch.h"
#include "service/harness.h"

namespace gem::cluster {
namespace {

using gem::testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ClusterSbatch, ScriptHasTheSizingAndTheQuotedWorker) {
  SbatchOptions o;
  o.partition = "gpu";
  o.account = "ml";
  o.gpus_per_node = 4;
  o.extra = {"--constraint=a100"};
  WorkerCommand w{"/opt/gem/bin/gem-worker", {"--endpoint", "tcp://head:7356", "it's"}};
  auto s = RenderSbatchScript(kDefaultSbatchTemplate, o, 3, "/w/s1/%a.out", w);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (const char* want :
       {"#SBATCH --array=0-2\n", "#SBATCH --nodes=1\n", "#SBATCH --ntasks=4\n",
        "#SBATCH --gres=gpu:4\n", "#SBATCH --partition=gpu\n", "#SBATCH --account=ml\n",
        "#SBATCH --constraint=a100\n", "#SBATCH --output=/w/s1/%a.out\n",
        "srun --ntasks=4 --kill-on-bad-exit=0 --gpus-per-task=1 --gpu-bind=single:1 "
        "/opt/gem/bin/gem-worker --endpoint tcp://head:7356 'it'\\''s'\n"}) {
    EXPECT_NE(s->find(want), std::string::npos) << "missing '" << want << "' in\n" << *s;
  }
  o.gres.clear();  // CPU workers: no GPU request, no GPU binding
  s = RenderSbatchScript(kDefaultSbatchTemplate, o, 1, "/w/%a.out", w);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->find("gres"), std::string::npos);
  EXPECT_EQ(s->find("gpu-bind"), std::string::npos);

  EXPECT_TRUE(RenderSbatchScript("#!/bin/bash\n", o, 1, "x", w).status().IsInvalidArgument());
  EXPECT_TRUE(
      RenderSbatchScript(kDefaultSbatchTemplate, o, 0, "x", w).status().IsInvalidArgument());
  o.extra = {"--comment=a\n#SBATCH --uid=0"};
  EXPECT_TRUE(
      RenderSbatchScript(kDefaultSbatchTemplate, o, 1, "x", w).status().IsInvalidArgument());
}

TEST(ClusterKeys, SecretFilesArePrivateAndNeverOverwritten) {
  TempDir dir;
  auto pair = NewKeyPair();
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(*PublicKeyOf(pair->secret_z85), pair->public_z85);
  const std::string sec = dir.path() + "/w.key";
  ASSERT_TRUE(WriteKeyFile(sec, pair->secret_z85, true, "worker").ok());
  struct stat st {};
  ASSERT_EQ(::stat(sec.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadKeyFile(sec), pair->secret_z85);
  EXPECT_EQ(WriteKeyFile(sec, pair->secret_z85, true, "again").code(),
            Status::Code::kFailedPrecondition);
  std::ofstream(dir.path() + "/bad.key") << "# nothing\nnot-a-key\n";
  EXPECT_TRUE(ReadKeyFile(dir.path() + "/bad.key").status().IsInvalidArgument());

  auto server = LoadOrCreateServerKey(dir.path() + "/cluster/server.key");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ(*ReadKeyFile(dir.path() + "/cluster/server.pub"), server->public_z85);
  auto again = LoadOrCreateServerKey(dir.path() + "/cluster/server.key");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->secret_z85, server->secret_z85);

  Keyring ring;
  ASSERT_TRUE(ring.Add("s1", pair->public_z85).ok());
  EXPECT_EQ(ring.Find(*Z85ToBinary(pair->public_z85)), "s1");
  ring.Remove("s1");
  EXPECT_FALSE(ring.Find(*Z85ToBinary(pair->public_z85)).has_value());
  EXPECT_TRUE(ring.Add("s2", "short").IsInvalidArgument());
}

// Polls until pred(tasks) holds or `seconds` pass; returns the last tasks seen.
template <class Pred>
std::vector<SlurmTask> WaitFor(const Slurm& slurm, const std::string& job, double seconds,
                               Pred pred) {
  std::vector<SlurmTask> tasks;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto q = slurm.Query({job});
    if (q.ok()) {
      tasks = *q;
      if (pred(tasks)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return tasks;
}

std::string Dump(const std::vector<SlurmTask>& tasks) {
  std::string s;
  for (const auto& t : tasks) s += t.id + " " + t.state + " " + t.node + " " + t.reason + "\n";
  return s;
}

TEST(ClusterSlurm, JobArrayRunsOnBothNodesAndOneTaskCanBeCancelled) {
  TempDir dir;
  GEM_REQUIRE_LOCAL_SLURM(cluster, dir.path() + "/slurm", 2, 2);
  Slurm slurm;
  ASSERT_TRUE(slurm.Reachable());

  // Two array tasks of one node each, two "workers" per task, each bound to one GPU.
  SbatchOptions o;
  o.gpus_per_node = 2;
  WorkerCommand w{"/bin/bash",
                  {"-c",
                   "echo \"worker node=$SLURMD_NODENAME gpu=$SLURM_STEP_GPUS "
                   "cvd=$CUDA_VISIBLE_DEVICES task=$SLURM_ARRAY_TASK_ID\"; sleep 120"}};
  std::filesystem::create_directories(dir.path() + "/job");
  auto script = RenderSbatchScript(kDefaultSbatchTemplate, o, 2, dir.path() + "/job/%a.out", w);
  ASSERT_TRUE(script.ok());
  std::ofstream(dir.path() + "/job/job.sh") << *script;
  auto id = slurm.Submit(dir.path() + "/job/job.sh", {});
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  auto running = [](const std::vector<SlurmTask>& ts) {
    int n = 0;
    for (const auto& t : ts) n += t.state == "RUNNING";
    return n == 2;
  };
  auto tasks = WaitFor(slurm, *id, 20, running);
  ASSERT_TRUE(running(tasks)) << Dump(tasks) << cluster.LogTails();
  std::set<std::string> nodes;
  for (const auto& t : tasks) nodes.insert(t.node);
  EXPECT_EQ(nodes, (std::set<std::string>{"n1", "n2"})) << Dump(tasks);

  // Each worker saw its node and its own GPU as its only CUDA device (without device cgroups,
  // as here, CUDA_VISIBLE_DEVICES names the node's index; with them it would be 0).
  std::string out;
  for (int i = 0; i < 50; ++i) {
    out = ReadFile(dir.path() + "/job/0.out") + ReadFile(dir.path() + "/job/1.out");
    size_t lines = 0;
    for (char c : out) lines += c == '\n';
    if (lines >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const char* want : {"node=n1 gpu=0 cvd=0 ", "node=n1 gpu=1 cvd=1 ", "node=n2 gpu=0 cvd=0 ",
                           "node=n2 gpu=1 cvd=1 "}) {
    if (!cluster.gpu_indices()) break;  // counted GPUs only: no indices to check
    EXPECT_NE(out.find(want), std::string::npos) << "no '" << want << "' in\n" << out;
  }

  // Cancel task 1: it ends, task 0 runs on.
  ASSERT_TRUE(slurm.Cancel(*id + "_1").ok());
  tasks = WaitFor(slurm, *id, 20, [&](const std::vector<SlurmTask>& ts) {
    for (const auto& t : ts) {
      if (t.id == *id + "_1") return t.ended();
    }
    return true;
  });
  for (const auto& t : tasks) {
    if (t.id == *id + "_1") {
      EXPECT_TRUE(t.ended()) << Dump(tasks);
    } else if (t.id == *id + "_0") {
      EXPECT_EQ(t.state, "RUNNING") << Dump(tasks);
    }
  }
  ASSERT_TRUE(slurm.Cancel(*id).ok());
  tasks = WaitFor(slurm, *id, 20, [](const std::vector<SlurmTask>& ts) {
    for (const auto& t : ts) {
      if (!t.ended()) return false;
    }
    return true;
  });
  for (const auto& t : tasks) EXPECT_TRUE(t.ended()) << Dump(tasks);
  EXPECT_TRUE(slurm.Cancel(*id).ok()) << "cancelling an ended job is not an error";

  // Slurm's refusals are named.
  auto bad = slurm.Submit(dir.path() + "/job/job.sh", {"--partition=nonesuch"});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("partition"), std::string::npos) << bad.status().ToString();
  // Unknown jobs are simply absent.
  auto none = slurm.Query({"999999"});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST(ClusterSlurm, MissingCommandsAreNamed) {
  Slurm slurm(SlurmOptions{"/nonexistent/bin"});
  auto r = slurm.Submit("/tmp/x.sh", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("/nonexistent/bin/sbatch"), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(slurm.Reachable());
}

}  // namespace
}  // namespace gem::cluster
