// Copyright the gem authors. The requests that once crashed or hung gemd (issue 16: a manifest
// path that is a directory, holds a NUL byte, is /dev/zero or a FIFO; `--queries 4294967295`; a
// burst of registrations; a 1 MB user name or request type; watch streams of vanished clients).
// Each is sent as a raw request; gemd must answer it with a named error, stay small, and keep
// serving everyone else.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gem/protocol.h"
#include "service/harness.h"
#include "service/raw_client.h"

namespace gem::testing {
namespace {

namespace proto = gem::protocol;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A field of /proc/<pid>/status ("VmRSS:", "Threads:"), as a number (kB for sizes).
long ProcStatus(pid_t pid, const std::string& field) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

proto::TreeRegisterRequest ManifestRequest(const std::string& name, const std::string& path) {
  proto::TreeRegisterRequest r;
  r.name = name;
  r.format = "manifest";
  r.manifest = path;
  proto::TaskSource t;
  t.name = "quiz";
  t.content = R"({"prompt": "1+1?", "answer": "2", "grader": "exact"})"
              "\n";
  r.tasks.push_back(t);
  return r;
}

void ExpectAlive(RawClient& c) {
  proto::Reply h = c.Call(proto::HealthRequest{}, 99);
  ASSERT_TRUE(h.status.ok()) << h.status.ToString();
  EXPECT_EQ(std::get<proto::HealthReply>(h.body).state, "ready");
}

TEST(ServiceCrashRequests, ManifestThatIsADirectoryOrHoldsANulIsRefusedByName) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());
  std::filesystem::create_directories(dir.path() + "/adir");

  proto::Reply r = c.Call(ManifestRequest("d", dir.path() + "/adir"));
  ExpectError(r, Status::Code::kInvalidArgument, "is a directory");
  ExpectAlive(c);

  // A NUL byte inside the path (std::string carries it; the C library would cut the path).
  r = c.Call(ManifestRequest("n", dir.path() + std::string("/tree.json\0/etc/passwd", 22)));
  ExpectError(r, Status::Code::kInvalidArgument, "NUL");
  ExpectAlive(c);
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

TEST(ServiceCrashRequests, ManifestAtDevZeroOrAFifoIsRefusedWithoutReadingIt) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());
  const long rss_before = ProcStatus(gemd.pid(), "VmRSS:");

  auto t0 = Clock::now();
  proto::Reply r = c.Call(ManifestRequest("z", "/dev/zero"), 1, 10000);
  ExpectError(r, Status::Code::kInvalidArgument, "character device");
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  // It read nothing: gemd grew by far less than the 7 GB it once read from /dev/zero.
  EXPECT_LT(ProcStatus(gemd.pid(), "VmRSS:") - rss_before, 200 * 1024) << "kB";

  const std::string fifo = dir.path() + "/tree.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  t0 = Clock::now();
  r = c.Call(ManifestRequest("f", fifo), 2, 10000);
  ExpectError(r, Status::Code::kInvalidArgument, "FIFO");
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));

  // Registration is not wedged: the next one works, and so does shutdown.
  proto::TreeRegisterRequest replay;
  replay.name = "after";
  replay.content = ReadFile(TreePath("qwen2.5_3b.csv"));
  replay.queries = 20;
  r = c.Call(replay, 3, 30000);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

TEST(ServiceCrashRequests, HugeQueriesIsRefusedBeforeAllocating) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());
  proto::TreeRegisterRequest reg;
  reg.name = "huge";
  reg.content = ReadFile(TreePath("qwen2.5_3b.csv"));
  reg.queries = 4294967295u;  // gemctl tree register --replay ... --queries 4294967295
  proto::Reply r = c.Call(reg, 1, 10000);
  ExpectError(r, Status::Code::kInvalidArgument, "queries");
  EXPECT_NE(r.status.message().find("4294967295"), std::string::npos) << r.status.message();
  ExpectAlive(c);
  // Through gemctl as well.
  RunResult g = gemd.Ctl({"tree", "register", "--replay", TreePath("qwen2.5_3b.csv"), "--name",
                          "huge2", "--queries", "4294967295"});
  EXPECT_NE(g.exit_code, 0);
  EXPECT_NE(g.err.find("queries"), std::string::npos) << g.err;
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

TEST(ServiceCrashRequests, ABurstOfRegistrationsIsQueuedNotGivenAThreadEach) {
  TempDir dir;
  const std::string conf = dir.path() + "/gemd.toml";
  std::ofstream(conf) << "[server]\nmax_queued_registrations = 3\n";
  Gemd gemd(dir.path(), {"--config", conf});
  ASSERT_TRUE(gemd.Start());
  const long threads_before = ProcStatus(gemd.pid(), "Threads:");
  RawClient c(gemd.endpoint());
  // Each registration simulates 450 models x 3 tasks x 20,000 queries (tens of ms or more), so a
  // burst of 40 arrives far faster than they complete.
  const std::string csv = ReadFile(TreePath("qwen2.5_3b.csv"));
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    proto::Request req;
    req.id = 100 + i;
    proto::TreeRegisterRequest reg;
    reg.name = "burst" + std::to_string(i);
    reg.content = csv;
    reg.queries = 20000;
    req.body = reg;
    c.SendFrames({"", proto::EncodeRequest(req)});
  }
  long threads_max = 0;
  int ok = 0, full = 0, other = 0;
  for (int got = 0; got < n;) {
    threads_max = std::max(threads_max, ProcStatus(gemd.pid(), "Threads:"));
    proto::Reply r;
    if (!c.Receive(&r, 60000)) break;
    ++got;
    if (r.status.ok()) {
      ++ok;
    } else if (r.status.code() == Status::Code::kResourceExhausted &&
               r.status.message().find("queue is full") != std::string::npos) {
      ++full;
    } else {
      ++other;
      ADD_FAILURE() << r.status.ToString();
    }
  }
  EXPECT_EQ(ok + full + other, n) << "every request is answered";
  EXPECT_GE(ok, 1);
  EXPECT_GE(full, 1) << "a burst beyond the queue's 3 places is refused by name";
  // One worker for registrations and one for reads, whatever the burst: no thread per request.
  EXPECT_LE(threads_max, threads_before + 2) << "threads grew from " << threads_before;
  ExpectAlive(c);
  EXPECT_EQ(gemd.Stop(), 0) << gemd.log();
}

