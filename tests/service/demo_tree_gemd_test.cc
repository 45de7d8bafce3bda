// Copyright the gem authors. The shipped demo tree (data/demo_tree) served by a real gemd process
// and driven by the real gemctl binary: the exhaustive evaluation through gemd scores exactly what
// tools/make_demo_tree.py measured with transformers (data/demo_tree/accuracies.csv) in both
// prompt variants, read back through `cache export`; the default search finds one of the three
// best models and is answered from the cache when repeated, also after a restart; registration
// mistakes are named. The in-process twin is tests/demo/demo_tree_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "demo_tree/accuracies.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

using nlohmann::json;

const std::string kDemoDir = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";
const std::string kManifest = kDemoDir + "/tree.json";
const std::string kTree = "demo-tree";  // the manifest's "name"
const std::vector<std::string> kTasks = {"demo_add", "demo_add_choice"};

std::string TaskFile(const std::string& task) { return kDemoDir + "/tasks/" + task + ".jsonl"; }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// A non-negative integer field of a gemctl --json reply; fails the test when it is missing.
uint64_t U64(const json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) {
    ADD_FAILURE() << "no integer '" << key << "' in " << j.dump();
    return ~uint64_t{0};
  }
  return j[key].get<uint64_t>();
}

// One CSV record (RFC 4180 quoting; the export writes no line breaks inside fields).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// A model of the registered tree, as `tree show` lists it.
struct TreeModel {
  std::string name, digest, kind;
};

// The gem-matrix CSV of one task and prompt variant (docs/CACHE.md, section 8), per model row.
struct ExportRow {
  std::string label, digest;
  uint32_t correct = 0, filled = 0;
};
struct Export {
  uint32_t queries = 0;
  std::vector<ExportRow> rows;
};

class ServiceDemoTree : public ::testing::Test {
 protected:
  void SetUp() override {
    auto acc = demo::ReadAccuracies(kDemoDir + "/accuracies.csv");
    ASSERT_TRUE(acc.ok()) << acc.status().ToString();
    measured_ = *acc;
    gemd_ = std::make_unique<Gemd>(dir_.path());
    ASSERT_TRUE(gemd_->Start());
  }
  void TearDown() override {
    if (gemd_ && gemd_->running()) {
      EXPECT_EQ(gemd_->Stop(), 0) << gemd_->log();
    }
  }

  // Registers the demo tree with both tasks and reads its models (`tree show`).
  void Register() {
    const auto t0 = std::chrono::steady_clock::now();
    json reg = gemd_->CtlJson({"tree", "register", kManifest, "--task", TaskFile(kTasks[0]),
                               "--task", TaskFile(kTasks[1])},
                              300);
    ASSERT_FALSE(reg.is_null()) << gemd_->log();
    std::printf("tree register: %.1f s\n", Seconds(t0));
    ASSERT_TRUE(reg.contains("tree")) << reg.dump();
    const json& info = reg["tree"];
    EXPECT_EQ(info.value("name", ""), kTree);
    EXPECT_EQ(info.value("format", ""), "manifest");
    EXPECT_EQ(info.value("tasks", json::array()), json(kTasks));
    EXPECT_TRUE(info.value("refused", json::array()).empty()) << info.dump();

    json show = gemd_->CtlJson({"tree", "show", kTree});
    ASSERT_FALSE(show.is_null());
    ASSERT_TRUE(show.contains("models") && show["models"].is_array()) << show.dump();
    models_.clear();
    for (const auto& m : show["models"]) {
      ASSERT_EQ(U64(m, "index"), models_.size()) << "tree show lists the models out of order";
      models_.push_back({m.value("name", ""), m.value("digest", ""), m.value("kind", "")});
    }
    EXPECT_EQ(U64(info, "num_models"), models_.size());
    // Every model the script measured is served, and nothing else: accuracies.csv has one row
    // per (model, task).
    ASSERT_EQ(models_.size() * kTasks.size(), measured_.size())
        << "gemd serves " << models_.size() << " models; accuracies.csv has " << measured_.size()
        << " rows for " << kTasks.size() << " tasks";
    std::set<std::string> digests;
    for (const auto& m : models_) {
      EXPECT_TRUE(digests.insert(m.digest).second) << "two models share the digest " << m.digest;
      for (const auto& t : kTasks) {
        EXPECT_TRUE(measured_.count({m.name, t}))
            << m.name << " on " << t << " is not in accuracies.csv";
      }
    }
    ASSERT_FALSE(models_.empty());
    EXPECT_EQ(models_[0].kind, "base");
  }

