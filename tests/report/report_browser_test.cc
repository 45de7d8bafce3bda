// Copyright the gem authors. The demo's report in a real browser: gemd searches the shipped demo
// tree, `gemctl search report` writes the page, and Debian's chromium, headless, renders it. The
// page must produce no console message (SVG attribute errors are reported there), the rendered
// DOM must hold every model of the tree in the atlas and the scatter plot, and the screenshot is
// kept as a test artefact: <build>/test-artifacts/report/demo-report.{html,png}.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "service/harness.h"

namespace gem::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kDemoDir = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";
const std::string kArtifacts = std::string(GEM_ARTIFACT_DIR) + "/report";

std::string Chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

// Headless chromium on `page` with `extra` flags. It runs as whatever user the tests run as:
// as root (our CI and the README's machines) Debian's chromium refuses to start without
// --no-sandbox ("Running as root without --no-sandbox is not supported"), so the sandbox is off;
// the page is our own file and the network is cut (every host name resolves to nothing).
RunResult Render(const std::string& profile, const std::string& page,
                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {Chromium(),
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--host-resolver-rules=MAP * ~NOTFOUND",
                                   "--user-data-dir=" + profile,
                                   "--enable-logging=stderr",
                                   "--v=0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("file://" + page);
  return RunProgram(argv, {{"HOME", profile}}, 120);
}

// The page's console messages, as chromium logs them ("...:CONSOLE:1] "message", source: ...").
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  }
  return out;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

class ReportBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Chromium().empty()) {
      GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs Debian's "
                      "chromium): the report was not rendered";
    }
    fs::create_directories(kArtifacts);
    profile_ = dir_.path() + "/chromium-profile";
    fs::create_directories(profile_);
  }
  TempDir dir_;
  std::string profile_;
};

// The check can fail: a page that logs an error and has a broken SVG path is caught.
TEST_F(ReportBrowser, ConsoleErrorsAreSeen) {
  const std::string page = dir_.path() + "/bad.html";
  std::ofstream(page) << "<!DOCTYPE html><html><body><svg><path d=\"M 0 0 L x\"/></svg>"
                         "<script>console.error('gem-control-error')</script></body></html>";
  RunResult r = Render(profile_, page, {"--dump-dom"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = ConsoleLines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_NE(r.err.find("gem-control-error"), std::string::npos);
  EXPECT_NE(r.err.find("attribute d"), std::string::npos);
}

TEST_F(ReportBrowser, DemoReportRendersWithEveryModel) {
  Gemd gemd(dir_.path());
  ASSERT_TRUE(gemd.Start());
  json reg = gemd.CtlJson(
      {"tree", "register", kDemoDir + "/tree.json", "--task", kDemoDir + "/tasks/demo_add.jsonl"},
      300);
  ASSERT_FALSE(reg.is_null()) << gemd.log();
  json s = gemd.CtlJson(
      {"search", "start", "--tree", "demo-tree", "--task", "demo_add", "--seed", "1", "--wait"},
      240);
  ASSERT_FALSE(s.is_null()) << gemd.log();
  const std::string page = kArtifacts + "/demo-report.html";
  RunResult w = gemd.Ctl({"search", "report", std::to_string(s.value("id", 0)), "--out", page});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_EQ(gemd.Stop(), 0);

  // Rendered: no console message, and the DOM the browser built holds every model twice (the
  // atlas and the scatter plot), the marks, and the three figures with their text alternatives.
  RunResult dom = Render(profile_, page, {"--dump-dom"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  for (const auto& line : ConsoleLines(dom.err)) ADD_FAILURE() << "console: " << line;
  const std::string& d = dom.out;
  const json manifest = json::parse(std::ifstream(kDemoDir + "/tree.json"));
  std::vector<std::string> names = {manifest["base"]["name"]};
  for (const auto& c : manifest["candidates"]) names.push_back(c["name"]);
  for (const auto& n : names) {
    EXPECT_EQ(Count(d, "<g class=\"node\" data-model=\"" + n + "\""), 2u) << n;
  }
  EXPECT_EQ(Count(d, "<g class=\"node\""), 2 * names.size());
  for (const char* fig : {"atlas", "scatter", "rounds"}) {
    EXPECT_EQ(Count(d, "aria-labelledby=\"" + std::string(fig) + "-title " + fig + "-desc\""), 1u)
        << fig;
    EXPECT_EQ(Count(d, "<desc id=\"" + std::string(fig) + "-desc\">"), 1u) << fig;
  }
  EXPECT_EQ(Count(d, "class=\"found-ring\""), 2u);
  EXPECT_EQ(Count(d, "class=\"popular-ring\""), 2u);
  EXPECT_NE(d.find("MOST POPULAR: demo-base"), std::string::npos);
  EXPECT_NE(d.find("FOUND: " + s.value("chosen_model_name", std::string("?"))), std::string::npos);

  // The screenshot, kept beside the page.
  const std::string png = kArtifacts + "/demo-report.png";
  fs::remove(png);
  RunResult shot = Render(profile_, page, {"--window-size=1200,2400", "--screenshot=" + png});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  for (const auto& line : ConsoleLines(shot.err)) ADD_FAILURE() << "console: " << line;
  ASSERT_TRUE(fs::exists(png)) << shot.err;
  std::ifstream in(png, std::ios::binary);
  std::string head(24, '\0');
  in.read(head.data(), 24);
  ASSERT_EQ(head.substr(1, 3), "PNG");
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(head[at])) << 24) | (uint32_t(uint8_t(head[at + 1])) << 16) |
           (uint32_t(uint8_t(head[at + 2])) << 8) | uint32_t(uint8_t(head[at + 3]));
  };
  EXPECT_EQ(be32(16), 1200u);
  EXPECT_EQ(be32(20), 2400u);
  // A blank page of this size compresses to a few kilobytes; the figures take far more.
  EXPECT_GT(fs::file_size(png), 100000u);
  std::printf("report artefacts: %s/demo-report.{html,png}\n", kArtifacts.c_str());
}

}  // namespace
}  // namespace gem::testing
