// Copyright the gem authors. Popularity against accuracy (gem/report.h, docs/REPORT.md).
#include <algorithm>
#include <cmath>

#include "gem/report.h"
#include "report/svg.h"

namespace gem::report {

using svg::Escape;
using svg::Num;

std::string ScatterSvg(const ReportInput& in) {
  const double W = 760, H = 470, left = 64, right = 40, top = 30, bottom = 120;
  const double pw = W - left - right, ph = H - top - bottom;
  const int chosen = in.has_search ? in.search.chosen : -1;
  const int popular = MostPopular(in);
  const std::vector<uint32_t> gems = HiddenGems(in);
  auto is_gem = [&](size_t i) { return std::find(gems.begin(), gems.end(), i) != gems.end(); };

  std::vector<size_t> pts;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < in.models.size(); ++i) {
    const ModelPoint& m = in.models[i];
    if (!m.has_accuracy() || m.popularity < 0) continue;
    pts.push_back(i);
    const double lx = std::log10(std::max(1.0, m.popularity));
    lo = std::min(lo, lx);
    hi = std::max(hi, lx);
  }
  if (pts.empty()) lo = 0, hi = 1;
  lo = std::floor(lo);
  hi = std::max(lo + 1, std::ceil(hi));
  auto X = [&](double popularity) {
    return left + pw * (std::log10(std::max(1.0, popularity)) - lo) / (hi - lo);
  };
  auto Y = [&](double acc) { return top + ph * (1 - std::clamp(acc, 0.0, 1.0)); };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure scatter\" role=\"img\" "
       "aria-labelledby=\"scatter-title scatter-desc\" viewBox=\"0 0 " +
       Num(W) + " " + Num(H) + "\" width=\"" + Num(W) + "\">";
  s += "<title id=\"scatter-title\">Popularity against accuracy, " + Escape(in.tree) + " on " +
       Escape(in.task) + "</title>";
  std::string desc = std::to_string(pts.size()) +
                     " models with a known accuracy and popularity; x: downloads (log scale), y: "
                     "accuracy.";
  if (popular >= 0 && in.models[popular].has_accuracy()) {
    desc += " The most popular model, " + in.models[popular].name + ", has " +
            svg::Pct(in.models[popular].accuracy()) + ".";
  }
  desc += " " + std::to_string(gems.size()) + " hidden gems (less popular, more than " +
          Num(100 * in.gem_margin) + " points more accurate)";
  for (size_t k = 0; k < gems.size() && k < 5; ++k) {
    desc += std::string(k ? ", " : ": ") + in.models[gems[k]].name + " " +
            svg::Pct(in.models[gems[k]].accuracy());
  }
  desc += gems.size() > 5 ? ", ..." : "";
  desc += ".";
  s += "<desc id=\"scatter-desc\">" + Escape(desc) + "</desc>";
  s += svg::Defs("scatter");

