// Copyright the gem authors. Staged start-up: gemd answers health as soon as its socket is bound,
// before the model-load stage ends, and refuses other work until it is ready.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "service/harness.h"

namespace gem::testing {
namespace {

TEST(ServiceStartup, HealthIsAnsweredWhileLoading) {
  TempDir dir;
  // Hold the load stage for 3 s so that it can be observed.
  Gemd gemd(dir.path(), {"--debug-hold-load-ms", "3000"});
  gemd.Launch();
  // Poll health from the moment the socket is bound: every answer says "starting" until the
  // stages are done, and the stage moves on to the (held) load stage.
  nlohmann::json h;
  int answers = 0;
  for (int i = 0; i < 200; ++i) {
    RunResult r = gemd.Ctl({"--json", "--timeout", "0.2", "health"}, 10);
    if (r.exit_code != 0) continue;  // not bound yet
    h = nlohmann::json::parse(r.out);
    ++answers;
    ASSERT_EQ(h["state"], "starting") << h.dump();
    if (h["stage"] == "loading trees") break;
  }
  ASSERT_GT(answers, 0) << "gemd never answered health\n" << gemd.log();
  EXPECT_EQ(h["stage"], "loading trees") << h.dump();
  RunResult busy = gemd.Ctl({"tree", "list"}, 10);
  EXPECT_EQ(busy.exit_code, 17) << busy.err;  // 10 + Unavailable
  EXPECT_NE(busy.err.find("starting"), std::string::npos) << busy.err;
  EXPECT_NE(busy.err.find("loading trees"), std::string::npos) << busy.err;
  // --wait-for-daemon waits for "ready", not just for an answer.
  RunResult ready = gemd.Ctl({"--wait-for-daemon", "20", "tree", "list"}, 30);
  EXPECT_EQ(ready.exit_code, 0) << ready.err;
  auto h2 = gemd.CtlJson({"health"});
  EXPECT_EQ(h2["state"], "ready");
  EXPECT_EQ(h2["devices"][0], "cpu:0");
  EXPECT_EQ(gemd.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
