// Copyright the gem authors. The hidden-gem report: one self-contained HTML file with SVG
// figures of a model tree and (optionally) of a search on it.
//
// Figures (docs/REPORT.md says what each shows and how it is computed):
//   * the tree atlas: models as nodes linked to their parents, area by popularity (log scale),
//     colour by accuracy, shape by kind; the chosen model, the most popular one and the hidden
//     gems marked with rings and labels;
//   * popularity against accuracy (log-scale downloads), hidden gems called out;
//   * the search's rounds: survivors, queries each, budget spent, the leader's confidence;
//   * the found-vs-popular table with links to the models' folders, and every model's numbers.
// The page needs no network and no script: inline CSS, inline SVG, no external reference.
// Every figure has a text alternative (<title>/<desc>, role="img") and a table with its numbers,
// and nothing is told by colour alone (shapes, rings, hatching and labels carry the same).
//
// The caller (gemctl, from data gemd serves) fills a ReportInput; this part only computes and
// draws. Deterministic: the same input gives the same bytes.
//
// Thread-safety: free functions, reentrant.
#ifndef GEM_REPORT_H_
#define GEM_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem::report {

// One model of the tree.
struct ModelPoint {
  uint32_t index = 0;      // the tree's model index (0 = the base for manifest trees)
  std::string name;        // display name
  std::string kind;        // "base", "finetune", "adapter", "quantization", "merge" or "" (unknown)
  int parent = -1;         // position in ReportInput::models of its parent; -1 none or unknown
  double popularity = -1;  // downloads (or a download proxy); < 0 unknown
  std::string digest;      // hex, for display ("" unknown)
  std::string folder;      // the model's folder on the host that holds it ("" unknown): linked
  // What the search asked it (search reports): queries and correct answers among them.
  uint32_t seen_queries = 0;
  uint32_t seen_correct = 0;
  // Its accuracy over every query of the task, when every answer is known (the cache holds
  // them all): all_correct of all_queries.
  bool all_known = false;
  uint32_t all_queries = 0;
  uint32_t all_correct = 0;

  // The accuracy the figures use: over all queries where known, else what the search saw, else
  // NaN (never evaluated).
  double accuracy() const;
  bool has_accuracy() const { return all_known || seen_queries > 0; }
};

// One round of the search, as gemd recorded it (gem::RoundTrace plus cumulative tallies).
struct RoundPoint {
  uint32_t round = 0;
  std::vector<uint32_t> survivors;  // positions in ReportInput::models evaluated in this round
  uint32_t queries_per_survivor = 0;
  uint64_t spent = 0;  // evaluations in this round
  bool correlated = false;
  std::vector<uint32_t> pulls;  // per survivor: queries asked so far (after this round)
  std::vector<uint32_t> wins;   // per survivor: correct answers so far
};

struct SearchSummary {
  uint64_t job = 0;
  std::string method;
  uint32_t queries_per_model = 0;
  uint64_t seed = 0;
  uint64_t budget = 0;
  uint64_t spent = 0;
  uint64_t evaluations_run = 0;
  uint64_t evaluations_cached = 0;
  int chosen = -1;  // position in ReportInput::models
  double estimated_accuracy = 0.0 / 0.0, ci_low = 0.0 / 0.0, ci_high = 0.0 / 0.0;
  double p_best = 0.0 / 0.0, p_top3 = 0.0 / 0.0;  // the method's own estimates (NaN: none)
  bool rounds_recorded = false;  // false: the gemd that ran it kept no per-round trace
  std::vector<RoundPoint> rounds;
};

struct ReportInput {
  std::string tree;
  std::string task;
  uint32_t num_queries = 0;  // queries of the task
  std::vector<ModelPoint> models;
  bool has_search = false;  // a search report; otherwise a tree report
  SearchSummary search;
  // A hidden gem beats the most popular model by at least this much accuracy (a fraction) and
  // is less popular. Default 0.05 (5 points).
  double gem_margin = 0.05;
  std::string generated_by;        // e.g. "gemctl 0.1.0, 2026-12-06 12:00 UTC"; shown in the footer
  std::vector<std::string> notes;  // shown under the summary (e.g. models not fully evaluated)
};

// ---- what the figures compute (docs/REPORT.md) ---------------------------------------------

// The most popular model (ties: the lower position); -1 when no model has a popularity.
int MostPopular(const ReportInput& in);
// Models with an accuracy more than gem_margin above the most popular model's, and a known
// popularity below its; by accuracy, best first. An accuracy the search saw on part of the
// queries counts by the lower end of its 95% Wilson interval. Empty when there is no most
// popular model or it has no accuracy.
std::vector<uint32_t> HiddenGems(const ReportInput& in);

struct Interval {
  double low = 0, high = 0;
};
// The 95% Wilson score interval of `correct` successes in `n` trials ({0, 1} when n == 0).
Interval Wilson(uint32_t correct, uint32_t n);

// The round's leader: the survivor with the highest mean (wins / pulls; ties: the earlier
// survivor). Returns an index into round.survivors; -1 when the round has none.
int RoundLeader(const RoundPoint& round);
// The posterior probability that survivor `leader` (an index into wins/pulls) has the highest
// accuracy of them all, each accuracy with an independent uniform prior (Beta(1 + wins,
// 1 + pulls - wins) posterior), by numerical integration on a fixed grid. REQUIRES: wins and
// pulls the same size, leader < size, wins[i] <= pulls[i].
double ProbabilityBest(const std::vector<uint32_t>& wins, const std::vector<uint32_t>& pulls,
                       size_t leader);

// ---- rendering --------------------------------------------------------------------------------

// The figures alone (each an <svg> element with role="img", <title> and <desc>); each model is
// a <g class="node" data-model="NAME"> in the atlas and the scatter plot.
std::string AtlasSvg(const ReportInput& in);
std::string ScatterSvg(const ReportInput& in);
std::string RoundsSvg(const ReportInput& in);  // "" for tree reports and searches without rounds

// The whole page.
std::string RenderHtml(const ReportInput& in);
// Writes RenderHtml to `path` (a temp file, then rename). IOError naming the path.
Status WriteHtml(const ReportInput& in, const std::string& path);

}  // namespace gem::report

#endif  // GEM_REPORT_H_
