// Copyright the gem authors. gem-demo-tree: a model tree searched through libgem alone (the demo,
// scripts/demo-tree.sh, runs the same through gemd). Registers a manifest tree with one task into a
// data dir (its record goes to the data dir's store), searches the task through the tree's
// evaluator stack (the engine in both prompt variants, behind the RocksDB result cache), prints
// the chosen model beside the tree's most downloaded one, then runs the same search again on a
// fresh evaluator and shows what it cost.
//
// A thin user of gem/searchable_tree.h: the calls a gemd worker makes, without the daemon. The
// tree stays registered in the data dir, so docs/examples/search_tree.cc can search it again.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "demo_tree/accuracies.h"
#include "gem/search.h"
#include "gem/searchable_tree.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int Fail(const gem::Status& s) {
  std::fprintf(stderr, "gem-demo-tree: %s\n", s.ToString().c_str());
  return 1;
}

struct Run {
  gem::SearchResult result;
  uint64_t generated = 0;  // sequences the engine generated
  uint64_t run = 0;        // evaluations not found in the cache (both variants)
  uint64_t cached = 0;     // evaluations answered by the cache (both variants)
  double seconds = 0;
};

gem::Result<gem::TaskSource> TaskFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return gem::Status::NotFound(path, "cannot open the task file");
  namespace fs = std::filesystem;
  return gem::TaskSource{fs::path(path).stem().string(),
                         std::string((std::istreambuf_iterator<char>(in)), {}),
                         fs::path(path).filename().string()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string demo = std::string(GEM_SOURCE_DIR) + "/data/demo_tree";
  std::string manifest = demo + "/tree.json";
  std::string task_path = demo + "/tasks/demo_add.jsonl";
  std::string accuracies = demo + "/accuracies.csv";
  std::string data_dir;
  std::string method = gem::kDefaultSearchMethod;
  uint32_t n = 50;
  uint64_t seed = 1;
  int threads = 0;
  CLI::App app{
      "Searches a model tree on a task through the inference engine and the result "
      "cache, then repeats the search to show it is free."};
  app.add_option("--data-dir", data_dir, "where deltas and the store (tree record, cache) go")
      ->required();
  app.add_option("--manifest", manifest, "the tree manifest (docs/MANIFEST.md)")
      ->capture_default_str();
  app.add_option("--task", task_path, "a custom task (.jsonl, docs/TASKS.md)")
      ->capture_default_str();
  app.add_option("--accuracies", accuracies,
                 "accuracies measured by tools/make_demo_tree.py, shown beside the search's "
                 "(\"\" to leave out)")
      ->capture_default_str();
  app.add_option("--method", method, "search method")->capture_default_str();
  app.add_option("--queries-per-model", n, "N: the budget is N x models")->capture_default_str();
  app.add_option("--seed", seed, "search seed")->capture_default_str();
  app.add_option("--threads", threads, "engine threads (0 = all cores)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress (stderr) and results in order

  auto t0 = Clock::now();
  gem::TreeSource source;
  source.manifest = std::filesystem::absolute(manifest).lexically_normal().string();
  auto task = TaskFile(task_path);
  if (!task.ok()) return Fail(task.status());
  const std::string task_name = task->name;
  source.tasks = {*task};
  gem::SearchableOptions options;
  options.data_dir = data_dir;
  options.threads = threads;
  auto tree = gem::SearchableTree::Register(source, options);
  if (!tree.ok()) return Fail(tree.status());
  auto cache = gem::Cache::Open(data_dir + "/db");
  if (!cache.ok()) return Fail(cache.status());
  if (auto s = gem::StoreTree(cache->get(), **tree); !s.ok()) return Fail(s);
  const gem::RegisteredTree& registered = *(*tree)->record().registration;
  size_t finetunes = 0, adapters = 0;
  for (const auto& c : registered.candidates) {
    if (!c.registered) {
      std::printf("  refused: %s: %s\n", c.name.c_str(), c.status.ToString().c_str());
      continue;
    }
    (c.kind == gem::CandidateKind::kAdapter ? adapters : finetunes)++;
  }
  std::printf(
      "tree %s registered: base %s + %zu fine-tunes (as xor deltas) + %zu LoRA adapters "
      "(%.1f s)\n",
      (*tree)->name().c_str(), registered.base_meta.name.c_str(), finetunes, adapters, Since(t0));

  std::map<std::pair<std::string, std::string>, gem::demo::MeasuredAccuracy> measured;
  if (!accuracies.empty()) {
    auto a = gem::demo::ReadAccuracies(accuracies);
    if (!a.ok()) return Fail(a.status());
    measured = *a;
  }

  auto search = [&](Run* run) -> gem::Status {
    auto t = Clock::now();
    auto ev = gem::MakeEvaluator(**tree, task_name, cache->get());
    if (!ev.ok()) return ev.status();
    gem::SearchOptions so = (*tree)->search_options();
    so.method = method;
    so.queries_per_model = n;
    so.seed = seed;
    uint64_t last = 0;
    so.on_progress = [&](const gem::SearchProgress& p) {
      if (p.spent - last >= p.budget / 10 || p.spent == p.budget) {
        std::fprintf(stderr, "  ... %llu/%llu evaluations, %u models left\n",
                     static_cast<unsigned long long>(p.spent),
                     static_cast<unsigned long long>(p.budget), p.survivors);
        last = p.spent;
      }
    };
    GEM_RETURN_IF_ERROR(gem::Search(so, ev->get(), &run->result));
    run->generated = (*ev)->engine_stats().sequences;
    run->run = (*ev)->evaluations_run();
    run->cached = (*ev)->evaluations_cached();
    run->seconds = Since(t);
    return gem::Status::OK();
  };

  const auto& models = (*tree)->models();
  std::printf(
      "\nsearch: method %s, %u queries per model x %zu models, task %s (%u queries), "
      "seed %llu\n",
      method.c_str(), n, models.size(), task_name.c_str(),
      (*tree)->FindTask(task_name)->num_queries(), static_cast<unsigned long long>(seed));
  Run first;
  if (auto s = search(&first); !s.ok()) return Fail(s);

  auto row = [&](const char* label, uint32_t m) {
    const auto& r = first.result;
    std::string exact = "-";
    auto it = measured.find({models[m].name, task_name});
    if (it != measured.end()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * it->second.best() / it->second.queries);
      exact = buf;
    }
    std::string seen = "-";
    if (r.pulls[m] > 0) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.1f%% (%u/%u)", 100.0 * r.wins[m] / r.pulls[m], r.wins[m],
                    r.pulls[m]);
      seen = buf;
    }
    std::printf("  %-14s %-28s %10.0f  %-20s %s\n", label, models[m].name.c_str(),
                models[m].popularity, seen.c_str(), exact.c_str());
  };
  uint32_t popular = 0;
  for (uint32_t m = 0; m < models.size(); ++m) {
    if (models[m].popularity > models[popular].popularity) popular = m;
  }
  std::printf("\n  %-14s %-28s %10s  %-20s %s\n", "", "model", "downloads", "search's estimate",
              "accuracy on all queries (accuracies.csv)");
  row("found:", first.result.chosen_model);
  row("most popular:", popular);
  std::printf(
      "  evaluations: %llu of a budget of %llu (%llu generated by the engine incl. both "
      "prompt variants, %llu from the cache) in %.1f s\n",
      static_cast<unsigned long long>(first.result.spent),
      static_cast<unsigned long long>(first.result.budget),
      static_cast<unsigned long long>(first.run), static_cast<unsigned long long>(first.cached),
      first.seconds);

  std::printf("\nthe same search again (fresh evaluator, same cache):\n");
  Run again;
  if (auto s = search(&again); !s.ok()) return Fail(s);
  std::printf(
      "  found %s again; evaluations run: %llu, answered by the cache: %llu, sequences "
      "generated: %llu (%.2f s)\n",
      models[again.result.chosen_model].name.c_str(), static_cast<unsigned long long>(again.run),
      static_cast<unsigned long long>(again.cached),
      static_cast<unsigned long long>(again.generated), again.seconds);
  if (again.result.chosen_model != first.result.chosen_model || again.run != 0) {
    std::fprintf(stderr, "gem-demo-tree: the repeated search was not answered by the cache\n");
    return 1;
  }
  return 0;
}
