// Copyright the gem authors. Delta checkpoints: a fine-tune written as its lossless delta comes
// back bit for bit, registers as the same model as its HF directory, and every way a checkpoint
// can be wrong (another base, a lossy form, damaged bytes, a false digest) is refused by name.
#include "gem/delta_checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::ReadJson;
using testing::TempDir;
using testing::TreeFixture;

// Every tensor of `a` and `b`: same names, dtypes, shapes and bytes.
void ExpectSameWeights(const std::string& a, const std::string& b) {
  auto sa = SafetensorsSet::Open(a);
  auto sb = SafetensorsSet::Open(b);
  ASSERT_TRUE(sa.ok()) << sa.status().ToString();
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  ASSERT_EQ((*sa)->Names(), (*sb)->Names());
  for (const std::string& name : (*sa)->Names()) {
    const auto ea = (*sa)->Find(name), eb = (*sb)->Find(name);
    EXPECT_EQ(ea.info->dtype, eb.info->dtype) << name;
    EXPECT_EQ(ea.info->shape, eb.info->shape) << name;
    const auto ba = ea.file->Bytes(*ea.info), bb = eb.file->Bytes(*eb.info);
    ASSERT_EQ(ba.size(), bb.size()) << name;
    EXPECT_EQ(std::memcmp(ba.data(), bb.data(), ba.size()), 0) << name << " differs";
  }
}

Digest DigestOf(const std::string& dir) {
  auto s = SafetensorsSet::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? WeightsDigest(**s) : Digest{};
}

// A one-candidate manifest in `dir` naming `base` and `candidate` (absolute paths).
std::string Manifest(const TempDir& dir, const std::string& base, const std::string& candidate) {
  json m = {{"gem_manifest", 1},
            {"name", "ckpt-tree"},
            {"base", {{"path", base}, {"name", "base"}}},
            {"candidates", {{{"path", candidate}, {"name", "cand"}}}}};
  const std::string path = dir / "tree.json";
  testing::WriteFile(path, m.dump());
  return path;
}

TEST(DeltaCheckpoint, RebuildsTheFineTuneBitForBit) {
  TempDir tmp;
  const std::string ckpt = tmp / "ft_math.delta", rebuilt = tmp / "ft_math.rebuilt";
  auto info = WriteDeltaCheckpoint(TreeFixture("base"), TreeFixture("ft_math"), ckpt);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->model_digest, DigestOf(TreeFixture("ft_math")));
  EXPECT_EQ(info->base_digest, DigestOf(TreeFixture("base")));
  EXPECT_TRUE(IsDeltaCheckpoint(ckpt));
  EXPECT_FALSE(IsDeltaCheckpoint(TreeFixture("ft_math")));
  // The fine-tune's tokenizer equals the base's: only what differs is kept beside the delta.
  EXPECT_TRUE(fs::exists(ckpt + "/config.json"));
  EXPECT_FALSE(fs::exists(ckpt + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(ckpt + "/model.safetensors"));
  EXPECT_LT(info->delta.file_bytes, info->delta.finetune_bytes);
  std::printf("[ ft_math ] delta checkpoint %llu bytes for %llu bytes of weights (%.1f%%)\n",
              static_cast<unsigned long long>(info->delta.file_bytes),
              static_cast<unsigned long long>(info->delta.finetune_bytes),
              100 * info->delta.size_fraction());

  auto read = ReadDeltaCheckpoint(ckpt);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->model_digest, info->model_digest);
  EXPECT_EQ(read->files, info->files);

  auto digest = RebuildDeltaCheckpoint(TreeFixture("base"), ckpt, rebuilt);
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, info->model_digest);
  ExpectSameWeights(TreeFixture("ft_math"), rebuilt);
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(rebuilt + "/" + f)) << f << " (from the checkpoint or the base)";
  }
  EXPECT_EQ(ReadJson(rebuilt + "/config.json"), ReadJson(TreeFixture("ft_math/config.json")));
  // The rebuilt directory is an ordinary fine-tune of the base.
  EXPECT_TRUE(CheckFinetuneFitsBase(TreeFixture("base"), rebuilt).ok());
}

TEST(DeltaCheckpoint, AFineTuneInAnotherDtypeComesBackInItsOwn) {
  // ft_chat_f16 is an f16 file of a bf16 base whose MLP and embeddings keep the base's values:
  // registration leaves those tensors out (the engine cannot see a dtype change), but the
  // checkpoint keeps them, so the file comes back f16 throughout.
  TempDir tmp;
  auto info = WriteDeltaCheckpoint(TreeFixture("base"), TreeFixture("ft_chat_f16"), tmp / "c");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->delta.tensors_stored, info->delta.tensors_total);
  auto d = RebuildDeltaCheckpoint(TreeFixture("base"), tmp / "c", tmp / "r");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, DigestOf(TreeFixture("ft_chat_f16")));
  ExpectSameWeights(TreeFixture("ft_chat_f16"), tmp / "r");
  // And it registers as the model its directory is.
  auto tree = RegisterTree(Manifest(tmp, TreeFixture("base"), tmp / "c"), tmp / "data");
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ASSERT_TRUE(tree->candidates.at(0).registered) << tree->candidates.at(0).status.ToString();
  EXPECT_EQ(tree->candidates.at(0).digest, DigestOf(TreeFixture("ft_chat_f16")));
}

