// Copyright the gem authors. Registering the fixture tree: good candidates register, the bad
// ones are refused by name with the mismatch, and the rest of the tree is unaffected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gem/tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TreeFixture;

const CandidateOutcome* Find(const RegisteredTree& t, const std::string& name) {
  for (const auto& c : t.candidates)
    if (c.name == name) return &c;
  return nullptr;
}

void ExpectRefused(const RegisteredTree& t, const std::string& name,
                   std::initializer_list<const char*> words) {
  const CandidateOutcome* c = Find(t, name);
  ASSERT_NE(c, nullptr) << name;
  EXPECT_FALSE(c->registered) << name;
  const std::string msg = c->status.ToString();
  EXPECT_NE(msg.find("'" + name + "'"), std::string::npos) << "names the candidate: " << msg;
  for (const char* w : words)
    EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' in: " << msg;
}

TEST(RegisterTree, FixtureTreeRegistersAndRefusesTheMisfits) {
  TempDir data;
  std::vector<std::string> progress;
  RegisterOptions opt;
  opt.progress = [&](const std::string& line) { progress.push_back(line); };
  auto tree = RegisterTree(TreeFixture("tree.json"), data.path(), opt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->name, "tiny-llama-tree");
  EXPECT_EQ(tree->candidates.size(), 9u);
  EXPECT_EQ(tree->num_registered(), 6u);
  for (const char* name : {"ft-math", "ft-code", "ft-chat-f16"}) {
    const CandidateOutcome* c = Find(*tree, name);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->registered) << c->status.ToString();
    EXPECT_EQ(c->kind, CandidateKind::kFinetune);
    ASSERT_EQ(c->deltas.size(), 3u);
    for (const DeltaStats& d : c->deltas) {
      EXPECT_TRUE(fs::exists(d.path)) << d.path;
      EXPECT_NE(d.path.find(c->digest.Hex()), std::string::npos) << "stored under its digest";
      std::printf(
          "[ %s ] %-4s %6.1f%% of %llu bytes, %zu/%zu tensors, max abs %.3g, rel Frob %.3g\n", name,
          DeltaFormName(d.form), 100 * d.size_fraction(),
          static_cast<unsigned long long>(d.finetune_bytes), d.tensors_stored, d.tensors_total,
          d.error.max_abs, d.error.rel_frobenius);
    }
    EXPECT_EQ(c->deltas[0].error.max_abs, 0.0);  // xor
    EXPECT_GT(c->deltas[1].error.max_abs, 0.0);  // int8
  }
  EXPECT_EQ(Find(*tree, "ft-math")->meta.downloads, 12);
  EXPECT_EQ(Find(*tree, "ft-math")->meta.parent, "tiny-llama-base");
  for (const char* name : {"lora-qv-r4", "lora-all-r8-rslora", "lora-mlp-r2"}) {
    const CandidateOutcome* c = Find(*tree, name);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->registered) << c->status.ToString();
    EXPECT_EQ(c->kind, CandidateKind::kAdapter);
    EXPECT_TRUE(fs::exists(c->adapter_dir + "/adapter_model.safetensors"));
  }
  ExpectRefused(*tree, "bad-arch-qwen2", {"Qwen2ForCausalLM", "maybe the wrong base model?"});
  ExpectRefused(*tree, "bad-shapes", {"shape", "mlp", "maybe the wrong base model?"});
  ExpectRefused(*tree, "bad-lora-shapes", {"mlp", "maybe the wrong base model?"});
  EXPECT_FALSE(progress.empty());

  // The record reads back.
  auto rec = LoadTreeRecord(data.path(), "tiny-llama-tree");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->base_digest, tree->base_digest);
  EXPECT_EQ(rec->num_registered(), 6u);
  EXPECT_EQ(rec->candidates[0].deltas.size(), 3u);
  EXPECT_EQ(rec->candidates[0].digest, tree->candidates[0].digest);

  // Registering again reuses the content-addressed files and gives the same outcome.
  auto again = RegisterTree(TreeFixture("tree.json"), data.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->num_registered(), 6u);
  EXPECT_EQ(again->candidates[0].deltas[0].file_bytes, tree->candidates[0].deltas[0].file_bytes);
}

// A manifest in a temp dir listing fixture candidates by absolute path plus extra entries.
std::string WriteManifest(const TempDir& dir, nlohmann::json candidates) {
  nlohmann::json m = {{"gem_manifest", 1},
                      {"name", "t"},
                      {"base", {{"path", TreeFixture("base")}}},
                      {"candidates", candidates}};
  const std::string path = dir / "tree.json";
  testing::WriteFile(path, m.dump());
  return path;
}