  // gemctl --json search start ... --wait; checks that it finished.
  json Search(const std::vector<std::string>& extra, const std::string& task) {
    std::vector<std::string> args = {"search", "start", "--tree", kTree, "--task", task};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--wait");
    const auto t0 = std::chrono::steady_clock::now();
    json r = gemd_->CtlJson(args, 240);
    if (r.is_null()) {
      ADD_FAILURE() << gemd_->log();
      return r;
    }
    EXPECT_EQ(r.value("status", ""), "done") << r.dump();
    std::string cmd;
    for (const auto& a : extra) cmd += " " + a;
    std::printf("search %s%s: %s (%s), run %llu, cached %llu, %.1f s\n", task.c_str(), cmd.c_str(),
                r.value("chosen_model_name", "?").c_str(), r.value("method", "?").c_str(),
                static_cast<unsigned long long>(r.value("evaluations_run", uint64_t{0})),
                static_cast<unsigned long long>(r.value("evaluations_cached", uint64_t{0})),
                Seconds(t0));
    return r;
  }

  // `cache export --variant v` to a file, parsed.
  Export ExportVariant(const std::string& task, int variant) {
    Export ex;
    const std::string file = dir_.path() + "/" + task + ".v" + std::to_string(variant) + ".csv";
    json r = gemd_->CtlJson({"cache", "export", "--tree", kTree, "--task", task, "--variant",
                             std::to_string(variant), "--out", file});
    if (r.is_null()) return ex;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line.rfind("# gem-matrix v1;", 0), 0u) << line;
    EXPECT_NE(line.find("task=" + kTree + "/" + task), std::string::npos) << line;
    std::getline(in, line);
    const std::vector<std::string> header = SplitCsv(line);
    if (header.size() < 2 || header[0] != "model" || header[1] != "model_digest") {
      ADD_FAILURE() << "unexpected header: " << line;
      return ex;
    }
    ex.queries = static_cast<uint32_t>(header.size() - 2);
    std::getline(in, line);
    EXPECT_EQ(line.rfind("#query_digest,", 0), 0u) << line;
    uint64_t filled = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const std::vector<std::string> f = SplitCsv(line);
      if (f.size() != header.size()) {
        ADD_FAILURE() << "row with " << f.size() << " fields, header has " << header.size();
        continue;
      }
      ExportRow row{f[0], f[1]};
      for (size_t j = 2; j < f.size(); ++j) {
        if (f[j].empty()) continue;  // not evaluated
        EXPECT_TRUE(f[j] == "0" || f[j] == "1") << "cell '" << f[j] << "' of " << f[0];
        ++row.filled;
        row.correct += f[j] == "1";
      }
      filled += row.filled;
      ex.rows.push_back(std::move(row));
    }
    EXPECT_EQ(U64(r, "entries"), filled);
    return ex;
  }

  TempDir dir_;
  std::unique_ptr<Gemd> gemd_;
  std::map<std::pair<std::string, std::string>, demo::MeasuredAccuracy> measured_;
  std::vector<TreeModel> models_;
};

