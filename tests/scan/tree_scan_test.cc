// Copyright the gem authors. Tree scan (gem/tree_scan.h): the demo tree rebuilt as a Hugging
// Face store scans to the shipped manifest up to names, and registration accepts the result
// unchanged; broken cards and folders are each named.
#include "gem/tree_scan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gem/adapter.h"
#include "gem/delta_checkpoint.h"
#include "gem/manifest.h"
#include "gem/tree.h"
#include "scan/hf_demo_tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::BuildHfDemoTree;
using testing::DemoTreeDir;
using testing::TempDir;
using testing::WriteFile;

// The digest registration computes for a shipped candidate.
Digest ShippedDigest(const json& c) {
  const std::string dir = DemoTreeDir() + "/" + c["path"].get<std::string>();
  if (c["kind"] == "adapter") return (*LoraAdapter::Load(dir))->digest();
  return ReadDeltaCheckpoint(dir)->model_digest;
}

TEST(TreeScan, DemoTreeAsHfStoreGivesTheShippedManifestUpToNames) {
  TempDir tmp;
  const auto store = BuildHfDemoTree(tmp.path());
  ScanOptions opt;
  opt.roots = {store.hub, store.mirror};
  opt.downloads_csv = store.downloads_csv;
  opt.name = "demo-tree";
  auto scan = ScanTree(opt);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  for (const auto& p : scan->left_out) ADD_FAILURE() << "left out " << p.id << ": " << p.reason;
  for (const auto& w : scan->warnings) ADD_FAILURE() << "warning: " << w;

  const json& shipped = store.shipped;
  auto id = [](const json& e) { return "demo/" + e["name"].get<std::string>(); };
  EXPECT_EQ(scan->base.id, id(shipped["base"]));
  EXPECT_EQ(scan->base.downloads, shipped["base"]["downloads"].get<int64_t>());
  EXPECT_EQ(scan->base.tags, shipped["base"]["tags"].get<std::vector<std::string>>());
  EXPECT_EQ(scan->base.dir, store.dirs.at(scan->base.id));

  std::map<std::string, const ScannedModel*> got;
  for (const auto& c : scan->candidates) got[c.id] = &c;
  ASSERT_EQ(got.size(), shipped["candidates"].size());
  for (const json& c : shipped["candidates"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    ASSERT_TRUE(got.count(id(c)));
    const ScannedModel& s = *got[id(c)];
    EXPECT_EQ(CandidateKindName(s.kind), c["kind"].get<std::string>());
    EXPECT_EQ(s.relation, c["kind"] == "adapter" ? "adapter" : "finetune");
    EXPECT_EQ(s.parent, "demo/" + c["parent"].get<std::string>());
    EXPECT_EQ(s.downloads, c["downloads"].get<int64_t>());
    EXPECT_EQ(s.tags, c["tags"].get<std::vector<std::string>>());
    EXPECT_EQ(s.digest, ShippedDigest(c));
    EXPECT_EQ(s.dir, store.dirs.at(s.id));
  }

  // The written manifest reads back, and registration accepts it unchanged: every candidate
  // registers, with the digest the scan wrote.
  const std::string manifest = tmp / "scanned.json";
  ASSERT_TRUE(WriteScanManifest(*scan, manifest).ok());
  auto m = ReadManifest(manifest);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "demo-tree");
  EXPECT_EQ(m->candidates.size(), shipped["candidates"].size());
  for (const auto& e : m->candidates) {
    EXPECT_TRUE(e.resolve_status.ok()) << e.meta.name << ": " << e.resolve_status.ToString();
    EXPECT_FALSE(e.digest.empty());
    EXPECT_FALSE(e.meta.relation.empty());
  }
  RegisterOptions ro;
  ro.forms = {DeltaForm::kXor};
  auto reg = RegisterTree(manifest, tmp / "data", ro);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->num_registered(), shipped["candidates"].size());
  EXPECT_EQ(reg->base_digest, scan->base.digest);
  for (const auto& c : reg->candidates) {
    EXPECT_TRUE(c.registered) << c.name << ": " << c.status.ToString();
    EXPECT_EQ(c.digest, got.at(c.name)->digest) << c.name;
    EXPECT_EQ(c.meta.relation, got.at(c.name)->relation) << c.name;
  }
}

