// Copyright the gem authors. `gemctl tree scan` as a subprocess: the manifest it writes is the
// libgem scan's, its summary names what was left out and why, and errors give exit statuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gem/tree_scan.h"
#include "scan/hf_demo_tree.h"
#include "tree/tree_test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

const std::string kGemctl = std::string(GEM_BIN_DIR) + "/gemctl";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TreeScanCli, WritesTheLibraryScansManifestAndSaysWhatItDid) {
  TempDir tmp;
  const auto store = testing::BuildHfDemoTree(tmp.path());
  // One more folder the scan cannot place: a card that does not parse.
  std::filesystem::create_directories(store.mirror + "/demo/broken");
  std::filesystem::copy(store.dirs.at("demo/ft-add-long1") + "/model.safetensors",
                        store.mirror + "/demo/broken/model.safetensors");
  std::filesystem::copy(store.dirs.at("demo/ft-add-long1") + "/config.json",
                        store.mirror + "/demo/broken/config.json");
  WriteFile(store.mirror + "/demo/broken/README.md", "---\nbase_model: [demo/demo-base\n---\n");
  const std::string out = tmp / "tree.json";
  auto r = RunCommand(kGemctl + " tree scan " + store.hub + " " + store.mirror + " --downloads " +
                      store.downloads_csv + " --name demo-tree --out " + out + " 2>&1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tree demo-tree: base demo/demo-base and 34 descendants placed, 1 left out"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("left out: demo/broken"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not valid YAML"), std::string::npos) << r.out;

  ScanOptions opt;
  opt.roots = {store.hub, store.mirror};
  opt.downloads_csv = store.downloads_csv;
  opt.name = "demo-tree";
  auto scan = ScanTree(opt);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(Slurp(out), ScanManifestJson(*scan));

  // Without --out the manifest goes to stdout and the summary to stderr.
  r = RunCommand(kGemctl + " tree scan " + store.hub + " " + store.mirror + " --downloads " +
                 store.downloads_csv + " --name demo-tree 2>/dev/null");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, ScanManifestJson(*scan));
}

TEST(TreeScanCli, ErrorsHaveExitStatusesAndMessages) {
  TempDir tmp;
  // A --base that names nothing: NotFound (exit 11).
  auto r = RunCommand(kGemctl + " tree scan " + std::string(GEM_SOURCE_DIR) +
                      "/data/demo_tree --base nobody/none -o " + (tmp / "t.json") + " 2>&1");
  EXPECT_EQ(r.code, 11) << r.out;
  EXPECT_NE(r.out.find("--base 'nobody/none'"), std::string::npos) << r.out;
  // Several candidates for the base (the demo folder's fine-tunes have no cards): exit 14.
  r = RunCommand(kGemctl + " tree scan " + std::string(GEM_SOURCE_DIR) + "/data/demo_tree -o " +
                 (tmp / "t.json") + " 2>&1");
  EXPECT_EQ(r.code, 14) << r.out;
  EXPECT_NE(r.out.find("choose the tree's base with --base"), std::string::npos) << r.out;
  // A folder that does not exist is a usage error (exit 2).
  r = RunCommand(kGemctl + " tree scan /nonexistent/folder 2>&1");
  EXPECT_EQ(r.code, 2) << r.out;
}

}  // namespace
}  // namespace gem