TEST(RegisterTree, CorruptAndMissingCandidatesAreRefusedByName) {
  TempDir dir, data;
  fs::copy(TreeFixture("ft_math"), dir / "corrupt");
  fs::resize_file(dir / "corrupt/model.safetensors", 5000);
  fs::copy(TreeFixture("lora_qv_r4"), dir / "corrupt_lora");
  testing::WriteFile(dir / "corrupt_lora/adapter_config.json", "{not json");
  const std::string manifest =
      WriteManifest(dir, {{{"path", "corrupt"}, {"name", "corrupt-ft"}},
                          {{"path", "corrupt_lora"}, {"name", "corrupt-lora"}},
                          {{"path", "nowhere"}, {"name", "missing"}},
                          {{"path", TreeFixture("ft_code")}, {"name", "good-ft"}},
                          {{"path", TreeFixture("lora_mlp_r2")}, {"name", "good-lora"}}});
  RegisterOptions opt;
  opt.forms = {DeltaForm::kXor};
  auto tree = RegisterTree(manifest, data.path(), opt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ExpectRefused(*tree, "corrupt-ft", {"model.safetensors", "truncated"});
  ExpectRefused(*tree, "corrupt-lora", {"adapter_config.json", "JSON"});
  ExpectRefused(*tree, "missing", {"nowhere"});
  EXPECT_TRUE(Find(*tree, "good-ft")->registered) << Find(*tree, "good-ft")->status.ToString();
  EXPECT_TRUE(Find(*tree, "good-lora")->registered);
  EXPECT_EQ(tree->num_registered(), 2u);
}

TEST(RegisterTree, HuggingFaceCacheEntryResolves) {
  TempDir dir, data;
  const std::string entry = dir / "hub/models--acme--tiny-math";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  fs::create_directories(entry + "/refs");
  fs::create_directories(entry + "/snapshots");
  fs::copy(TreeFixture("ft_math"), entry + "/snapshots/" + commit);
  testing::WriteFile(entry + "/refs/main", commit + "\n");
  nlohmann::json m = {{"gem_manifest", 1},
                      {"hf_cache", "hub"},
                      {"base", {{"path", TreeFixture("base")}}},
                      {"candidates",
                       {{{"repo", "acme/tiny-math"}},
                        {{"repo", "acme/tiny-math"}, {"revision", commit}, {"name", "by-commit"}},
                        {{"repo", "acme/absent"}}}}};
  testing::WriteFile(dir / "m.json", m.dump());
  RegisterOptions opt;
  opt.forms = {DeltaForm::kXor};
  auto tree = RegisterTree(dir / "m.json", data.path(), opt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_TRUE(Find(*tree, "acme/tiny-math")->registered);
  EXPECT_TRUE(Find(*tree, "by-commit")->registered);
  EXPECT_EQ(Find(*tree, "acme/tiny-math")->digest, Find(*tree, "by-commit")->digest);
  ExpectRefused(*tree, "acme/absent", {"models--acme--absent"});
  EXPECT_EQ(tree->name, "m");  // defaults to the manifest's stem
}

TEST(Manifest, MalformedManifestsNameTheProblem) {
  TempDir dir;
  auto check = [&](const std::string& text, const char* word) {
    testing::WriteFile(dir / "m.json", text);
    auto m = ReadManifest(dir / "m.json");
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_NE(m.status().ToString().find(word), std::string::npos) << m.status().ToString();
    EXPECT_NE(m.status().ToString().find("m.json"), std::string::npos);
  };
  const std::string base = "\"base\": {\"path\": \"" + TreeFixture("base") + "\"}";
  check("{", "JSON");
  check("{\"candidates\": []}", "gem_manifest");
  check("{\"gem_manifest\": 2, " + base + ", \"candidates\": []}", "version 2");
  check("{\"gem_manifest\": 1, \"candidates\": []}", "base");
  check("{\"gem_manifest\": 1, " + base + "}", "candidates");
  check("{\"gem_manifest\": 1, " + base + ", \"candidates\": [{\"name\": \"x\"}]}", "path");
  check("{\"gem_manifest\": 1, " + base +
            ", \"candidates\": [{\"path\": \"a\", \"name\": \"x\"}, {\"path\": \"b\", \"name\": "
            "\"x\"}]}",
        "used twice");
  check("{\"gem_manifest\": 1, " + base +
            ", \"candidates\": [{\"path\": \"a\", \"kind\": \"full\"}]}",
        "kind");
  check("{\"gem_manifest\": 1, " + base +
            ", \"candidates\": [{\"path\": \"a\", \"downloads\": \"many\"}]}",
        "downloads");
  check("{\"gem_manifest\": 1, \"base\": {\"path\": \"nope\"}, \"candidates\": []}", "nope");
  auto missing = ReadManifest(dir / "absent.json");
  EXPECT_TRUE(missing.status().IsNotFound());
}

TEST(RegisterTree, UnusableBaseIsAnError) {
  TempDir dir, data;
  nlohmann::json m = {{"gem_manifest", 1},
                      {"base", {{"path", TreeFixture("lora_qv_r4")}}},
                      {"candidates", nlohmann::json::array()}};
  testing::WriteFile(dir / "m.json", m.dump());
  auto tree = RegisterTree(dir / "m.json", data.path());
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().ToString().find("config.json"), std::string::npos)
      << tree.status().ToString();
}

}  // namespace
}  // namespace gem