TEST(TreeScan, RegistrationRefusesACandidateWhoseFilesChangedSinceTheScan) {
  TempDir tmp;
  const auto store = BuildHfDemoTree(tmp.path());
  ScanOptions opt;
  opt.roots = {store.hub, store.mirror};
  opt.downloads_csv = store.downloads_csv;
  auto scan = ScanTree(opt);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->name, "demo-demo-base-tree");
  const std::string manifest = tmp / "scanned.json";
  ASSERT_TRUE(WriteScanManifest(*scan, manifest).ok());
  // Swap one mirror fine-tune's weights for another's.
  const std::string a = store.dirs.at("demo/ft-add-long1"), b = store.dirs.at("demo/ft-sub");
  ASSERT_TRUE(fs::exists(a + "/model.safetensors"));
  fs::copy_file(b + "/model.safetensors", a + "/model.safetensors",
                fs::copy_options::overwrite_existing);
  RegisterOptions ro;
  ro.forms = {DeltaForm::kXor};
  auto reg = RegisterTree(manifest, tmp / "data", ro);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->num_registered(), scan->candidates.size() - 1);
  for (const auto& c : reg->candidates) {
    if (c.name != "demo/ft-add-long1") continue;
    EXPECT_FALSE(c.registered);
    EXPECT_NE(c.status.message().find("not the manifest's"), std::string::npos)
        << c.status.ToString();
  }
}

// A folder of checkpoints with every kind of mistake the scan must name.
class BrokenStore : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "store";
    fs::create_directories(root_);
    fs::copy(DemoTreeDir() + "/base", root_ + "/base");
    auto ft = [&](const std::string& name, const std::string& card) {
      auto d = RebuildDeltaCheckpoint(DemoTreeDir() + "/base", DemoTreeDir() + "/ft_add_long0",
                                      root_ + "/" + name);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      if (!card.empty()) WriteFile(root_ + "/" + name + "/README.md", card);
    };
    auto lora = [&](const std::string& name, const std::string& base_path,
                    const std::string& card) {
      fs::create_directories(root_ + "/" + name);
      fs::copy(DemoTreeDir() + "/lora_add_all_r8/adapter_model.safetensors",
               root_ + "/" + name + "/adapter_model.safetensors");
      json ac = testing::ReadJson(DemoTreeDir() + "/lora_add_all_r8/adapter_config.json");
      ac["base_model_name_or_path"] = base_path;
      WriteFile(root_ + "/" + name + "/adapter_config.json", ac.dump());
      if (!card.empty()) WriteFile(root_ + "/" + name + "/README.md", card);
    };
    ft("good-ft", "---\nbase_model: base\n---\n");
    ft("bad-yaml", "---\nbase_model: [base\ntags: x\n---\n");
    ft("unterminated", "---\nbase_model: base\n");
    ft("unknown-parent", "---\nbase_model: someone/elses-model\n---\n");
    ft("bad-relation", "---\nbase_model: base\nbase_model_relation: distillation\n---\n");
    ft("base-model-map", "---\nbase_model:\n  name: base\n---\n");
    ft("says-adapter", "---\nbase_model: base\nbase_model_relation: adapter\n---\n");
    ft("cycle-a", "---\nbase_model: cycle-b\n---\n");
    ft("cycle-b", "---\nbase_model: cycle-a\n---\n");
    ft("orphan", "");
    ft("child-of-bad", "---\nbase_model: bad-yaml\n---\n");
    ft("bad-downloads", "---\nbase_model: base\ndownloads: lots\n---\n");
    ft("two-bases", "---\nbase_model: [base, good-ft]\nbase_model_relation: finetune\n---\n");
    ft("merge", "---\nbase_model: [good-ft, base]\n---\n");
    lora("good-lora", "../base", "");
    lora("lora-on-ft", "../good-ft", "");
    lora("lora-nowhere", "/nonexistent/base", "");
    lora("lora-contradicts", "../base", "---\nbase_model: good-ft\n---\n");
    fs::create_directories(root_ + "/bad-json-adapter");
    WriteFile(root_ + "/bad-json-adapter/adapter_config.json", "{\"r\": 8,");
    fs::create_directories(root_ + "/gguf-quant");
    WriteFile(root_ + "/gguf-quant/model-q4_k_m.gguf", "GGUF");
    WriteFile(root_ + "/gguf-quant/README.md",
              "---\nbase_model: base\nbase_model_relation: quantized\n---\n");
    fs::create_directories(root_ + "/no-weights");
    fs::copy(DemoTreeDir() + "/base/config.json", root_ + "/no-weights/config.json");
    WriteFile(root_ + "/no-weights/README.md", "---\nbase_model: base\n---\n");
    fs::create_directories(root_ + "/card-only");
    WriteFile(root_ + "/card-only/README.md", "---\nbase_model: base\n---\n");
  }

  std::map<std::string, std::string> LeftOut(const TreeScan& scan) {
    std::map<std::string, std::string> m;
    for (const auto& p : scan.left_out) m[p.id] = p.reason;
    return m;
  }

  TempDir tmp_;
  std::string root_;
};

