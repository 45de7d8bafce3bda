// Copyright the gem authors. gem_tune: the `gem` search's constants against the registered
// methods, on many trees, agreements and simulated matrices (docs/GEM_METHOD.md, "What was
// tried"). A bench, not a test: it prints mean ranks; nothing is asserted.
//
// Usage:
//   gem_tune [--agreements 0.99,0.999] [--matrix-seeds 1,2,3] [--budgets 10,25,50,100,200]
//            [--reps 100] [--seed 0] --methods 'paper;gem_v1;v2=band_z:0,playoff_rounds:4' TREE...
// A method is a registered name (gem-replay's) or NAME=KEY:VALUE,... , the `gem` search with
// those constants changed (keys: the fields of GemParams in libgem/src/search/gem.h). A TREE is
// a data/trees-format CSV, optionally FILE@MEAN to impute clipped values to that population mean.
// Every method sees the same search seeds in a repetition (common random numbers), so differences
// between rows are measured more precisely than each row's standard error suggests; the "paired
// se" column gives the standard error of a row's difference to the first method's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gem/population.h"
#include "gem/search.h"
#include "search/gem.h"
#include "search/search_internal.h"

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, sep)) {
    if (!x.empty()) out.push_back(x);
  }
  return out;
}

struct Method {
  std::string name;
  bool registered = true;
  gem::search_internal::GemParams params;
};