TEST(DeltaCheckpoint, RegistersAsTheSameModelAsItsDirectory) {
  TempDir tmp;
  const std::string ckpt = tmp / "ft_math";
  ASSERT_TRUE(WriteDeltaCheckpoint(TreeFixture("base"), TreeFixture("ft_math"), ckpt).ok());
  auto from_dir =
      RegisterTree(Manifest(tmp, TreeFixture("base"), TreeFixture("ft_math")), tmp / "data_dir");
  ASSERT_TRUE(from_dir.ok()) << from_dir.status().ToString();
  TempDir tmp2;
  std::vector<std::string> progress;
  RegisterOptions opt;
  opt.progress = [&](const std::string& l) { progress.push_back(l); };
  auto from_ckpt = RegisterTree(Manifest(tmp2, TreeFixture("base"), ckpt), tmp2 / "data", opt);
  ASSERT_TRUE(from_ckpt.ok()) << from_ckpt.status().ToString();
  const CandidateOutcome& a = from_dir->candidates.at(0);
  const CandidateOutcome& b = from_ckpt->candidates.at(0);
  ASSERT_TRUE(b.registered) << b.status.ToString();
  EXPECT_EQ(b.kind, CandidateKind::kFinetune);
  EXPECT_EQ(b.digest, a.digest);
  EXPECT_EQ(b.path, ckpt);
  EXPECT_TRUE(b.warnings.empty()) << "no tokenizer beside the delta is the base's tokenizer";
  ASSERT_EQ(b.deltas.size(), a.deltas.size());
  for (size_t i = 0; i < b.deltas.size(); ++i) {
    EXPECT_TRUE(fs::exists(b.deltas[i].path)) << b.deltas[i].path;
    EXPECT_EQ(b.deltas[i].file_bytes, a.deltas[i].file_bytes) << DeltaFormName(b.deltas[i].form);
  }
  bool said = false;
  for (const auto& l : progress) said |= l.find("rebuilding") != std::string::npos;
  EXPECT_TRUE(said) << "progress tells that the checkpoint is being rebuilt";
  // The scratch rebuild is gone.
  EXPECT_TRUE(fs::is_empty(tmp2 / "data/tmp"));
}

// Registers `candidate` on `base` and returns the refusal message ("" if it registered).
std::string Refusal(const std::string& base, const std::string& candidate) {
  TempDir tmp;
  auto tree = RegisterTree(Manifest(tmp, base, candidate), tmp / "data");
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  if (!tree.ok()) return "?";
  const CandidateOutcome& c = tree->candidates.at(0);
  return c.registered ? "" : c.status.ToString();
}

TEST(DeltaCheckpoint, MadeAgainstAnotherBaseIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(WriteDeltaCheckpoint(TreeFixture("base"), TreeFixture("ft_math"), tmp / "c").ok());
  // ft_code has the base's architecture and shapes but other weights.
  const std::string msg = Refusal(TreeFixture("ft_code"), tmp / "c");
  EXPECT_NE(msg.find("'cand'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("made against the base"), std::string::npos) << msg;
  EXPECT_NE(msg.find("maybe the wrong base model?"), std::string::npos) << msg;
  auto r = RebuildDeltaCheckpoint(TreeFixture("ft_code"), tmp / "c", tmp / "r");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(tmp / "r/model.safetensors"));
}

TEST(DeltaCheckpoint, LossyDamagedOrFalseCheckpointsAreRefused) {
  TempDir tmp;
  auto base = SafetensorsSet::Open(TreeFixture("base"));
  auto ft = SafetensorsSet::Open(TreeFixture("ft_math"));
  ASSERT_TRUE(base.ok() && ft.ok());
  auto make = [&](const std::string& name, DeltaForm form, const Digest& model_digest) {
    const std::string dir = tmp / name;
    fs::create_directories(dir);
    fs::copy_file(TreeFixture("ft_math/config.json"), dir + "/config.json");
    DeltaWriteOptions wo;
    wo.model_digest = model_digest;
    wo.base_digest = WeightsDigest(**base);
    EXPECT_TRUE(WriteDelta(**base, **ft, form, dir + "/model.gemdelta", wo).ok());
    return dir;
  };
  const Digest right = WeightsDigest(**ft);

  std::string msg = Refusal(TreeFixture("base"), make("lossy", DeltaForm::kInt8, right));
  EXPECT_NE(msg.find("lossy (int8)"), std::string::npos) << msg;

  Digest wrong = right;
  wrong.bytes[0] ^= 1;
  msg = Refusal(TreeFixture("base"), make("false", DeltaForm::kXor, wrong));
  EXPECT_NE(msg.find("rebuilds weights with digest"), std::string::npos) << msg;

  const std::string damaged = make("damaged", DeltaForm::kXor, right);
  {
    std::fstream f(damaged + "/model.gemdelta", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-10, std::ios::end);
    const char c = static_cast<char>(f.get());
    f.seekp(-10, std::ios::end);
    f.put(static_cast<char>(c ^ 0xff));  // a byte of the data section
  }
  msg = Refusal(TreeFixture("base"), damaged);
  EXPECT_NE(msg.find("model.gemdelta"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Corruption"), std::string::npos) << msg;

  const std::string no_config = make("no_config", DeltaForm::kXor, right);
  fs::remove(no_config + "/config.json");
  msg = Refusal(TreeFixture("base"), no_config);
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;

  // The good one registers: the refusals above were about the checkpoints, not the set-up.
  EXPECT_EQ(Refusal(TreeFixture("base"), make("good", DeltaForm::kXor, right)), "");
}

}  // namespace
}  // namespace gem