TEST_F(BrokenStore, NamesEachProblemAndPlacesTheRest) {
  ScanOptions opt;
  opt.roots = {root_};
  opt.base = "base";
  auto scan = ScanTree(opt);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  std::map<std::string, std::string> placed;
  for (const auto& c : scan->candidates) placed[c.id] = c.relation + " of " + c.parent;
  EXPECT_EQ(placed, (std::map<std::string, std::string>{{"good-ft", "finetune of base"},
                                                        {"good-lora", "adapter of base"},
                                                        {"bad-downloads", "finetune of base"},
                                                        {"merge", "merge of good-ft"}}));
  auto out = LeftOut(*scan);
  auto expect = [&](const std::string& id, const std::string& needle) {
    ASSERT_TRUE(out.count(id)) << id << " was not left out";
    EXPECT_NE(out[id].find(needle), std::string::npos) << id << ": " << out[id];
  };
  expect("bad-yaml", "README.md line 3, column");
  expect("bad-yaml", "not valid YAML");
  expect("unterminated", "never closed");
  expect("unknown-parent", "'someone/elses-model' (README.md base_model) is not among the scanned");
  expect("bad-relation", "base_model_relation 'distillation' is not one of");
  expect("base-model-map", "base_model is a mapping");
  expect("says-adapter", "no adapter_config.json");
  expect("cycle-a", "cycle");
  expect("cycle-b", "cycle");
  expect("orphan", "names no base model");
  expect("child-of-bad", "its parent 'bad-yaml' was left out");
  expect("two-bases", "only a merge has several");
  expect("lora-on-ft", "an adapter on 'good-ft', not on the tree's base 'base'");
  expect("lora-nowhere", "'/nonexistent/base' (adapter_config.json) is not among the scanned");
  expect("lora-contradicts", "is 'base' but README.md's base_model 'good-ft' is 'good-ft'");
  expect("bad-json-adapter", "adapter_config.json: not a valid JSON object");
  expect("gguf-quant", "GGUF weights (model-q4_k_m.gguf)");
  expect("no-weights", "no weights");
  expect("card-only", "holds no model files");
  EXPECT_EQ(out.size(), 18u);
  bool warned = false;
  for (const auto& w : scan->warnings) {
    warned |= w.find("'bad-downloads': README.md: downloads is 'lots'") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  // The merge records everything it was merged from.
  for (const auto& c : scan->candidates) {
    if (c.id == "merge") {
      EXPECT_EQ(c.merged_from, (std::vector<std::string>{"good-ft", "base"}));
    }
  }
  // The manifest lists what was left out, with why.
  const json j = json::parse(ScanManifestJson(*scan));
  EXPECT_EQ(j["left_out"].size(), 18u);
}

TEST_F(BrokenStore, WithoutBaseSeveralRootsAreAnErrorThatNamesThem) {
  ScanOptions opt;
  opt.roots = {root_};
  auto scan = ScanTree(opt);
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.status().message().find("'base'"), std::string::npos) << scan.status().ToString();
  EXPECT_NE(scan.status().message().find("'orphan'"), std::string::npos);
  EXPECT_NE(scan.status().message().find("--base"), std::string::npos);
}

