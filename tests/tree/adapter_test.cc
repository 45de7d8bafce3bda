// Copyright the gem authors. PEFT LoRA adapters: loading, scaling, checks against the base,
// refusal of unsupported features.
#include "gem/adapter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gem/tree.h"
#include "tree/tree_test_util.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TreeFixture;

TEST(LoraAdapter, LoadsTheFixtureAdapters) {
  auto shapes = ShapesOfCheckpoint(TreeFixture("base"));
  ASSERT_TRUE(shapes.ok());
  const auto ref = testing::ReadJson(TreeFixture("reference.json"));
  struct Want {
    const char* dir;
    size_t modules;
    int rank;
  } wants[] = {
      {"lora_qv_r4", 2 * 2, 4}, {"lora_all_r8_rslora", 7 * 2, 8}, {"lora_mlp_r2", 3 * 2, 2}};
  for (const Want& w : wants) {
    auto ad = LoraAdapter::Load(TreeFixture(w.dir));
    ASSERT_TRUE(ad.ok()) << ad.status().ToString();
    EXPECT_EQ((*ad)->modules().size(), w.modules) << w.dir;
    EXPECT_EQ((*ad)->max_rank(), w.rank);
    EXPECT_TRUE((*ad)->CheckAgainstBase(*shapes).ok());
    const auto& r = ref["models"][w.dir];
    const double alpha = r["lora_alpha"].get<double>();
    const float want_scale = static_cast<float>(
        r["use_rslora"].get<bool>() ? alpha / std::sqrt(double(w.rank)) : alpha / w.rank);
    for (const LoraModule& m : (*ad)->modules()) {
      EXPECT_FLOAT_EQ(m.scale, want_scale) << w.dir;
      EXPECT_EQ(m.a.size(), size_t(m.rank) * m.in_features);
      EXPECT_EQ(m.b.size(), size_t(m.out_features) * m.rank);
      bool nonzero = false;
      for (float v : m.b) nonzero |= v != 0;
      EXPECT_TRUE(nonzero) << "trained adapters have non-zero B";
    }
    EXPECT_NE((*ad)->Find(1, (*ad)->modules().back().module), nullptr);
    EXPECT_EQ((*ad)->Find(7, "q_proj"), nullptr);
  }
  auto a = LoraAdapter::Load(TreeFixture("lora_qv_r4"));
  auto b = LoraAdapter::Load(TreeFixture("lora_mlp_r2"));
  EXPECT_NE((*a)->digest(), (*b)->digest());
  EXPECT_EQ((*a)->digest(), (*LoraAdapter::Load(TreeFixture("lora_qv_r4")))->digest());
  EXPECT_FLOAT_EQ((*a)->Find(0, "q_proj")->scale, 2.0f);
  EXPECT_NEAR((*LoraAdapter::Load(TreeFixture("lora_all_r8_rslora")))->modules()[0].scale,
              16 / std::sqrt(8.0), 1e-6);
}

TEST(LoraAdapter, WrongBaseIsRefusedWithTheTensor) {
  auto shapes = ShapesOfCheckpoint(TreeFixture("base"));
  auto ad = LoraAdapter::Load(TreeFixture("bad_lora_shapes"));
  ASSERT_TRUE(ad.ok());
  Status s = (*ad)->CheckAgainstBase(*shapes);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("model.layers.0.mlp."), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("maybe the wrong base model?"), std::string::npos);
}

TEST(LoraAdapter, UnsupportedFeaturesAreNamed) {
  auto patch = [](const char* key, nlohmann::json value, const char* word) {
    TempDir dir;
    fs::copy(TreeFixture("lora_qv_r4"), dir.path(), fs::copy_options::recursive);
    auto cfg = testing::ReadJson(dir / "adapter_config.json");
    cfg[key] = value;
    testing::WriteFile(dir / "adapter_config.json", cfg.dump());
    auto ad = LoraAdapter::Load(dir.path());
    ASSERT_FALSE(ad.ok()) << key;
    EXPECT_NE(ad.status().ToString().find(word), std::string::npos) << ad.status().ToString();
  };
  patch("use_dora", true, "DoRA");
  patch("bias", "all", "bias");
  patch("modules_to_save", {"lm_head"}, "modules_to_save");
  patch("alpha_pattern", {{"q_proj", 4}}, "alpha_pattern");
  patch("peft_type", "IA3", "IA3");
  patch("r", 0, "'r'");
}

TEST(LoraAdapter, MissingFilesAreNotFound) {
  TempDir dir;
  auto ad = LoraAdapter::Load(dir.path());
  EXPECT_TRUE(ad.status().IsNotFound());
  EXPECT_NE(ad.status().ToString().find("adapter_config.json"), std::string::npos);
}

TEST(LoraSlots, SlotsAreChecked) {
  LoraSlots slots(4);
  EXPECT_TRUE(slots.Set(3, nullptr).ok());
  EXPECT_TRUE(slots.Set(4, nullptr).IsInvalidArgument());
  EXPECT_TRUE(slots.Set(-1, nullptr).IsInvalidArgument());
}

}  // namespace
}  // namespace gem