// Uniform with N = every query evaluates every model on every query: through gemd's engine
// stack, each variant's cached results must count what transformers counted, model by model.
TEST_F(ServiceDemoTree, ExhaustiveThroughGemdEqualsTransformers) {
  ASSERT_NO_FATAL_FAILURE(Register());
  const uint32_t k = static_cast<uint32_t>(models_.size());
  std::map<std::string, uint32_t> index_of_digest;
  for (uint32_t m = 0; m < k; ++m) index_of_digest[models_[m].digest] = m;

  for (const std::string& task : kTasks) {
    SCOPED_TRACE("task " + task);
    const uint32_t queries = measured_.at({models_[0].name, task}).queries;
    ASSERT_GT(queries, 0u);
    json r = Search(
        {"--method", "uniform", "--queries-per-model", std::to_string(queries), "--seed", "1"},
        task);
    ASSERT_FALSE(r.is_null());
    const uint64_t pairs = uint64_t{k} * queries;
    EXPECT_EQ(r.value("method", ""), "uniform");
    EXPECT_EQ(U64(r, "spent"), pairs);
    // A fresh data dir: every (model, query, variant) result is generated, none is cached.
    EXPECT_EQ(U64(r, "evaluations_run"), 2 * pairs);
    EXPECT_EQ(U64(r, "evaluations_cached"), 0u);
    ASSERT_TRUE(r.contains("models") && r["models"].is_array()) << r.dump();
    ASSERT_EQ(r["models"].size(), k);

    // Per variant and model: correct answers in the exported cache.
    std::vector<uint32_t> correct[2];
    for (int v = 0; v < 2; ++v) {
      SCOPED_TRACE("variant " + std::to_string(v));
      Export ex = ExportVariant(task, v);
      EXPECT_EQ(ex.queries, queries);
      ASSERT_EQ(ex.rows.size(), k) << "the export has a row per model with results";
      correct[v].assign(k, ~0u);
      for (const auto& row : ex.rows) {
        auto it = index_of_digest.find(row.digest);
        ASSERT_NE(it, index_of_digest.end())
            << "exported model " << row.label << " (" << row.digest << ") is not in tree show";
        const TreeModel& m = models_[it->second];
        // Exports label models "<tree>/<model name>" (docs/GEMD.md, "Manifest digests").
        EXPECT_EQ(row.label, kTree + "/" + m.name);
        EXPECT_EQ(row.filled, queries) << m.name << ": not every query is cached";
        correct[v][it->second] = row.correct;
      }
    }

    uint32_t checked = 0;
    for (uint32_t m = 0; m < k; ++m) {
      const auto it = measured_.find({models_[m].name, task});
      if (it == measured_.end()) continue;  // reported by Register()
      const demo::MeasuredAccuracy& a = it->second;
      EXPECT_EQ(a.queries, queries) << models_[m].name;
      EXPECT_EQ(correct[0][m], a.correct[0])
          << models_[m].name << " without the system prompt (transformers' min logit margin "
          << a.min_logit_margin << ")";
      EXPECT_EQ(correct[1][m], a.correct[1])
          << models_[m].name << " with the system prompt (transformers' min logit margin "
          << a.min_logit_margin << ")";

      // The result's tally. Uniform asks everything in one batch, and BetterVariantEvaluator
      // picks each model's better variant from its tally after the whole batch (ties: variant
      // 0), so a model's wins are exactly its better variant's count.
      const json& t = r["models"][m];
      EXPECT_EQ(U64(t, "index"), m);
      EXPECT_EQ(t.value("name", ""), models_[m].name);
      EXPECT_EQ(U64(t, "pulls"), queries) << models_[m].name;
      EXPECT_EQ(U64(t, "wins"), std::max(correct[0][m], correct[1][m]))
          << models_[m].name << ": " << correct[0][m] << " / " << correct[1][m] << " correct";
      ++checked;
    }
    EXPECT_EQ(checked, k);

    // The chosen model has the most wins.
    const uint32_t chosen = static_cast<uint32_t>(U64(r, "chosen_model"));
    ASSERT_LT(chosen, k);
    uint32_t most = 0;
    for (uint32_t m = 0; m < k; ++m) most = std::max(most, std::max(correct[0][m], correct[1][m]));
    EXPECT_EQ(std::max(correct[0][chosen], correct[1][chosen]), most)
        << "uniform chose " << models_[chosen].name;
    EXPECT_EQ(r.value("chosen_model_name", ""), models_[chosen].name);
  }
}