TEST_F(BrokenStore, BaseThatNamesNothingIsAnError) {
  ScanOptions opt;
  opt.roots = {root_};
  opt.base = "nobody/nothing";
  auto scan = ScanTree(opt);
  ASSERT_FALSE(scan.ok());
  EXPECT_TRUE(scan.status().IsNotFound()) << scan.status().ToString();
  EXPECT_NE(scan.status().message().find("nobody/nothing"), std::string::npos);
}

TEST(TreeScan, DownloadsCsvErrorsNameTheLine) {
  TempDir tmp;
  ScanOptions opt;
  opt.roots = {DemoTreeDir() + "/base"};
  opt.downloads_csv = tmp / "d.csv";
  WriteFile(opt.downloads_csv, "model,downloads\nbase,12\nbase,many\n");
  auto scan = ScanTree(opt);
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.status().message().find("line 3: downloads 'many'"), std::string::npos)
      << scan.status().ToString();
  WriteFile(opt.downloads_csv, "name,count\nbase,12\n");
  scan = ScanTree(opt);
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.status().message().find("'downloads' column"), std::string::npos);
}

TEST(TreeScan, ShippedDemoFolderScansAsDeltaCheckpointsAndAdapters) {
  // data/demo_tree itself: no cards, so only the adapters (adapter_config.json "../base") are
  // placed; the fine-tunes name no base model and are left out, each saying so.
  ScanOptions opt;
  opt.roots = {DemoTreeDir()};
  opt.base = DemoTreeDir() + "/base";
  auto scan = ScanTree(opt);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->base.id, "base");
  size_t adapters = 0;
  for (const auto& c : scan->candidates) adapters += c.kind == CandidateKind::kAdapter;
  EXPECT_EQ(adapters, 17u);
  EXPECT_EQ(scan->candidates.size(), 17u);
  EXPECT_EQ(scan->left_out.size(), 17u);
  for (const auto& p : scan->left_out) {
    EXPECT_NE(p.reason.find("names no base model"), std::string::npos) << p.id << ": " << p.reason;
  }
}

TEST(TreeScan, ManifestRelationAndDigestFieldsAreChecked) {
  TempDir tmp;
  auto manifest = [&](const std::string& extra) {
    WriteFile(tmp / "m.json", "{\"gem_manifest\": 1, \"base\": {\"path\": \"" + DemoTreeDir() +
                                  "/base\"}, \"candidates\": [{\"path\": \"" + DemoTreeDir() +
                                  "/lora_add_all_r8\"" + extra + "}]}");
    return ReadManifest(tmp / "m.json");
  };
  auto ok = manifest(", \"relation\": \"adapter\", \"digest\": \"" + std::string(64, 'a') + "\"");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->candidates[0].meta.relation, "adapter");
  EXPECT_EQ(ok->candidates[0].digest, std::string(64, 'a'));
  auto bad = manifest(", \"relation\": \"distilled\"");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'relation' must be"), std::string::npos);
  bad = manifest(", \"digest\": \"abc\"");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'digest' must be 64 hex digits"), std::string::npos);
}

}  // namespace
}  // namespace gem
