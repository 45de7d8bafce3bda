// Copyright the gem authors. End to end on the shipped demo tree (data/demo_tree, made by
// tools/make_demo_tree.py): registered through libgem, every model evaluated exhaustively on
// both demo tasks through the engine evaluator must score exactly what the generating script
// measured with transformers (same prompts, greedy decoding, budget and graders), in both prompt
// variants; and the default search at 50 queries per model must return one of the three best
// models of the exhaustive evaluation.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "demo_tree/accuracies.h"
#include "gem/delta_checkpoint.h"
#include "gem/engine_evaluator.h"
#include "gem/search.h"
#include "gem/task.h"
#include "gem/tree.h"
#include "task/test_util.h"
#include "util/run_command.h"

namespace gem {
namespace {

const std::string kDemoDir = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";

class DemoTreeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new testing::TempDir();
    RegisterOptions ro;
    ro.forms = {DeltaForm::kXor};
    auto tree = RegisterTree(kDemoDir + "/tree.json", data_->path() + "/data", ro);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    tree_ = new RegisteredTree(std::move(tree).value());
    LoadOptions lo;
    lo.threads = 0;
    auto m = Model::Load(tree_->base_path, lo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value().release();
    auto acc = demo::ReadAccuracies(kDemoDir + "/accuracies.csv");
    ASSERT_TRUE(acc.ok()) << acc.status().ToString();
    measured_ = new std::map<std::pair<std::string, std::string>, demo::MeasuredAccuracy>(*acc);
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tree_;
    delete measured_;
    delete data_;
    model_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(model_, nullptr);
    auto c = CandidatesFromTree(*tree_, data_->path() + "/data");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    candidates_ = *c;
  }

  std::shared_ptr<const Task> LoadDemoTask(const std::string& name) {
    auto t = LoadCustomTask(name, kDemoDir + "/tasks/" + name + ".jsonl", TaskOptions());
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : nullptr;
  }