// The default search at 50 queries per model finds one of the exhaustive top 3; repeated, and
// repeated after a restart, it is answered entirely from the cache and chooses the same model.
TEST_F(ServiceDemoTree, DefaultSearchFindsATop3ModelAndRepeatsFromTheCache) {
  ASSERT_NO_FATAL_FAILURE(Register());
  const uint32_t k = static_cast<uint32_t>(models_.size());
  const std::string task = "demo_add";
  const std::vector<std::string> args = {"--queries-per-model", "50", "--seed", "1"};

  json first = Search(args, task);
  ASSERT_FALSE(first.is_null());
  const uint64_t first_run = U64(first, "evaluations_run");
  EXPECT_GT(first_run, 0u);
  EXPECT_EQ(U64(first, "evaluations_cached"), 0u);
  EXPECT_LE(U64(first, "spent"), 50u * k);
  // Two results (one per prompt variant) per asked pair.
  EXPECT_EQ(first_run, 2 * U64(first, "spent"));
  const uint64_t chosen = U64(first, "chosen_model");
  ASSERT_LT(chosen, k);
  EXPECT_EQ(first.value("chosen_model_name", ""), models_[chosen].name);

  json again = Search(args, task);
  ASSERT_FALSE(again.is_null());
  EXPECT_EQ(U64(again, "evaluations_run"), 0u);
  EXPECT_EQ(U64(again, "evaluations_cached"), first_run);
  EXPECT_EQ(U64(again, "chosen_model"), chosen);
  EXPECT_EQ(again.value("chosen_model_name", ""), models_[chosen].name);

  // The exhaustive ranking through this gemd: pays only for the pairs not asked yet.
  const uint32_t queries = measured_.at({models_[0].name, task}).queries;
  json all = Search(
      {"--method", "uniform", "--queries-per-model", std::to_string(queries), "--seed", "1"}, task);
  ASSERT_FALSE(all.is_null());
  EXPECT_EQ(U64(all, "evaluations_cached"), first_run);
  EXPECT_EQ(U64(all, "evaluations_run") + U64(all, "evaluations_cached"), 2ull * k * queries);
  ASSERT_TRUE(all.contains("models") && all["models"].size() == k) << all.dump();
  std::vector<uint32_t> best(k);
  for (uint32_t m = 0; m < k; ++m) {
    best[m] = static_cast<uint32_t>(U64(all["models"][m], "wins"));
    EXPECT_EQ(U64(all["models"][m], "pulls"), queries);
    // As transformers measured (the first test checks each variant).
    EXPECT_EQ(best[m], measured_.at({models_[m].name, task}).best()) << models_[m].name;
  }
  std::vector<uint32_t> sorted = best;
  std::sort(sorted.rbegin(), sorted.rend());
  const uint32_t third = sorted.at(2);
  // The tree has a hidden gem: a descendant beats the popular base (model 0).
  EXPECT_GT(sorted[0], best[0]) << "no descendant beats the base";
  std::printf("default search chose %s: %u/%u correct exhaustively (best %u, third %u, base %u)\n",
              models_[chosen].name.c_str(), best[chosen], queries, sorted[0], third, best[0]);
  EXPECT_GE(best[chosen], third) << "chose " << models_[chosen].name << " (" << best[chosen]
                                 << " correct), not one of the three best (third: " << third << ")";

  // Restart on the same data dir: the tree is rebuilt from its record, the results are kept.
  ASSERT_EQ(gemd_->Stop(), 0) << gemd_->log();
  ASSERT_TRUE(gemd_->Start());
  json list = gemd_->CtlJson({"tree", "list"});
  ASSERT_FALSE(list.is_null());
  bool found = false;
  for (const auto& t : list.value("trees", json::array())) {
    if (t.value("name", "") != kTree) continue;
    found = true;
    EXPECT_EQ(t.value("format", ""), "manifest");
    EXPECT_EQ(U64(t, "num_models"), k);
    EXPECT_EQ(t.value("tasks", json::array()), json(kTasks));
  }
  EXPECT_TRUE(found) << "tree " << kTree << " is gone after the restart: " << list.dump() << "\n"
                     << gemd_->log();
  json after = Search(args, task);
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(U64(after, "evaluations_run"), 0u);
  EXPECT_EQ(U64(after, "evaluations_cached"), first_run);
  EXPECT_EQ(U64(after, "chosen_model"), chosen);
  EXPECT_EQ(after.value("chosen_model_name", ""), models_[chosen].name);
}

