// Copyright the gem authors. The report page: summary, tables and figures in one HTML file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gem/report.h"
#include "report/svg.h"

namespace gem::report {
namespace {

using svg::Escape;

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:0 auto;max-width:1140px;padding:16px 24px;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figcaption{font-size:.92em;color:#333;max-width:900px}
svg.figure{max-width:100%;height:auto;display:block;background:#fff}
.summary dt{font-weight:600;float:left;clear:left;width:13em}.summary dd{margin-left:13.5em}
.note{color:#6b4f00}code{font-size:.95em}
footer{margin-top:2em;font-size:.85em;color:#555;border-top:1px solid #ccc;padding-top:.5em}
)";

std::string FileUrl(const std::string& path) {
  std::string out = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Seen(const ModelPoint& m) {
  if (m.seen_queries == 0) return "-";
  return svg::Pct(double(m.seen_correct) / m.seen_queries) + " (" + std::to_string(m.seen_correct) +
         "/" + std::to_string(m.seen_queries) + ")";
}

std::string All(const ModelPoint& m) {
  if (!m.all_known) return "-";
  return svg::Pct(double(m.all_correct) / m.all_queries) + " (" + std::to_string(m.all_correct) +
         "/" + std::to_string(m.all_queries) + ")";
}

std::string ModelCell(const ModelPoint& m) {
  std::string s = Escape(m.name);
  if (!m.folder.empty()) {
    s += " <a href=\"" + Escape(FileUrl(m.folder)) + "\" title=\"" + Escape(m.folder) +
         "\">folder</a>";
  }
  return s;
}

std::string Row(const std::vector<std::string>& cells, const std::vector<bool>& numeric) {
  std::string s = "<tr>";
  for (size_t i = 0; i < cells.size(); ++i) {
    s += (i < numeric.size() && numeric[i]) ? "<td class=\"num\">" : "<td>";
    s += cells[i] + "</td>";
  }
  return s + "</tr>\n";
}

std::string Header(const std::vector<std::string>& cells) {
  std::string s = "<thead><tr>";
  for (const auto& c : cells) s += "<th scope=\"col\">" + c + "</th>";
  return s + "</tr></thead>\n";
}

// The best model by accuracy over all queries (tree reports): -1 when none is fully known.
int BestKnown(const ReportInput& in) {
  int best = -1;
  for (size_t i = 0; i < in.models.size(); ++i) {
    const auto& m = in.models[i];
    if (m.all_known && (best < 0 || m.accuracy() > in.models[best].accuracy())) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace

std::string RenderHtml(const ReportInput& in) {
  const int popular = MostPopular(in);
  const std::vector<uint32_t> gems = HiddenGems(in);
  const int found = in.has_search ? in.search.chosen : BestKnown(in);
  const std::string title = "gem report: " + in.tree + " / " + in.task +
                            (in.has_search ? ", search " + std::to_string(in.search.job) : "");
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + Escape(title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n";
  h += "</head>\n<body>\n<main>\n<h1>" + Escape(title) + "</h1>\n";

  // Summary.
  h += "<dl class=\"summary\">\n";
  auto item = [&](const std::string& k, const std::string& v) {
    h += "<dt>" + k + "</dt><dd>" + v + "</dd>\n";
  };
  item("tree", Escape(in.tree) + " (" + std::to_string(in.models.size()) + " models)");
  item("task", Escape(in.task) + " (" + std::to_string(in.num_queries) + " queries)");
  if (in.has_search) {
    const SearchSummary& s = in.search;
    item("search", "job " + std::to_string(s.job) + ": method <code>" + Escape(s.method) +
                       "</code>, " + std::to_string(s.queries_per_model) +
                       " queries per model, seed " + std::to_string(s.seed));
    item("budget", "spent " + std::to_string(s.spent) + " of " + std::to_string(s.budget) +
                       " (model, query) evaluations; " + std::to_string(s.evaluations_run) +
                       " results computed, " + std::to_string(s.evaluations_cached) +
                       " from the cache");
    if (s.chosen >= 0) {
      std::string v = Escape(in.models[s.chosen].name);
      if (std::isfinite(s.estimated_accuracy)) {
        v += ", estimated accuracy " + svg::Pct(s.estimated_accuracy);
        if (std::isfinite(s.ci_low)) {
          v += " (95% interval " + svg::Pct(s.ci_low) + " to " + svg::Pct(s.ci_high) + ")";
        }
      }
      if (std::isfinite(s.p_best)) v += "; the method's P(best) " + svg::Pct(s.p_best);
      if (std::isfinite(s.p_top3)) v += ", P(top 3) " + svg::Pct(s.p_top3);
      item("found", v);
    }
  } else {
    item("source", "every answer from gemd's result cache; no search");
  }
  if (popular >= 0) item("most popular", Escape(in.models[popular].name));
  item("hidden gems", std::to_string(gems.size()) +
                          " (less popular than the most popular model, "
                          "more than " +
                          svg::Num(100 * in.gem_margin) + " points more accurate)");
  h += "</dl>\n";
  for (const auto& n : in.notes) h += "<p class=\"note\">" + Escape(n) + "</p>\n";

  // Found against popular (the table gemctl prints), then the hidden gems.
  h += "<h2 id=\"found-vs-popular\">Found against popular</h2>\n<table>\n";
  h += "<caption>" +
       std::string(in.has_search ? "The model the search returned"
                                 : "The most accurate model over all queries") +
       ", the most popular model, and the hidden gems. Folders are on the host that holds the "
       "models (gemd's).</caption>\n";
  h += Header({"", "index", "model", "kind", "downloads", "accuracy seen by the search",
               "accuracy over all queries", "digest"});
  const std::vector<bool> num = {false, true, false, false, true, true, true, false};
  auto model_row = [&](const std::string& role, int i) {
    const ModelPoint& m = in.models[i];
    h += Row({role, std::to_string(m.index), ModelCell(m), Escape(m.kind), svg::Count(m.popularity),
              Seen(m), All(m), "<code>" + Escape(m.digest.substr(0, 12)) + "</code>"},
             num);
  };
  if (found >= 0) model_row(in.has_search ? "found" : "most accurate", found);
  if (popular >= 0) model_row("most popular", popular);
  for (uint32_t g : gems) {
    if (static_cast<int>(g) != found) model_row("hidden gem", static_cast<int>(g));
  }
  h += "</table>\n";

  // Figures.
  h += "<h2 id=\"atlas\">The tree atlas</h2>\n<figure>\n" + AtlasSvg(in) +
       "\n<figcaption>Each model is a marker linked to its parent; its area grows with downloads "
       "(log scale), its shape shows the kind and its colour the accuracy (hollow: not "
       "evaluated). A thick ring marks the model found, a dashed ring the most popular one, a "
       "star each hidden gem; labels give name and accuracy.</figcaption>\n</figure>\n";
  h += "<h2 id=\"popularity\">Popularity against accuracy</h2>\n<figure>\n" + ScatterSvg(in) +
       "\n<figcaption>Downloads (log scale) against accuracy. The dashed lines cross at the most "
       "popular model; models in the hatched region above and to its left are the hidden gems."
       "</figcaption>\n</figure>\n";
  if (in.has_search) {
    h += "<h2 id=\"rounds\">The search's rounds</h2>\n";
    if (in.search.rounds.empty()) {
      h += std::string("<p class=\"note\">") +
           (in.search.rounds_recorded ? "The search recorded no rounds."
                                      : "The gemd that ran this search kept no per-round "
                                        "trace (an older build); rerun the search to see "
                                        "its rounds.") +
           "</p>\n";
    } else {
      h += "<figure>\n" + RoundsSvg(in) +
           "\n<figcaption>Per round: the models still in the running and the new queries each "
           "got, the share of the budget spent so far, and the probability that the round's "
           "leader is the best of its survivors (uniform priors on each accuracy, given the "
           "answers seen so far).</figcaption>\n</figure>\n";
      h += "<table>\n<caption>Rounds</caption>\n";
      h += Header({"round", "survivors", "new queries each", "spent in round", "spent so far",
                   "correlated", "leader", "leader's accuracy so far", "P(leader best)"});
      uint64_t so_far = 0;
      for (const auto& r : in.search.rounds) {
        so_far += r.spent;
        const int l = RoundLeader(r);
        std::string leader = "-", acc = "-", p = "-";
        if (l >= 0) {
          leader = Escape(in.models[r.survivors[l]].name);
          acc = svg::Pct(r.pulls[l] ? double(r.wins[l]) / r.pulls[l] : 0) + " (" +
                std::to_string(r.wins[l]) + "/" + std::to_string(r.pulls[l]) + ")";
          p = svg::Pct(r.survivors.size() == 1 ? 1.0 : ProbabilityBest(r.wins, r.pulls, l));
        }
        h += Row({std::to_string(r.round), std::to_string(r.survivors.size()),
                  std::to_string(r.queries_per_survivor), std::to_string(r.spent),
                  std::to_string(so_far), r.correlated ? "yes" : "no", leader, acc, p},
                 {true, true, true, true, true, false, false, true, true});
      }
      h += "</table>\n";
    }
  }

  // Every model: the numbers behind the atlas and the scatter plot.
  h += "<h2 id=\"models\">Every model</h2>\n<details open>\n<summary>" +
       std::to_string(in.models.size()) +
       " models (the numbers behind the figures)</summary>\n<table>\n";
  h += Header({"index", "model", "kind", "parent", "downloads", "accuracy seen by the search",
               "accuracy over all queries", "marks"});
  for (size_t i = 0; i < in.models.size(); ++i) {
    const ModelPoint& m = in.models[i];
    std::string marks;
    if (static_cast<int>(i) == found) marks += in.has_search ? "found " : "most accurate ";
    if (static_cast<int>(i) == popular) marks += "most popular ";
    if (std::find(gems.begin(), gems.end(), i) != gems.end()) marks += "hidden gem";
    const std::string parent = m.parent >= 0 && m.parent < static_cast<int>(in.models.size())
                                   ? Escape(in.models[m.parent].name)
                                   : "-";
    h += Row({std::to_string(m.index), ModelCell(m), Escape(m.kind), parent,
              svg::Count(m.popularity), Seen(m), All(m), marks},
             {true, false, false, false, true, true, true, false});
  }
  h += "</table>\n</details>\n</main>\n";
  h += "<footer>How each figure is computed: docs/REPORT.md in the gem sources. " +
       Escape(in.generated_by) + "</footer>\n</body>\n</html>\n";
  return h;
}

Status WriteHtml(const ReportInput& in, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << RenderHtml(in);
    out.close();
    if (!out) return Status::IOError(tmp, "cannot write the report");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError(path, "cannot write the report: " + ec.message());
  return Status::OK();
}

}  // namespace gem::report