TEST(ServiceCrashRequests, HugeStringFieldsAreRefusedAndLogLinesStayShort) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());
  proto::TreeRegisterRequest reg;
  reg.name = "q";
  reg.content = ReadFile(TreePath("qwen2.5_3b.csv"));
  reg.queries = 20;
  ASSERT_TRUE(c.Call(reg, 1, 30000).status.ok());

  const std::string mb(1 << 20, 'u');
  proto::SearchStartRequest start;
  start.tree = "q";
  start.task = "gsm8k";
  start.queries_per_model = 2;
  start.user = mb;
  ExpectError(c.Call(start, 2), Status::Code::kInvalidArgument, "field 'user'");
  reg.name = "q2";
  reg.user = mb;
  ExpectError(c.Call(reg, 3), Status::Code::kInvalidArgument, "field 'user'");
  // Nothing was stored: the job list is readable and holds no such user.
  auto jobs = gemd.CtlJson({"search", "list"});
  ASSERT_FALSE(jobs.is_null());
  EXPECT_EQ(jobs.dump().find(mb.substr(0, 1000)), std::string::npos);

  // A 1 MB request type: a named error, an echo and a message of bounded size, a short log.
  const size_t log_before = gemd.log().size();
  proto::Reply r = c.Send(Pack(4, [&](auto& pk) {
    pk.pack("v");
    pk.pack(proto::kVersion);
    pk.pack("id");
    pk.pack(5);
    pk.pack("type");
    pk.pack(std::string(1 << 20, 't'));
    pk.pack("body");
    pk.pack_map(0);
  }));
  EXPECT_EQ(r.status.code(), Status::Code::kNotSupported) << r.status.ToString();
  EXPECT_LE(r.type.size(), 64u);
  EXPECT_LE(r.status.message().size(), 1200u);
  EXPECT_LT(gemd.log().size() - log_before, 4096u) << "the log line quotes the whole type";
  ExpectAlive(c);
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceCrashRequests, WatchStreamsAreBoundedAndThoseOfVanishedClientsEnd) {
  TempDir dir;
  const std::string conf = dir.path() + "/gemd.toml";
  std::ofstream(conf) << "[server]\nmax_watchers_per_client = 8\n";
  Gemd gemd(dir.path(), {"--config", conf, "--replay-eval-delay-ms", "50"});
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());
  proto::TreeRegisterRequest reg;
  reg.name = "q";
  reg.content = ReadFile(TreePath("qwen2.5_3b.csv"));
  reg.queries = 50;
  ASSERT_TRUE(c.Call(reg, 1, 30000).status.ok());
  proto::SearchStartRequest start;
  start.tree = "q";
  start.task = "gsm8k";
  start.method = "uniform";
  start.queries_per_model = 50;  // 438 x 50 x 50 ms: runs for the whole test
  proto::Reply job = c.Call(start, 2);
  ASSERT_TRUE(job.status.ok()) << job.status.ToString();
  const uint64_t id = std::get<proto::JobReply>(job.body).job.id;

  {
    RawClient w(gemd.endpoint());
    int refused = 0;
    for (int i = 0; i < 12; ++i) {
      proto::Request req;
      req.id = 1000 + i;
      req.body = proto::SearchWatchRequest{id};
      w.SendFrames({"", proto::EncodeRequest(req)});
    }
    // 8 streams start (their first event) and 4 are refused by name.
    for (int got = 0; got < 12;) {
      proto::Reply r;
      ASSERT_TRUE(w.Receive(&r, 5000));
      if (r.id < 1000) continue;
      ++got;
      if (!r.status.ok()) {
        ExpectError(r, Status::Code::kResourceExhausted, "max_watchers_per_client");
        ++refused;
      }
    }
    EXPECT_EQ(refused, 4);
    proto::Reply h = c.Call(proto::HealthRequest{}, 3);
    EXPECT_EQ(std::get<proto::HealthReply>(h.body).watchers, 8u);
    w.Close();  // the client vanishes without a word
  }
  // Its streams end at their next heartbeat (2.5 s): gemd stops sending to nobody.
  uint32_t left = 8;
  for (int i = 0; i < 100 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    proto::Reply h = c.Call(proto::HealthRequest{}, 4);
    left = std::get<proto::HealthReply>(h.body).watchers;
  }
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(gemd.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
