// Copyright the gem authors. tcp access: only CURVE clients whose public key gemd authorises get
// an answer; the key's name is recorded as who started a search. tcp on 127.0.0.1, ephemeral port.
#include <gtest/gtest.h>

#include <regex>

#include "service/harness.h"

namespace gem::testing {
namespace {

TEST(ServiceAuth, UnauthorisedTcpClientIsRefused) {
  TempDir dir;
  const std::string keys = dir.path() + "/keys";
  for (const char* name : {"server", "alice", "mallory"}) {
    RunResult k = RunProgram({BinPath("gemctl"), "keygen", name, "--dir", keys});
    ASSERT_EQ(k.exit_code, 0) << k.err;
  }
  const std::string authorized = dir.path() + "/authorized";
  std::filesystem::create_directories(authorized);
  std::filesystem::copy_file(keys + "/alice.pub", authorized + "/alice.pub");

  Gemd gemd(dir.path(), {"--tcp-endpoint", "tcp://127.0.0.1:*", "--curve-secret-key",
                         keys + "/server.key", "--curve-authorized-keys", authorized});
  ASSERT_TRUE(gemd.Start());
  std::smatch m;
  const std::string log = gemd.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("listening on (tcp://127\\.0\\.0\\.1:\\d+)")))
      << log;
  const std::string tcp = m[1];

  auto ctl = [&](const std::vector<std::string>& extra, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinPath("gemctl"), "--endpoint", tcp, "--timeout", "3"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {}, 30);
  };
  const std::vector<std::string> alice = {"--curve-server-key", keys + "/server.pub",
                                          "--curve-secret-key", keys + "/alice.key"};
  const std::vector<std::string> mallory = {"--curve-server-key", keys + "/server.pub",
                                            "--curve-secret-key", keys + "/mallory.key"};

  RunResult r = ctl(alice, {"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("you are: curve key alice"), std::string::npos) << r.out;

  r = ctl(mallory, {"health"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;  // refused
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_NE(gemd.log().find("not authorised"), std::string::npos);

  // A client without CURVE at all never gets an answer either.
  r = ctl({}, {"health"});
  EXPECT_TRUE(r.exit_code == 3 || r.exit_code == 5) << r.exit_code << " " << r.out << r.err;
  EXPECT_EQ(r.out.find("ready"), std::string::npos);

  // Alice's search records her key's name; the ipc socket still works; gemd is up.
  ASSERT_EQ(ctl(alice, {"tree", "register", "--replay", TreePath("mistral_7b.csv"), "--name", "m",
                        "--queries", "50"})
                .exit_code,
            0);
  r = ctl(alice, {"--json", "--user", "", "search", "start", "--tree", "m", "--task", "mbpp", "-N",
                  "2", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto job = nlohmann::json::parse(r.out);
  EXPECT_EQ(job["curve_key"], "alice");
  EXPECT_EQ(job["user"], "alice");
  EXPECT_EQ(gemd.Ctl({"health"}).exit_code, 0);
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceAuth, TcpWithoutCurveKeysIsAConfigError) {
  TempDir dir;
  RunResult r = RunProgram({BinPath("gemd"), "--data-dir", dir.path() + "/data", "--endpoint",
                            "ipc://" + dir.path() + "/s", "--tcp-endpoint", "tcp://127.0.0.1:*"},
                           {}, 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("never listens on tcp without CURVE"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gem::testing