// Registration mistakes: the exit status says what kind (gemctl/commands.h) and the message
// names what is wrong; a refused registration registers nothing.
TEST_F(ServiceDemoTree, RegistrationErrorsNameTheProblem) {
  const std::string add = TaskFile("demo_add");

  // No such manifest: a usage error from gemctl's argument check, naming the path.
  const std::string missing = dir_.path() + "/no_such_tree.json";
  RunResult r = gemd_->Ctl({"tree", "register", missing, "--task", add});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;

  // No task: InvalidArgument (14) naming --task.
  r = gemd_->Ctl({"tree", "register", kManifest});
  EXPECT_EQ(r.exit_code, 14) << r.err;
  EXPECT_NE(r.err.find("--task"), std::string::npos) << r.err;

  // A task file that does not exist: named by gemctl, which reads it (IOError: 15).
  const std::string no_file = dir_.path() + "/no_such_task.jsonl";
  r = gemd_->Ctl({"tree", "register", kManifest, "--task", no_file});
  EXPECT_EQ(r.exit_code, 15) << r.err;
  EXPECT_NE(r.err.find(no_file), std::string::npos) << r.err;

  // A built-in task that does not exist: gemd answers NotFound (11) naming it.
  const auto t0 = std::chrono::steady_clock::now();
  r = gemd_->Ctl({"tree", "register", kManifest, "--task", add, "--task", "nosuchtask"}, 300);
  std::printf("register with --task nosuchtask refused in %.1f s\n", Seconds(t0));
  EXPECT_EQ(r.exit_code, 11) << r.err;
  EXPECT_NE(r.err.find("nosuchtask"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(kTree), std::string::npos) << r.err;

  // None of them registered anything.
  json list = gemd_->CtlJson({"tree", "list"});
  ASSERT_FALSE(list.is_null());
  EXPECT_TRUE(list.value("trees", json::array()).empty()) << list.dump();

  // The same name twice: FailedPrecondition (20) naming the tree; the first stays.
  r = gemd_->Ctl({"tree", "register", kManifest, "--task", add}, 300);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out << gemd_->log();
  r = gemd_->Ctl({"tree", "register", kManifest, "--task", TaskFile("demo_add_choice")}, 300);
  EXPECT_EQ(r.exit_code, 20) << r.err;
  EXPECT_NE(r.err.find("tree '" + kTree + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("already registered"), std::string::npos) << r.err;
  list = gemd_->CtlJson({"tree", "list"});
  ASSERT_FALSE(list.is_null());
  ASSERT_EQ(list.value("trees", json::array()).size(), 1u) << list.dump();
  EXPECT_EQ(list["trees"][0].value("tasks", json::array()), json({"demo_add"}));
}

}  // namespace
}  // namespace gem::testing