  // The hidden-gem region, hatched: left of the most popular, above its accuracy + margin.
  if (popular >= 0 && in.models[popular].has_accuracy()) {
    const double bar = in.models[popular].accuracy() + in.gem_margin;
    const double gx = X(in.models[popular].popularity);
    if (bar < 1) {
      s += "<rect class=\"gem-region\" x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" +
           Num(gx - left) + "\" height=\"" + Num(Y(bar) - top) +
           "\" fill=\"url(#scatter-hatch)\" "
           "stroke=\"#b8860b\" stroke-dasharray=\"4 3\"/>";
      s += "<text x=\"" + Num(left + 6) + "\" y=\"" + Num(top + 14) +
           "\" font-size=\"11\" fill=\"#6b4f00\">hidden-gem region: less popular, more than " +
           Num(100 * in.gem_margin) + " points more accurate than the most popular</text>";
    }
    const double py = Y(in.models[popular].accuracy());
    s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(py) +
         "\" y2=\"" + Num(py) + "\" stroke=\"#000\" stroke-dasharray=\"5 3\"/>";
    s += "<line x1=\"" + Num(gx) + "\" x2=\"" + Num(gx) + "\" y1=\"" + Num(top) + "\" y2=\"" +
         Num(top + ph) + "\" stroke=\"#000\" stroke-dasharray=\"5 3\"/>";
  }
  // Axes, ticks at powers of ten and every 20%.
  s += "<g class=\"axes\" font-size=\"11\" stroke=\"#333\">";
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left + pw) + "\" y1=\"" + Num(top + ph) +
       "\" y2=\"" + Num(top + ph) + "\"/>";
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left) + "\" y1=\"" + Num(top) + "\" y2=\"" +
       Num(top + ph) + "\"/>";
  for (int e = static_cast<int>(lo); e <= static_cast<int>(hi); ++e) {
    const double x = left + pw * (e - lo) / (hi - lo);
    s += "<line x1=\"" + Num(x) + "\" x2=\"" + Num(x) + "\" y1=\"" + Num(top + ph) + "\" y2=\"" +
         Num(top + ph + 5) + "\"/>";
    s += "<text stroke=\"none\" x=\"" + Num(x) + "\" y=\"" + Num(top + ph + 18) +
         "\" text-anchor=\"middle\">" + svg::Count(std::pow(10.0, e)) + "</text>";
  }
  for (int p = 0; p <= 100; p += 20) {
    const double y = Y(p / 100.0);
    s += "<line x1=\"" + Num(left - 5) + "\" x2=\"" + Num(left) + "\" y1=\"" + Num(y) + "\" y2=\"" +
         Num(y) + "\"/>";
    s += "<text stroke=\"none\" x=\"" + Num(left - 8) + "\" y=\"" + Num(y + 4) +
         "\" text-anchor=\"end\">" + std::to_string(p) + "%</text>";
  }
  s += "<text stroke=\"none\" x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(top + ph + 36) +
       "\" text-anchor=\"middle\">downloads (log scale)</text>";
  s += "<text stroke=\"none\" transform=\"rotate(-90)\" x=\"" + Num(-(top + ph / 2)) +
       "\" y=\"16\" "
       "text-anchor=\"middle\">accuracy on " +
       Escape(in.task) + "</text>";
  s += "</g>";

  // Points: interval whiskers for accuracies seen on part of the queries, then markers.
  s += "<g class=\"nodes\">";
  for (size_t i : pts) {
    const ModelPoint& m = in.models[i];
    const double x = X(m.popularity), y = Y(m.accuracy());
    s += "<g class=\"node\" data-model=\"" + Escape(m.name) + "\" data-index=\"" +
         std::to_string(m.index) + "\"><title>" + Escape(svg::Describe(in, m)) + "</title>";
    if (!m.all_known) {
      const Interval ci = Wilson(m.seen_correct, m.seen_queries);
      s += "<line class=\"interval\" x1=\"" + Num(x) + "\" x2=\"" + Num(x) + "\" y1=\"" +
           Num(Y(ci.low)) + "\" y2=\"" + Num(Y(ci.high)) + "\" stroke=\"#777\"/>";
    }
    s += svg::Marker(m.kind, x, y, 6,
                     "fill=\"" + svg::FillOf(m) + "\" stroke=\"#222\" stroke-width=\"0.8\"");
    const bool is_chosen = static_cast<int>(i) == chosen, is_pop = static_cast<int>(i) == popular;
    if (is_chosen) {
      s += "<circle class=\"found-ring\" cx=\"" + Num(x) + "\" cy=\"" + Num(y) +
           "\" r=\"11\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"3\"/>";
    }
    if (is_pop) {
      s += "<circle class=\"popular-ring\" cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"" +
           (is_chosen ? "15" : "11") +
           "\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>";
    }
    const size_t gem_rank = std::find(gems.begin(), gems.end(), i) - gems.begin();
    if (is_gem(i)) {
      s += "<text class=\"gem-star\" x=\"" + Num(x + 9) + "\" y=\"" + Num(y - 6) +
           "\" font-size=\"14\" text-anchor=\"middle\">&#9733;</text>";
    }
    if (is_chosen || is_pop || (is_gem(i) && gem_rank < 5)) {
      std::string l = m.name + " " + svg::Pct(m.accuracy());
      if (is_chosen) l = "FOUND: " + l;
      if (is_pop) l = "MOST POPULAR: " + l;
      const bool right_side = x < left + pw * 0.6;
      s += "<text class=\"label\" x=\"" + Num(right_side ? x + 16 : x - 16) + "\" y=\"" +
           Num(y + 4) + "\" font-size=\"11\" font-weight=\"bold\" text-anchor=\"" +
           (right_side ? "start" : "end") + "\">" + Escape(l) + "</text>";
    }
    s += "</g>";
  }
  s += "</g>";
  s += svg::ShapeLegend(in, left, H - 62, true);
  s += "<g font-size=\"11\"><line x1=\"" + Num(left) + "\" x2=\"" + Num(left) + "\" y1=\"" +
       Num(H - 16) + "\" y2=\"" + Num(H - 4) + "\" stroke=\"#777\"/><text x=\"" + Num(left + 8) +
       "\" y=\"" + Num(H - 6) +
       "\">vertical bar: 95% interval of an accuracy the search saw on part of the queries "
       "(no bar: all queries)</text></g>";
  s += "</svg>";
  return s;
}

}  // namespace gem::report
