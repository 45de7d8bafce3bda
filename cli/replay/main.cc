// Copyright the gem authors. gem-replay: the paper's search experiment (Table 2 / Table 7) on a
// replayed population.
//
// For each tree, budget N and method: R searches with fresh randomness against the population's
// 0/1 matrix; reports the mean rank (ties averaged) and mean exhaustive accuracy of the returned
// model, with standard errors over the repetitions, beside the paper's Table 2 figures when
// paper_table2.csv has them. docs/SEARCH.md describes the protocol; docs/CALIBRATION.md the
// comparison with the paper.
//
// Results do not depend on the thread count: every search's seed is a function of (seed, tree
// name, N, repetition, and the matrix seed when --matrix-seeds is given) and results are
// gathered by index. Rows that exist only in a replay (paper_table4, METHOD@table4):
// replay_methods.h; a cell's figures over several matrices: cells.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cells.h"
#include "gem/csv.h"
#include "gem/population.h"
#include "gem/search.h"
#include "replay_methods.h"

namespace {

struct PaperCell {
  double rank = NAN, acc = NAN;
};

// paper_table2.csv: queries_per_model,method,<Tree>_rank,<Tree>_acc,...
struct PaperTable {
  std::vector<std::string> trees;                              // "Qwen-3B", ...
  std::map<std::string, std::map<std::string, PaperCell>> by;  // key "N|method" -> tree -> cell
};

bool LoadPaperTable(const std::string& path, PaperTable* out, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = path + ": cannot read";
    return false;
  }
  std::vector<gem::csv::Record> rows;
  gem::Status st = gem::csv::ReadAll(in, path, &rows, {.trim = true, .comments = true});
  if (!st.ok()) {
    *err = st.ToString();
    return false;
  }
  if (rows.empty()) {
    *err = path + ": empty";
    return false;
  }
  const std::vector<std::string>& header = rows[0].fields;
  for (size_t i = 2; i + 1 < header.size(); i += 2) {
    const std::string& c = header[i];
    if (c.size() > 5 && c.substr(c.size() - 5) == "_rank")
      out->trees.push_back(c.substr(0, c.size() - 5));
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& f = rows[r].fields;
    if (f.size() < 2) continue;
    for (size_t t = 0; t < out->trees.size(); ++t) {
      PaperCell c;
      if (2 + 2 * t + 1 < f.size()) {  // an empty cell stays NaN (not in the paper)
        if (!f[2 + 2 * t].empty()) c.rank = std::atof(f[2 + 2 * t].c_str());
        if (!f[2 + 2 * t + 1].empty()) c.acc = std::atof(f[2 + 2 * t + 1].c_str());
      }
      out->by[f[0] + "|" + f[1]][out->trees[t]] = c;
    }
  }
  return true;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Which paper column a tree file is: "qwen2.5_3b" -> "Qwen-3B" (family and size both appear).
std::string PaperColumnFor(const std::string& stem, const PaperTable& table) {
  const std::string s = Lower(stem);
  for (const std::string& t : table.trees) {
    const std::string lt = Lower(t);
    const size_t dash = lt.find('-');
    if (dash == std::string::npos) continue;
    const std::string family = lt.substr(0, dash), size = lt.substr(dash + 1);
    if (s.find(family) == std::string::npos) continue;
    // The size must stand alone: "3b" in "qwen2.5_3b", not in "13b".
    for (size_t p = s.find(size); p != std::string::npos; p = s.find(size, p + 1)) {
      if (p == 0 || !std::isdigit(static_cast<unsigned char>(s[p - 1]))) return t;
    }
  }
  return "";
}

// Our method names -> the paper's row names.
const std::map<std::string, std::string>& PaperNames() {
  static const std::map<std::string, std::string> m = {
      {"uniform", "Uniform"},
      {"ucb", "UCB"},
      {"ucb_stddev", "UCB-StdDev."},
      {"ttts", "TTTS"},
      {"successive_rejects", "Successive Rejects"},
      {"bayes_elim", "BayesElim"},
      {"ucb_e", "UCB-E"},
      {"sequential_halving", "Sequential Halving"},
      {"paper", "Ours"},
      {"paper_table4", "Ours"},
      {"random", "Random Selection"},
      {"best_base", "Best Base"},
      {"best_available", "Best Available"},
  };
  return m;
}

// One input at one agreement: a population per matrix seed (one for a real matrix).
struct Tree {
  std::vector<gem::Population> pops;
  std::vector<std::vector<double>> ranks;  // per population
  std::string paper_column;                // "" when the paper has no figures for it
  double population_mean = NAN;
  double agreement = NAN;  // NaN for a real matrix
  const gem::Population& pop() const { return pops.front(); }
};

struct Row {
  std::string tree, n, method;
  double rank = 0, rank_se = 0, acc = 0, acc_se = 0;
  uint32_t reps = 0;
  std::string agreement;  // "-" for a real matrix
  double spend = NAN;     // mean evaluations / (N K); NaN for the reference rows
  uint32_t matrices = 1;
  double rank_min = NAN, rank_max = NAN;
};

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void MeanSe(const std::vector<double>& v, double* mean, double* se) {
  double s = 0;
  for (double x : v) s += x;
  *mean = v.empty() ? NAN : s / v.size();
  double ss = 0;
  for (double x : v) ss += (x - *mean) * (x - *mean);
  *se = v.size() > 1 ? std::sqrt(ss / (v.size() - 1) / v.size()) : 0;
}

std::string Fmt(double v, int digits) {
  if (std::isnan(v)) return "";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gem-replay: replay the hidden-gems paper's search experiment (Table 2 / Table 7).\n"
      "For every budget N (average queries per model) and method, runs R searches with fresh\n"
      "randomness on a population's models x queries 0/1 matrix and reports the mean rank (1 =\n"
      "best; ties share their averaged rank) and mean exhaustive accuracy of the returned model,\n"
      "beside the paper's figures. A --tree file (per-model accuracies) is turned into a matrix "
      "by\n"
      "the population simulator (docs/SEARCH.md); a --matrix file is used as is.\n\n"
      "Example:\n"
      "  gem-replay --tree data/trees/qwen2.5_3b.csv --budgets 10,50 --reps 100 --out r.csv\n"};
  std::vector<std::string> tree_files, matrix_files;
  std::string metric = "routerbench_total_pct", budgets_arg = "10,25,50,100,200",
              methods_arg = "all", out_path, paper_path, paper_column_arg, matrix_seeds_arg;
  uint32_t reps = 100, queries = 2500;
  uint64_t seed = 0;
  std::string agreements_arg = Fmt(gem::SimulationOptions().agreement, 2);
  double population_mean = NAN;
  unsigned threads = std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  bool quiet = false;
  // A flag given twice takes its last value (scripts/demo.sh passes extra flags after its own).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* tree_opt =
      app.add_option("--tree", tree_files, "per-model accuracy CSV (data/trees format); repeatable")
          ->check(CLI::ExistingFile)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* matrix_opt = app.add_option("--matrix", matrix_files,
                                    "0/1 matrix CSV, one row per model (optional model and "
                                    "popularity columns); repeatable")
                         ->check(CLI::ExistingFile)
                         ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  tree_opt->excludes(matrix_opt);
  app.add_option("--metric", metric, "accuracy column of a --tree file")->capture_default_str();
  app.add_option("--budgets", budgets_arg, "comma-separated N values (queries per model)")
      ->capture_default_str();
  app.add_option("--reps", reps, "repetitions per (N, method)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option(
         "--methods", methods_arg,
         "comma-separated methods, or 'all' (" +
             [] {
               std::string s;
               for (auto& m : gem::SearchMethods()) s += (s.empty() ? "" : ", ") + m;
               for (auto& m : gem::replay::ReplayOnlyMethods()) s += ", " + m;
               return s;
             }() +
             "). Replay only: paper_table4 applies the paper's Table 4 as printed (it may "
             "spend more than N x K: see the spend column); METHOD@table4 runs METHOD with the "
             "budget paper_table4 spends. Both only at N = 10, 25, 50, 100, 200")
      ->capture_default_str();
  app.add_option("--seed", seed, "base seed (simulation and searches)")->capture_default_str();
  app.add_option("--out", out_path,
                 "write results as CSV: tree,queries_per_model,method,mean_rank,rank_se,"
                 "mean_acc,acc_se,reps,agreement,matrices,spend,rank_min,rank_max");
  app.add_option("--queries", queries, "Q: queries in a simulated matrix")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--agreement", agreements_arg,
                 "simulator: correlation of two models' propensities on a query, 0..1; a "
                 "comma-separated list sweeps it (one table per tree and agreement)")
      ->capture_default_str();
  app.add_option("--matrix-seeds", matrix_seeds_arg,
                 "simulator: comma-separated seeds, one simulated matrix each; every cell is "
                 "averaged over them (R repetitions on each) and its spread reported "
                 "(default: one matrix, from --seed)");
  app.add_option("--population-mean", population_mean,
                 "simulator: true mean accuracy (0..1) to impute clipped values; default: the "
                 "paper's Random Selection accuracy for the tree when paper_table2.csv has it");
  app.add_option("--paper-table", paper_path,
                 "the paper's Table 2 CSV (default: paper_table2.csv beside the input; 'none' to "
                 "skip)");
  app.add_option("--paper-column", paper_column_arg,
                 "which paper tree a single input is (e.g. Qwen-3B); default: guessed from the "
                 "file name");
  app.add_option("--threads", threads, "worker threads (results do not depend on it)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  CLI11_PARSE(app, argc, argv);

  if (tree_files.empty() && matrix_files.empty()) {
    std::fprintf(stderr, "gem-replay: give --tree FILE or --matrix FILE (see --help)\n");
    return 2;
  }
  // Budgets and methods.
  std::vector<uint32_t> budgets;
  {
    std::stringstream ss(budgets_arg);
    std::string x;
    while (std::getline(ss, x, ',')) {
      char* end = nullptr;
      const long v = std::strtol(x.c_str(), &end, 10);
      if (x.empty() || *end != '\0' || v <= 0) {
        std::fprintf(stderr, "gem-replay: --budgets: \"%s\" is not a positive integer\n",
                     x.c_str());
        return 2;
      }
      budgets.push_back(static_cast<uint32_t>(v));
    }
  }
  std::vector<gem::replay::ReplayMethod> methods;
  const bool all_methods = methods_arg == "all";
  {
    std::vector<std::string> names;
    if (all_methods) {
      names = gem::SearchMethods();
      for (auto& m : gem::replay::ReplayOnlyMethods()) names.push_back(m);
    } else {
      std::stringstream ss(methods_arg);
      std::string x;
      while (std::getline(ss, x, ',')) names.push_back(x);
    }
    for (const std::string& x : names) {
      gem::replay::ReplayMethod m;
      const gem::Status st = gem::replay::ParseReplayMethod(x, &m);
      if (!st.ok()) {
        std::fprintf(stderr, "gem-replay: --methods: %s\n", st.ToString().c_str());
        return 2;
      }
      // A row named on purpose must exist at every budget asked for.
      for (uint32_t n : budgets) {
        if (!all_methods && !gem::replay::HasBudget(m, n)) {
          std::fprintf(stderr,
                       "gem-replay: --methods: %s exists only at Table 4's budgets (10, 25, 50, "
                       "100, 200), not at N = %u\n",
                       x.c_str(), n);
          return 2;
        }
      }
      methods.push_back(m);
    }
  }
  // Agreements and matrix seeds.
  std::vector<double> agreements;
  {
    std::stringstream ss(agreements_arg);
    std::string x;
    while (std::getline(ss, x, ',')) {
      char* end = nullptr;
      const double v = std::strtod(x.c_str(), &end);
      if (x.empty() || *end != '\0' || !(v >= 0 && v <= 1)) {
        std::fprintf(stderr, "gem-replay: --agreement: \"%s\" is not a number in [0, 1]\n",
                     x.c_str());
        return 2;
      }
      agreements.push_back(v);
    }
    if (agreements.empty()) {
      std::fprintf(stderr, "gem-replay: --agreement: give at least one value\n");
      return 2;
    }
  }
  std::vector<uint64_t> matrix_seeds;
  const bool several_matrices = !matrix_seeds_arg.empty();
  if (several_matrices) {
    if (!matrix_files.empty()) {
      std::fprintf(stderr,
                   "gem-replay: --matrix-seeds applies to simulated trees (--tree), not to a "
                   "--matrix file\n");
      return 2;
    }
    std::stringstream ss(matrix_seeds_arg);
    std::string x;
    while (std::getline(ss, x, ',')) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(x.c_str(), &end, 10);
      if (x.empty() || *end != '\0' || x[0] == '-') {
        std::fprintf(stderr, "gem-replay: --matrix-seeds: \"%s\" is not a seed (0, 1, 2, ...)\n",
                     x.c_str());
        return 2;
      }
      matrix_seeds.push_back(v);
    }
  } else {
    matrix_seeds.push_back(seed);
  }

  // Paper table.
  const std::string first_input = !tree_files.empty() ? tree_files[0] : matrix_files[0];
  PaperTable paper;
  bool have_paper = false;
  if (paper_path != "none") {
    std::string path = paper_path;
    if (path.empty()) {
      const size_t slash = first_input.find_last_of('/');
      path = (slash == std::string::npos ? std::string(".") : first_input.substr(0, slash)) +
             "/paper_table2.csv";
      if (access(path.c_str(), R_OK) != 0) path.clear();
    }
    if (!path.empty()) {
      std::string err;
      have_paper = LoadPaperTable(path, &paper, &err);
      if (!have_paper) {
        std::fprintf(stderr, "gem-replay: --paper-table: %s\n", err.c_str());
        return 1;
      }
    }
  }

  // Populations.
  std::vector<Tree> trees;
  for (const std::string& f : tree_files) {
    gem::TreeCsvOptions o;
    o.metric = metric;
    auto t = gem::LoadTreeCsv(f, o);
    if (!t.ok()) {
      std::fprintf(stderr, "gem-replay: %s\n", t.status().ToString().c_str());
      return 1;
    }
    for (double agreement : agreements) {
      Tree tr;
      tr.paper_column = !paper_column_arg.empty() ? paper_column_arg
                        : have_paper              ? PaperColumnFor(t->name, paper)
                                                  : "";
      tr.population_mean = population_mean;
      tr.agreement = agreement;
      if (std::isnan(tr.population_mean) && have_paper && !tr.paper_column.empty() &&
          metric == "routerbench_total_pct") {
        tr.population_mean = paper.by["-|Random Selection"][tr.paper_column].acc;
      }
      for (uint64_t ms : matrix_seeds) {
        gem::SimulationOptions so;
        so.num_queries = queries;
        so.seed = ms;
        so.agreement = agreement;
        so.population_mean = tr.population_mean;
        auto p = gem::SimulatePopulation(*t, so);
        if (!p.ok()) {
          std::fprintf(stderr, "gem-replay: %s\n", p.status().ToString().c_str());
          return 1;
        }
        tr.pops.push_back(std::move(*p));
      }
      trees.push_back(std::move(tr));
    }
  }
  for (const std::string& f : matrix_files) {
    auto p = gem::LoadMatrixCsv(f);
    if (!p.ok()) {
      std::fprintf(stderr, "gem-replay: %s\n", p.status().ToString().c_str());
      return 1;
    }
    Tree tr;
    tr.pops.push_back(std::move(*p));
    tr.paper_column = !paper_column_arg.empty() ? paper_column_arg
                      : have_paper              ? PaperColumnFor(tr.pop().name, paper)
                                                : "";
    trees.push_back(std::move(tr));
  }
  for (Tree& t : trees) {
    for (const gem::Population& p : t.pops) t.ranks.push_back(gem::AverageRanks(p.accuracy));
  }

  // The work: one item per (tree, matrix, N, method, repetition), results gathered by index.
  struct Item {
    uint32_t tree, matrix, budget, method, rep;
  };
  std::vector<Item> items;
  for (uint32_t t = 0; t < trees.size(); ++t)
    for (uint32_t x = 0; x < trees[t].pops.size(); ++x)
      for (uint32_t b = 0; b < budgets.size(); ++b)
        for (uint32_t m = 0; m < methods.size(); ++m)
          if (gem::replay::HasBudget(methods[m], budgets[b]))
            for (uint32_t r = 0; r < reps; ++r) items.push_back({t, x, b, m, r});
  // Costly items first (budget, then pull-by-pull methods) so threads finish together.
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return gem::SearchBudget(budgets[items[a].budget], trees[items[a].tree].pop().size()) >
           gem::SearchBudget(budgets[items[b].budget], trees[items[b].tree].pop().size());
  });
  std::vector<uint64_t> tree_key;
  for (const Tree& t : trees) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a of the tree's name
    for (unsigned char c : t.pop().name) h = (h ^ c) * 1099511628211ull;
    tree_key.push_back(h << 1);
  }
  std::vector<double> rank_of(items.size()), acc_of(items.size()), spend_of(items.size());
  std::vector<std::string> error_of(items.size());
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    std::vector<std::vector<std::unique_ptr<gem::MatrixEvaluator>>> evals(trees.size());
    for (size_t t = 0; t < trees.size(); ++t) {
      for (const gem::Population& p : trees[t].pops)
        evals[t].push_back(std::make_unique<gem::MatrixEvaluator>(p.matrix));
    }
    gem::SearchResult res;
    for (;;) {
      const size_t o = next.fetch_add(1);
      if (o >= order.size() || failed.load()) break;
      const size_t i = order[o];
      const Item& it = items[i];
      gem::SearchOptions so;
      so.queries_per_model = budgets[it.budget];
      // Common random numbers: every method sees the same seed in a repetition. The tree enters
      // by name, so a tree's results do not depend on which other trees share the run; each
      // matrix of --matrix-seeds gets its own searches.
      so.seed = Mix(seed ^ Mix(tree_key[it.tree] ^ uint64_t{budgets[it.budget]} << 24 ^ it.rep));
      if (several_matrices)
        so.seed = Mix(so.seed ^ Mix(0x6d61747269780000ull + matrix_seeds[it.matrix]));
      so.shuffle_queries = true;
      const Tree& t = trees[it.tree];
      const gem::Population& pop = t.pops[it.matrix];
      if (!pop.popularity.empty()) so.popularity = pop.popularity;
      gem::Status s = gem::replay::RunReplayMethod(methods[it.method], so,
                                                   evals[it.tree][it.matrix].get(), &res);
      if (!s.ok()) {
        error_of[i] = s.ToString();
        failed = true;
        break;
      }
      rank_of[i] = t.ranks[it.matrix][res.chosen_model];
      acc_of[i] = pop.accuracy[res.chosen_model];
      spend_of[i] =
          static_cast<double>(res.spent) / (static_cast<double>(budgets[it.budget]) * pop.size());
      done.fetch_add(1);
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back(worker);
  if (!quiet) {
    const bool tty = isatty(2);
    size_t last = SIZE_MAX;
    while (done.load() < items.size() && !failed.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 250 : 5000));
      const size_t d = done.load();
      if (d == last) continue;
      last = d;
      const double el =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "%sgem-replay: %zu / %zu searches, %.0f s%s", tty ? "\r" : "", d,
                   items.size(), el, tty ? "   " : "\n");
    }
  }
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) {
    for (auto& e : error_of) {
      if (!e.empty()) {
        std::fprintf(stderr, "\ngem-replay: search failed: %s\n", e.c_str());
        break;
      }
    }
    return 1;
  }
  if (!quiet) {
    std::fprintf(stderr, "%sgem-replay: %zu searches in %.1f s (%u threads)\n",
                 isatty(2) ? "\r" : "", items.size(), elapsed, threads);
  }

  // Aggregate.
  std::vector<Row> rows;
  for (uint32_t t = 0; t < trees.size(); ++t) {
    const Tree& tr = trees[t];
    const gem::Population& pop = tr.pop();
    const std::vector<double>& ranks = tr.ranks.front();
    const uint32_t k = pop.size();
    const std::string agreement = std::isnan(tr.agreement) ? "-" : Fmt(tr.agreement, 4);
    auto make_row = [&](std::string n, std::string method) {
      Row row;
      row.tree = pop.name;
      row.n = std::move(n);
      row.method = std::move(method);
      row.agreement = agreement;
      row.reps = 1;
      return row;
    };
    // The reference rows do not depend on the matrix (row means are the tree's accuracies).
    // Random Selection: the exact expectation over a uniform pick; SE of a mean of R picks.
    {
      std::vector<double> r(ranks), a(pop.accuracy);
      Row row = make_row("-", "random");
      double sd;
      MeanSe(r, &row.rank, &sd);
      row.rank_se = sd * std::sqrt(static_cast<double>(k)) / std::sqrt(static_cast<double>(reps));
      MeanSe(a, &row.acc, &sd);
      row.acc_se = sd * std::sqrt(static_cast<double>(k)) / std::sqrt(static_cast<double>(reps));
      row.reps = reps;
      rows.push_back(row);
    }
    if (!pop.popularity.empty()) {
      const uint32_t base = static_cast<uint32_t>(
          std::max_element(pop.popularity.begin(), pop.popularity.end()) - pop.popularity.begin());
      Row row = make_row("-", "best_base");
      row.rank = ranks[base];
      row.acc = pop.accuracy[base];
      rows.push_back(row);
    }
    for (uint32_t b = 0; b < budgets.size(); ++b) {
      for (uint32_t m = 0; m < methods.size(); ++m) {
        if (!gem::replay::HasBudget(methods[m], budgets[b])) continue;
        const size_t nm = tr.pops.size();
        std::vector<std::vector<double>> rk(nm), ac(nm), sp(nm);
        for (size_t i = 0; i < items.size(); ++i) {
          const Item& it = items[i];
          if (it.tree == t && it.budget == b && it.method == m) {
            rk[it.matrix].push_back(rank_of[i]);
            ac[it.matrix].push_back(acc_of[i]);
            sp[it.matrix].push_back(spend_of[i]);
          }
        }
        const gem::replay::CellStats c = gem::replay::Aggregate(rk, ac, sp);
        Row row = make_row(std::to_string(budgets[b]), methods[m].name);
        row.rank = c.rank;
        row.rank_se = c.rank_se;
        row.acc = c.acc;
        row.acc_se = c.acc_se;
        row.reps = reps;
        row.spend = c.spend;
        row.matrices = c.matrices;
        row.rank_min = c.rank_min;
        row.rank_max = c.rank_max;
        rows.push_back(row);
      }
    }
    const uint32_t best = static_cast<uint32_t>(
        std::max_element(pop.accuracy.begin(), pop.accuracy.end()) - pop.accuracy.begin());
    Row row = make_row("-", "best_available");
    row.rank = ranks[best];
    row.acc = pop.accuracy[best];
    rows.push_back(row);
  }

  if (!out_path.empty()) {
    std::ofstream out(out_path);
    if (!out) {
      std::fprintf(stderr, "gem-replay: --out %s: cannot write\n", out_path.c_str());
      return 1;
    }
    // Format version 2 (docs/SEARCH.md, "Formats"): version 1's columns, then the agreement,
    // the number of matrices, the spend and the range of the per-matrix mean ranks.
    out << "tree,queries_per_model,method,mean_rank,rank_se,mean_acc,acc_se,reps,agreement,"
           "matrices,spend,rank_min,rank_max\n";
    for (const Row& r : rows) {
      out << r.tree << ',' << r.n << ',' << r.method << ',' << Fmt(r.rank, 2) << ','
          << Fmt(r.rank_se, 2) << ',' << Fmt(r.acc, 4) << ',' << Fmt(r.acc_se, 4) << ',' << r.reps
          << ',' << r.agreement << ',' << r.matrices << ',' << Fmt(r.spend, 3) << ','
          << Fmt(r.rank_min, 2) << ',' << Fmt(r.rank_max, 2) << '\n';
    }
    if (!out) {
      std::fprintf(stderr, "gem-replay: --out %s: write failed\n", out_path.c_str());
      return 1;
    }
  }

  // Markdown, one table per tree and agreement.
  const bool spread = matrix_seeds.size() > 1;
  for (const Tree& tr : trees) {
    const gem::Population& pop = tr.pop();
    const std::string agreement = std::isnan(tr.agreement) ? "-" : Fmt(tr.agreement, 4);
    std::printf("\n### %s: %u models, %u queries per model in the matrix", pop.name.c_str(),
                pop.size(), pop.matrix->num_queries());
    if (!pop.target_accuracy.empty()) {
      std::string seeds;
      for (uint64_t ms : matrix_seeds) seeds += (seeds.empty() ? "" : ",") + std::to_string(ms);
      std::printf(
          " (simulated, agreement %s, matrix seed%s %s%s)", agreement.c_str(),
          matrix_seeds.size() > 1 ? "s" : "", seeds.c_str(),
          std::isnan(tr.population_mean)
              ? ""
              : (", clipped values imputed to a mean of " + Fmt(tr.population_mean, 3)).c_str());
    }
    std::printf("\n\n");
    {
      // How alike the models' answers are: what decides how much correlated sampling helps.
      std::vector<uint32_t> top(pop.size());
      for (uint32_t i = 0; i < top.size(); ++i) top[i] = i;
      std::stable_sort(top.begin(), top.end(),
                       [&](uint32_t a, uint32_t b) { return pop.accuracy[a] > pop.accuracy[b]; });
      top.resize(std::min<size_t>(top.size(), 50));
      const gem::AgreementStats st = gem::MeasureAgreement(*pop.matrix, top);
      std::printf(
          "Answers of the %zu best models: a pair agrees on %.1f%% of queries (independent "
          "models with these accuracies: %.1f%%); the stronger of a pair is right on "
          "%.1f%% of the queries the weaker gets right (nestedness).\n\n",
          top.size(), 100 * st.agreement, 100 * st.agreement_independent, 100 * st.nestedness);
    }
    const bool cmp = !tr.paper_column.empty();
    std::printf(
        "Mean rank of the returned model (1 = best) and its accuracy over %u "
        "repetitions%s%s; spend: evaluations used / (N x K)%s.\n\n",
        reps, spread ? " on each matrix" : "",
        cmp ? (", beside the paper's Table 2 (" + tr.paper_column + ") where it has the cell")
                  .c_str()
            : "",
        spread ? "; per-matrix: the range of the per-matrix mean ranks" : "");
    std::printf("| N | method | rank | ± se |%s%s acc |%s spend |\n", spread ? " per-matrix |" : "",
                cmp ? " paper rank |" : "", cmp ? " paper acc |" : "");
    std::printf("|---|---|---:|---:|%s%s---:|%s---:|\n", spread ? "---:|" : "", cmp ? "---:|" : "",
                cmp ? "---:|" : "");
    for (const Row& r : rows) {
      if (r.tree != pop.name || r.agreement != agreement) continue;
      PaperCell pc;
      if (cmp) {
        auto name = PaperNames().find(r.method);
        if (name != PaperNames().end()) {
          std::string key = r.n + "|" + name->second;
          if (r.method == "best_available") key = "50|Best Available";
          auto it = paper.by.find(key);
          if (it != paper.by.end()) pc = it->second[tr.paper_column];
        }
      }
      std::string line =
          "| " + r.n + " | " + r.method + " | " + Fmt(r.rank, 1) + " | " + Fmt(r.rank_se, 1) + " |";
      if (spread) {
        line += std::isnan(r.rank_min) ? " |"
                                       : " " + Fmt(r.rank_min, 1) + "-" + Fmt(r.rank_max, 1) + " |";
      }
      if (cmp) line += " " + Fmt(pc.rank, 1) + " |";
      line += " " + Fmt(r.acc, 3) + " |";
      if (cmp) line += " " + Fmt(pc.acc, 3) + " |";
      line += " " + Fmt(r.spend, 2) + " |";
      std::printf("%s\n", line.c_str());
    }
  }
  std::fflush(stdout);
  return 0;
}