bool SetParam(gem::search_internal::GemParams* p, const std::string& key, double v) {
  if (key == "finalists")
    p->finalists = static_cast<uint32_t>(v);
  else if (key == "eta")
    p->eta = v;
  else if (key == "first_round_min")
    p->first_round_min = static_cast<uint32_t>(v);
  else if (key == "first_round_min_frac")
    p->first_round_min_frac = v;
  else if (key == "protect_z")
    p->protect_z = v;
  else if (key == "protect_cap")
    p->protect_cap = v;
  else if (key == "protect_from_n")
    p->protect_from_n = v;
  else if (key == "protect_full_n")
    p->protect_full_n = v;
  else if (key == "exhaustive_finish")
    p->exhaustive_finish = v != 0;
  else if (key == "confidence_draws")
    p->confidence_draws = static_cast<uint32_t>(v);
  else
    return false;
  return true;
}

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> agreements = {0.99};
  std::vector<uint64_t> matrix_seeds = {1};
  std::vector<uint32_t> budgets = {10, 25, 50, 100, 200};
  uint32_t reps = 100;
  uint64_t seed = 0;
  bool diag = false;
  std::vector<Method> methods;
  std::vector<std::string> trees;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--agreements" && has) {
      agreements.clear();
      for (auto& x : Split(argv[++i], ',')) agreements.push_back(std::atof(x.c_str()));
    } else if (a == "--matrix-seeds" && has) {
      matrix_seeds.clear();
      for (auto& x : Split(argv[++i], ',')) matrix_seeds.push_back(std::strtoull(x.c_str(), 0, 10));
    } else if (a == "--budgets" && has) {
      budgets.clear();
      for (auto& x : Split(argv[++i], ',')) budgets.push_back(std::atoi(x.c_str()));
    } else if (a == "--reps" && has) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--seed" && has) {
      seed = std::strtoull(argv[++i], 0, 10);
    } else if (a == "--methods" && has) {
      for (auto& spec : Split(argv[++i], ';')) {
        Method m;
        const size_t eq = spec.find('=');
        m.name = spec.substr(0, eq);
        if (eq != std::string::npos) {
          m.registered = false;
          for (auto& kv : Split(spec.substr(eq + 1), ',')) {
            const size_t c = kv.find(':');
            if (c == std::string::npos ||
                !SetParam(&m.params, kv.substr(0, c), std::atof(kv.substr(c + 1).c_str()))) {
              std::fprintf(stderr, "gem_tune: bad setting \"%s\"\n", kv.c_str());
              return 2;
            }
          }
        }
        methods.push_back(m);
      }
    } else if (a == "--diag") {
      diag = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("see the comment at the top of bench/search_families/gem_tune.cc\n");
      return 0;
    } else {
      trees.push_back(a);
    }
  }
  if (trees.empty() || methods.empty()) {
    std::fprintf(stderr, "gem_tune: name --methods and at least one tree (--help)\n");
    return 2;
  }
  std::printf("| tree | rho | N |");
  for (auto& m : methods) std::printf(" %s |", m.name.c_str());
  std::printf("\n|---|---|---|");
  for (size_t i = 0; i < methods.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const std::string& arg : trees) {
    std::string path = arg;
    double mean = NAN;
    if (const size_t at = arg.rfind('@'); at != std::string::npos) {
      path = arg.substr(0, at);
      mean = std::atof(arg.substr(at + 1).c_str());
    }
    auto table = gem::LoadTreeCsv(path);
    if (!table.ok()) {
      std::fprintf(stderr, "%s\n", table.status().ToString().c_str());
      return 1;
    }
    for (double rho : agreements) {
      std::vector<gem::Population> pops;
      for (uint64_t ms : matrix_seeds) {
        gem::SimulationOptions so;
        so.agreement = rho;
        so.population_mean = mean;
        so.seed = ms;
        auto pop = gem::SimulatePopulation(*table, so);
        if (!pop.ok()) {
          std::fprintf(stderr, "%s\n", pop.status().ToString().c_str());
          return 1;
        }
        pops.push_back(std::move(*pop));
      }
      for (uint32_t n : budgets) {
        // rank[method][matrix * reps + rep]
        std::vector<std::vector<double>> rank(methods.size());
        std::vector<std::map<uint32_t, uint32_t>> lost(methods.size());
        std::vector<std::map<uint32_t, double>> lost_len(methods.size());
        for (size_t pi = 0; pi < pops.size(); ++pi) {
          const gem::Population& pop = pops[pi];
          const std::vector<double> ranks = gem::AverageRanks(pop.accuracy);
          for (uint32_t r = 0; r < reps; ++r) {
            const uint64_t s = Mix(seed ^ Mix(matrix_seeds[pi] * 1000003 + n) ^ Mix(r + 77));
            for (size_t mi = 0; mi < methods.size(); ++mi) {
              gem::MatrixEvaluator ev(pop.matrix);
              gem::SearchOptions o;
              o.method = methods[mi].registered ? methods[mi].name : "gem";
              o.queries_per_model = n;
              o.seed = s;
              gem::SearchResult res;
              gem::Status st;
              if (methods[mi].registered) {
                st = gem::Search(o, &ev, &res);
              } else {
                res.method = methods[mi].name;
                gem::search_internal::SearchRun run(o, &ev, &res);
                st = gem::search_internal::RunGemWithParams(&run, methods[mi].params);
              }
              if (!st.ok() || res.spent > res.budget) {
                std::fprintf(stderr, "%s: %s (spent %llu of %llu)\n", methods[mi].name.c_str(),
                             st.ToString().c_str(), (unsigned long long)res.spent,
                             (unsigned long long)res.budget);
                return 1;
              }
              rank[mi].push_back(ranks[res.chosen_model]);
              if (diag && ranks[res.chosen_model] > 1) {
                // Where the best model was lost: the size of the last batch it took part in.
                const uint32_t best = static_cast<uint32_t>(
                    std::max_element(pop.accuracy.begin(), pop.accuracy.end()) -
                    pop.accuracy.begin());
                uint32_t at = 0, len = res.pulls[best];
                for (const auto& t : res.rounds) {
                  if (std::find(t.survivors.begin(), t.survivors.end(), best) != t.survivors.end())
                    at = static_cast<uint32_t>(t.survivors.size());
                }
                uint32_t bucket = 1;
                while (bucket < at) bucket *= 2;
                lost[mi][bucket]++;
                lost_len[mi][bucket] += len;
              }
            }
          }
        }
        std::printf("| %s | %g | %u |", table->name.c_str(), rho, n);
        for (size_t mi = 0; mi < methods.size(); ++mi) {
          const auto& v = rank[mi];
          double m = 0, d = 0, dd = 0;
          for (size_t i = 0; i < v.size(); ++i) {
            m += v[i];
            d += v[i] - rank[0][i];
          }
          m /= v.size();
          d /= v.size();
          for (size_t i = 0; i < v.size(); ++i) {
            const double x = v[i] - rank[0][i] - d;
            dd += x * x;
          }
          const double pse = v.size() > 1 ? std::sqrt(dd / (v.size() - 1) / v.size()) : 0;
          if (mi == 0) {
            double ss = 0;
            for (double x : v) ss += (x - m) * (x - m);
            std::printf(" %.2f ±%.2f |", m, std::sqrt(ss / (v.size() - 1) / v.size()));
          } else {
            std::printf(" %.2f (%+.2f ±%.2f) |", m, d, pse);
          }
        }
        std::printf("\n");
        if (diag) {
          for (size_t mi = 0; mi < methods.size(); ++mi) {
            std::printf("    %s: best lost in a batch of <= S models (times, mean queries it had):",
                        methods[mi].name.c_str());
            for (auto [b, c] : lost[mi]) std::printf(" %u:%u(%.0f)", b, c, lost_len[mi][b] / c);
            std::printf("\n");
          }
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