  // Exhaustive evaluation of every model on every query of `task`, in both variants; checks
  // each model's correct counts against accuracies.csv. Returns each model's better-variant
  // count.
  std::vector<uint32_t> CheckExhaustive(const std::string& task_name) {
    auto task = LoadDemoTask(task_name);
    if (!task) return {};
    auto ev = EngineEvaluator::Create(model_, candidates_, task);
    EXPECT_TRUE(ev.ok()) << ev.status().ToString();
    if (!ev.ok()) return {};
    std::vector<EvalRequest> all;
    for (uint32_t m = 0; m < candidates_.size(); ++m) {
      for (uint32_t q = 0; q < task->size(); ++q) all.push_back({m, q});
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<uint32_t> correct[2];
    for (uint8_t v = 0; v < 2; ++v) {
      std::vector<EvalOutcome> out(all.size());
      Status s = (*ev)->variant(v)->Evaluate(all, out, nullptr);
      EXPECT_TRUE(s.ok()) << s.ToString();
      correct[v].assign(candidates_.size(), 0);
      for (size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(out[i].from_cache, 0);
        correct[v][all[i].model] += out[i].correct;
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Both variants came from one generation per (model, query, variant).
    EXPECT_EQ((*ev)->stats().sequences, 2 * all.size());
    std::vector<uint32_t> best(candidates_.size());
    size_t checked = 0;
    for (uint32_t m = 0; m < candidates_.size(); ++m) {
      auto it = measured_->find({candidates_[m].name, task_name});
      EXPECT_NE(it, measured_->end()) << candidates_[m].name << " is not in accuracies.csv";
      best[m] = std::max(correct[0][m], correct[1][m]);
      if (it == measured_->end()) continue;
      const demo::MeasuredAccuracy& a = it->second;
      EXPECT_EQ(a.queries, task->size());
      EXPECT_EQ(correct[0][m], a.correct[0])
          << candidates_[m].name << " on " << task_name << " without system prompt (min margin "
          << a.min_logit_margin << ")";
      EXPECT_EQ(correct[1][m], a.correct[1])
          << candidates_[m].name << " on " << task_name << " with system prompt (min margin "
          << a.min_logit_margin << ")";
      ++checked;
    }
    EXPECT_EQ(checked, candidates_.size());
    EXPECT_EQ(measured_->size(), 2 * candidates_.size()) << "accuracies.csv lists other models";
    std::printf("%s: %zu models x %u queries x 2 variants in %.1f s\n", task_name.c_str(),
                candidates_.size(), task->size(), secs);
    return best;
  }

  static testing::TempDir* data_;
  static RegisteredTree* tree_;
  static Model* model_;
  static std::map<std::pair<std::string, std::string>, demo::MeasuredAccuracy>* measured_;
  std::vector<EngineCandidate> candidates_;
};

testing::TempDir* DemoTreeTest::data_ = nullptr;
RegisteredTree* DemoTreeTest::tree_ = nullptr;
Model* DemoTreeTest::model_ = nullptr;
std::map<std::pair<std::string, std::string>, demo::MeasuredAccuracy>* DemoTreeTest::measured_ =
    nullptr;

TEST_F(DemoTreeTest, EveryCandidateRegisters) {
  EXPECT_EQ(tree_->num_registered(), tree_->candidates.size());
  for (const auto& c : tree_->candidates) {
    EXPECT_TRUE(c.registered) << c.name << ": " << c.status.ToString();
  }
  EXPECT_GE(tree_->candidates.size(), 30u);
  EXPECT_LE(tree_->candidates.size(), 60u);
  // The base is the most downloaded model of the tree.
  for (const auto& c : tree_->candidates) EXPECT_LT(c.meta.downloads, tree_->base_meta.downloads);
  // The full fine-tunes are shipped as delta checkpoints, and each registers as the fine-tune
  // its delta names (the one tools/make_demo_tree.py measured).
  size_t finetunes = 0;
  for (const auto& c : tree_->candidates) {
    if (c.kind != CandidateKind::kFinetune) continue;
    ++finetunes;
    EXPECT_TRUE(IsDeltaCheckpoint(c.path)) << c.path;
    auto info = ReadDeltaCheckpoint(c.path);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->model_digest, c.digest) << c.name;
    EXPECT_EQ(info->base_digest, tree_->base_digest) << c.name;
  }
  EXPECT_GE(finetunes, 10u);
}

TEST_F(DemoTreeTest, ChoiceTaskEqualsTransformers) { CheckExhaustive("demo_add_choice"); }

TEST_F(DemoTreeTest, ExhaustiveEqualsTransformersAndSearchFindsATop3Model) {
  const std::vector<uint32_t> best = CheckExhaustive("demo_add");
  ASSERT_EQ(best.size(), candidates_.size());
  std::vector<uint32_t> sorted = best;
  std::sort(sorted.rbegin(), sorted.rend());
  const uint32_t third = sorted[2];
  // The tree has a hidden gem: some descendant beats the popular base.
  EXPECT_GT(sorted[0], best[0]) << "no descendant beats the base";

  auto task = LoadDemoTask("demo_add");
  ASSERT_TRUE(task);
  auto ev = EngineEvaluator::Create(model_, candidates_, task);
  ASSERT_TRUE(ev.ok());
  BetterVariantEvaluator better((*ev)->variant(0), (*ev)->variant(1));
  SearchOptions so;  // the default method
  so.queries_per_model = 50;
  so.seed = 1;
  so.shuffle_queries = false;  // as gemd: the task's own seeded order
  so.popularity.push_back(static_cast<double>(tree_->base_meta.downloads));
  for (const auto& c : tree_->candidates) {
    if (c.registered) so.popularity.push_back(static_cast<double>(c.meta.downloads));
  }
  ASSERT_EQ(so.popularity.size(), candidates_.size());
  SearchResult r;
  Status s = Search(so, &better, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_LE(r.spent, 50u * candidates_.size());
  EXPECT_EQ(r.spent_cached, 0u);
  std::printf(
      "search (%s, 50 queries/model): chose %s, %u/%u correct exhaustively (best %u, "
      "third %u, base %s %u); %llu evaluations\n",
      r.method.c_str(), candidates_[r.chosen_model].name.c_str(), best[r.chosen_model],
      task->size(), sorted[0], third, candidates_[0].name.c_str(), best[0],
      static_cast<unsigned long long>(r.spent));
  EXPECT_GE(best[r.chosen_model], third)
      << "chose " << candidates_[r.chosen_model].name << " (" << best[r.chosen_model]
      << " correct), not one of the three best (third: " << third << ")";
}

// scripts/demo-tree.sh's program, as a subprocess: it finds the best model, and the repeat of
// its search runs nothing (it exits non-zero otherwise).
TEST(DemoTreeProgram, FindsTheGemAndRepeatsFromTheCache) {
  testing::TempDir tmp;
  const std::string cmd = std::string(GEM_BIN_DIR) + "/gem-demo-tree --data-dir '" + tmp.path() +
                          "/data' --threads 1 2>&1";
  const auto [rc, out] = testing::RunCommand(cmd);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("found:         ft-add-long0"), std::string::npos) << out;
  EXPECT_NE(out.find("most popular:  demo-base"), std::string::npos) << out;
  // The repeat answers from the cache exactly what the first search generated (both prompt
  // variants of every evaluation), and generates nothing.
  const std::string generated_tag = " generated by the engine incl. both prompt variants";
  const size_t g = out.find(generated_tag);
  ASSERT_NE(g, std::string::npos) << out;
  const size_t open = out.rfind('(', g);
  ASSERT_NE(open, std::string::npos) << out;
  const std::string generated = out.substr(open + 1, g - open - 1);
  EXPECT_GT(std::stoul(generated), 0u) << out;
  EXPECT_NE(out.find("evaluations run: 0, answered by the cache: " + generated +
                     ", sequences generated: 0"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace gem
