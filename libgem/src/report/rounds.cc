// Copyright the gem authors. The search's rounds (gem/report.h, docs/REPORT.md, "The rounds").
//
// Three panels over the rounds: survivors (bars, count on top, new queries each below), the
// budget spent so far (bars against the budget), and the round leader's confidence: the
// posterior probability that it is the best of that round's survivors (ProbabilityBest).
#include <algorithm>
#include <cmath>

#include "gem/report.h"
#include "report/svg.h"

namespace gem::report {

using svg::Escape;
using svg::Num;

std::string RoundsSvg(const ReportInput& in) {
  if (!in.has_search || in.search.rounds.empty()) return "";
  const auto& rounds = in.search.rounds;
  const size_t R = rounds.size();
  const bool labels = R <= 24;
  const double W = 760, left = 120, right = 24, top = 16;
  const double h1 = 120, h2 = 80, h3 = 100, gap = 34;
  const double pw = W - left - right, band = pw / R, bar = std::max(1.0, band * 0.6);
  const double H = top + h1 + gap + h2 + gap + h3 + 56;
  uint32_t max_surv = 1;
  for (const auto& r : rounds) max_surv = std::max<uint32_t>(max_surv, r.survivors.size());
  const double budget = std::max<double>(1, in.search.budget);

  std::vector<double> conf(R, std::nan(""));
  std::vector<int> leader(R, -1);
  for (size_t k = 0; k < R; ++k) {
    const int l = RoundLeader(rounds[k]);
    if (l < 0) continue;
    leader[k] = static_cast<int>(rounds[k].survivors[l]);
    conf[k] =
        rounds[k].survivors.size() == 1 ? 1.0 : ProbabilityBest(rounds[k].wins, rounds[k].pulls, l);
  }

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure rounds\" role=\"img\" "
       "aria-labelledby=\"rounds-title rounds-desc\" viewBox=\"0 0 " +
       Num(W) + " " + Num(H) + "\" width=\"" + Num(W) + "\">";
  s += "<title id=\"rounds-title\">The search's rounds: survivors, budget spent, the leader's "
       "confidence</title>";
  std::string desc = std::to_string(R) + " rounds. Survivors:";
  for (size_t k = 0; k < R && k < 12; ++k) desc += " " + std::to_string(rounds[k].survivors.size());
  if (R > 12) desc += " ...";
  uint64_t spent = 0;
  for (const auto& r : rounds) spent += r.spent;
  desc += ". Spent " + std::to_string(spent) + " of a budget of " +
          std::to_string(in.search.budget) + " queries.";
  if (leader[R - 1] >= 0) {
    desc += " Last round's leader: " + in.models[leader[R - 1]].name + ", probability best " +
            svg::Pct(conf[R - 1]) + ".";
  }
  desc += " The table 'Rounds' lists every value.";
  s += "<desc id=\"rounds-desc\">" + Escape(desc) + "</desc>";
  s += "<g font-size=\"11\">";
  auto panel_title = [&](double y, const std::string& t) {
    s += "<text x=\"" + Num(left - 10) + "\" y=\"" + Num(y) + "\" text-anchor=\"end\">" + t +
         "</text>";
  };
  auto x_of = [&](size_t k) { return left + band * (k + 0.5); };

  // Panel 1: survivors.
  double y0 = top, base = top + h1;
  panel_title(y0 + 12, "survivors");
  panel_title(y0 + 26, "(new queries each)");
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(base) +
       "\" y2=\"" + Num(base) + "\" stroke=\"#333\"/>";
  for (size_t k = 0; k < R; ++k) {
    const double h = (h1 - 16) * rounds[k].survivors.size() / max_surv;
    s += "<rect class=\"survivors\" x=\"" + Num(x_of(k) - bar / 2) + "\" y=\"" + Num(base - h) +
         "\" width=\"" + Num(bar) + "\" height=\"" + Num(h) +
         "\" fill=\"#5b7fa6\" stroke=\"#2c3e50\" stroke-width=\"0.5\"><title>round " +
         std::to_string(rounds[k].round) + ": " + std::to_string(rounds[k].survivors.size()) +
         " survivors, " + std::to_string(rounds[k].queries_per_survivor) +
         " new queries each</title></rect>";
    if (labels) {
      s += "<text x=\"" + Num(x_of(k)) + "\" y=\"" + Num(base - h - 3) +
           "\" text-anchor=\"middle\">" + std::to_string(rounds[k].survivors.size()) + "</text>";
      s += "<text x=\"" + Num(x_of(k)) + "\" y=\"" + Num(base + 13) +
           "\" text-anchor=\"middle\" fill=\"#444\">+" +
           std::to_string(rounds[k].queries_per_survivor) + "</text>";
    }
  }

  // Panel 2: budget spent so far.
  y0 = base + gap;
  base = y0 + h2;
  panel_title(y0 + 12, "budget spent");
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(y0) + "\" y2=\"" +
       Num(y0) + "\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>";
  s += "<text x=\"" + Num(left + pw) + "\" y=\"" + Num(y0 - 3) + "\" text-anchor=\"end\">budget " +
       std::to_string(in.search.budget) + "</text>";
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(base) +
       "\" y2=\"" + Num(base) + "\" stroke=\"#333\"/>";
  uint64_t so_far = 0;
  for (size_t k = 0; k < R; ++k) {
    so_far += rounds[k].spent;
    const double f = std::min(1.0, so_far / budget);
    s += "<rect class=\"spent\" x=\"" + Num(x_of(k) - bar / 2) + "\" y=\"" + Num(base - h2 * f) +
         "\" width=\"" + Num(bar) + "\" height=\"" + Num(h2 * f) +
         "\" fill=\"#bbb\" stroke=\"#555\" stroke-width=\"0.5\"><title>after round " +
         std::to_string(rounds[k].round) + ": " + std::to_string(so_far) + " of " +
         std::to_string(in.search.budget) + " spent (" + std::to_string(rounds[k].spent) +
         " in this round)</title></rect>";
    if (labels && f > 0.12) {
      s += "<text x=\"" + Num(x_of(k)) + "\" y=\"" + Num(base - h2 * f + 12) +
           "\" text-anchor=\"middle\">" + Num(100 * f) + "%</text>";
    }
  }

  // Panel 3: the leader's probability of being the best survivor.
  y0 = base + gap;
  base = y0 + h3;
  panel_title(y0 + 12, "leader's confidence");
  panel_title(y0 + 26, "P(best of survivors)");
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(base) +
       "\" y2=\"" + Num(base) + "\" stroke=\"#333\"/>";
  for (int p = 0; p <= 100; p += 50) {
    const double y = base - h3 * p / 100.0;
    s += "<text x=\"" + Num(left - 4) + "\" y=\"" + Num(y + 4) +
         "\" text-anchor=\"end\" "
         "fill=\"#444\">" +
         std::to_string(p) + "%</text>";
    s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(y) +
         "\" y2=\"" + Num(y) + "\" stroke=\"#ddd\"/>";
  }
  std::string path;
  for (size_t k = 0; k < R; ++k) {
    if (!std::isfinite(conf[k])) continue;
    path += (path.empty() ? "M" : " L") + Num(x_of(k)) + " " + Num(base - h3 * conf[k]);
  }
  if (!path.empty()) {
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"#2c3e50\" stroke-width=\"1.5\"/>";
  }
  for (size_t k = 0; k < R; ++k) {
    if (!std::isfinite(conf[k])) continue;
    const double x = x_of(k), y = base - h3 * conf[k];
    s += "<g class=\"leader\" data-model=\"" + Escape(in.models[leader[k]].name) + "\">";
    s += "<title>round " + std::to_string(rounds[k].round) + ": leader " +
         Escape(in.models[leader[k]].name) + ", P(best of " +
         std::to_string(rounds[k].survivors.size()) + ") " + svg::Pct(conf[k]) + "</title>";
    s += svg::Marker(in.models[leader[k]].kind, x, y, 4,
                     "fill=\"#fff\" stroke=\"#2c3e50\" "
                     "stroke-width=\"1.5\"");
    if (labels) {
      s += "<text x=\"" + Num(x) + "\" y=\"" + Num(y - 8) + "\" text-anchor=\"middle\">" +
           Num(100 * conf[k]) + "%</text>";
    }
    s += "</g>";
  }
  // The round axis.
  for (size_t k = 0; k < R; ++k) {
    if (!labels && k % ((R + 19) / 20) != 0) continue;
    s += "<text x=\"" + Num(x_of(k)) + "\" y=\"" + Num(base + 16) + "\" text-anchor=\"middle\">" +
         std::to_string(rounds[k].round) + "</text>";
  }
  s += "<text x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(base + 34) +
       "\" text-anchor=\"middle\">round</text>";
  if (leader[R - 1] >= 0) {
    s += "<text x=\"" + Num(left) + "\" y=\"" + Num(base + 50) +
         "\">last leader: " + Escape(in.models[leader[R - 1]].name) + "</text>";
  }
  s += "</g></svg>";
  return s;
}

}  // namespace gem::report
