// Copyright the gem authors. The tree atlas (gem/report.h, docs/REPORT.md, "The tree atlas").
//
// Layout: a radial tree. The root sits in the middle; each depth is a ring; a node's angular
// share is proportional to the leaves below it, so subtrees stay together; siblings are ordered
// by kind, then popularity (most popular first), then name. A ring's radius grows until its
// nodes fit side by side. Without any parent link (replay trees) the models sit on a sunflower
// spiral, most popular in the middle. Deterministic in the input.
#include <algorithm>
#include <cmath>
#include <functional>

#include "gem/report.h"
#include "report/svg.h"

namespace gem::report {
namespace {

using svg::Escape;
using svg::Num;

constexpr double kPi = 3.14159265358979323846;
constexpr size_t kLabelAll = 60;  // label every node up to this many models

struct Placed {
  double x = 0, y = 0, angle = 0;  // angle: direction from the centre, radians
};

int KindRank(const std::string& k) {
  for (int i = 0; i < 5; ++i)
    if (k == svg::kKinds[i]) return i;
  return 5;
}

std::vector<Placed> Layout(const ReportInput& in) {
  const size_t n = in.models.size();
  std::vector<Placed> pos(n);
  bool any_parent = false;
  for (const auto& m : in.models) any_parent |= m.parent >= 0;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  auto sibling_less = [&](size_t a, size_t b) {
    const auto &x = in.models[a], &y = in.models[b];
    if (KindRank(x.kind) != KindRank(y.kind)) return KindRank(x.kind) < KindRank(y.kind);
    if (x.popularity != y.popularity) return x.popularity > y.popularity;
    return x.name < y.name;
  };
  if (!any_parent) {  // sunflower
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return in.models[a].popularity > in.models[b].popularity;
    });
    double mean_r = 0;
    for (const auto& m : in.models) mean_r += svg::RadiusOf(m.popularity) / std::max<size_t>(1, n);
    const double c = 2.2 * mean_r + 4;
    for (size_t k = 0; k < n; ++k) {
      const double a = k * 2.39996322972865332;  // the golden angle
      const double r = c * std::sqrt(static_cast<double>(k)) * 1.1;
      pos[order[k]] = {r * std::cos(a), r * std::sin(a), 0};  // labels: horizontal, rightward
    }
    return pos;
  }
  // Radial tree under a virtual root (-1) whose children are the real roots.
  std::vector<std::vector<size_t>> kids(n + 1);  // kids[n] = the virtual root's
  for (size_t i = 0; i < n; ++i) {
    const int p = in.models[i].parent;
    kids[p >= 0 && p < static_cast<int>(n) && p != static_cast<int>(i) ? p : n].push_back(i);
  }
  for (auto& k : kids) std::sort(k.begin(), k.end(), sibling_less);
  std::vector<double> leaves(n + 1, 0);
  std::vector<int> depth(n, 0);
  std::vector<char> seen(n, 0);
  std::function<double(size_t, int)> count = [&](size_t v, int d) -> double {
    if (v < n) {
      if (seen[v]) return 0;  // a cycle in the parent links: draw each node once
      seen[v] = 1;
      depth[v] = d;
    }
    double l = 0;
    for (size_t c : kids[v]) l += count(c, d + 1);
    return leaves[v] = std::max(1.0, l);
  };
  count(n, -1);
  // With one real root, it is the centre (depth 0); otherwise the roots form ring 1.
  const bool single_root = kids[n].size() == 1;
  int max_depth = 0;
  for (size_t i = 0; i < n; ++i) max_depth = std::max(max_depth, depth[i] + (single_root ? 0 : 1));
  std::vector<double> ring(max_depth + 1, 0), need(max_depth + 1, 0), biggest(max_depth + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const int d = depth[i] + (single_root ? 0 : 1);
    const double r = svg::RadiusOf(in.models[i].popularity);
    need[d] += 2 * r + 6;
    biggest[d] = std::max(biggest[d], r);
  }
  // Labelled trees leave room for the labels between rings.
  const double step = n <= kLabelAll ? 150 : 40;
  for (int d = 1; d <= max_depth; ++d) {
    ring[d] = std::max({ring[d - 1] + biggest[d - 1] + biggest[d] + step, need[d] / (2 * kPi),
                        d == 1 ? 170.0 : 0.0});
  }
  std::function<void(size_t, double, double)> place = [&](size_t v, double a0, double a1) {
    double a = a0;
    for (size_t c : kids[v]) {
      const double span = (a1 - a0) * leaves[c] / leaves[v];
      const double mid = a + span / 2;
      const int d = depth[c] + (single_root ? 0 : 1);
      pos[c] = {ring[d] * std::cos(mid), ring[d] * std::sin(mid), mid};
      place(c, a, a + span);
      a += span;
    }
  };
  // Start at the top and go clockwise (SVG's y points down).
  place(n, -kPi / 2, 3 * kPi / 2);
  return pos;
}

}  // namespace

std::string AtlasSvg(const ReportInput& in) {
  const size_t n = in.models.size();
  const std::vector<Placed> pos = Layout(in);
  const int chosen = in.has_search ? in.search.chosen : -1;
  const int popular = MostPopular(in);
  const std::vector<uint32_t> gems = HiddenGems(in);
  auto is_gem = [&](size_t i) { return std::find(gems.begin(), gems.end(), i) != gems.end(); };
  bool any_parent = false;
  for (const auto& m : in.models) any_parent |= m.parent >= 0;

  // Bounds: nodes, their labels (about 6.5 px per character at 11 px), rings.
  double x0 = -60, x1 = 60, y0 = -60, y1 = 60;
  std::vector<std::string> labels(n);
  for (size_t i = 0; i < n; ++i) {
    const ModelPoint& m = in.models[i];
    const bool marked =
        static_cast<int>(i) == chosen || static_cast<int>(i) == popular || is_gem(i);
    if (n <= kLabelAll || marked) {
      std::string l = m.name;
      if (m.has_accuracy()) l += " " + svg::Pct(m.accuracy());
      if (static_cast<int>(i) == chosen) l = "FOUND: " + l;
      if (static_cast<int>(i) == popular) l = "MOST POPULAR: " + l;
      if (is_gem(i)) l = "\xE2\x98\x85 " + l;  // the star
      labels[i] = l;
    }
    const double r = svg::RadiusOf(m.popularity) + 10;
    const double w = labels[i].empty() ? 0 : labels[i].size() * 6.0 + 6;
    const double lx = std::cos(pos[i].angle), ly = std::sin(pos[i].angle);
    if (std::hypot(pos[i].x, pos[i].y) < 1) {  // the centre: label below
      x0 = std::min(x0, pos[i].x - std::max(r, w / 2));
      x1 = std::max(x1, pos[i].x + std::max(r, w / 2));
      y0 = std::min(y0, pos[i].y - r);
      y1 = std::max(y1, pos[i].y + r + 18);
    } else {  // labels run outward along the radius
      const double ex = pos[i].x + (r + w) * lx, ey = pos[i].y + (r + w) * ly;
      x0 = std::min({x0, pos[i].x - r, ex - 8});
      x1 = std::max({x1, pos[i].x + r, ex + 8});
      y0 = std::min({y0, pos[i].y - r, ey - 8});
      y1 = std::max({y1, pos[i].y + r, ey + 8});
    }
  }
  const double legend_h = 90;
  const double width = std::max(x1 - x0 + 40, 640.0), height = y1 - y0 + 40 + legend_h;
  const double ox = -x0 + 20, oy = -y0 + 20;

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure atlas\" role=\"img\" "
       "aria-labelledby=\"atlas-title atlas-desc\" viewBox=\"0 0 " +
       Num(width) + " " + Num(height) + "\" width=\"" + Num(std::min(width, 1100.0)) + "\">";
  s += "<title id=\"atlas-title\">Tree atlas of " + Escape(in.tree) + " on " + Escape(in.task) +
       "</title>";
  std::string desc = std::to_string(n) + " models" +
                     (any_parent ? ", each linked to its parent" : " (the tree names no parents)") +
                     "; marker area grows with downloads (log scale), shape shows the kind, colour "
                     "the accuracy.";
  if (chosen >= 0) desc += " Found: " + in.models[chosen].name + ".";
  if (popular >= 0) desc += " Most popular: " + in.models[popular].name + ".";
  if (!gems.empty()) {
    desc += " Hidden gems:";
    for (uint32_t g : gems) desc += " " + in.models[g].name;
    desc += ".";
  }
  desc += " The table 'Every model' lists the same numbers.";
  s += "<desc id=\"atlas-desc\">" + Escape(desc) + "</desc>";
  s += svg::Defs("atlas");
  s += "<g transform=\"translate(" + Num(ox) + " " + Num(oy) + ")\">";
  // Links first, under the nodes.
  s += "<g class=\"links\" stroke=\"#9aa0a6\" stroke-width=\"1\">";
  for (size_t i = 0; i < n; ++i) {
    const int p = in.models[i].parent;
    if (p < 0 || p >= static_cast<int>(n)) continue;
    s += "<line x1=\"" + Num(pos[p].x) + "\" y1=\"" + Num(pos[p].y) + "\" x2=\"" + Num(pos[i].x) +
         "\" y2=\"" + Num(pos[i].y) + "\"/>";
  }
  s += "</g>";
  // Nodes: least popular last would hide the small ones under the big; draw big first.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return in.models[a].popularity > in.models[b].popularity;
  });
  s += "<g class=\"nodes\">";
  for (size_t i : order) {
    const ModelPoint& m = in.models[i];
    const double r = svg::RadiusOf(m.popularity);
    const double x = pos[i].x, y = pos[i].y;
    s += "<g class=\"node\" data-model=\"" + Escape(m.name) + "\" data-index=\"" +
         std::to_string(m.index) + "\"><title>" + Escape(svg::Describe(in, m)) + "</title>";
    const std::string stroke = m.has_accuracy() ? "stroke=\"#222\" stroke-width=\"0.8\""
                                                : "stroke=\"#555\" stroke-dasharray=\"2 2\"";
    s += svg::Marker(m.kind, x, y, r, "fill=\"" + svg::FillOf(m) + "\" " + stroke);
    if (static_cast<int>(i) == chosen) {
      s += "<circle class=\"found-ring\" cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"" +
           Num(r + 5) + "\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"3\"/>";
    }
    if (static_cast<int>(i) == popular) {
      s += "<circle class=\"popular-ring\" cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"" +
           Num(r + (static_cast<int>(i) == chosen ? 9 : 5)) +
           "\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>";
    }
    if (is_gem(i)) {
      s += "<text class=\"gem-star\" x=\"" + Num(x + r * 0.8 + 2) + "\" y=\"" + Num(y - r * 0.8) +
           "\" font-size=\"14\" text-anchor=\"middle\">&#9733;</text>";
    }
    if (!labels[i].empty()) {
      const bool bold =
          static_cast<int>(i) == chosen || static_cast<int>(i) == popular || is_gem(i);
      s += "<text class=\"label\" font-size=\"11\"";
      s += bold ? " font-weight=\"bold\"" : "";
      if (std::hypot(x, y) < 1) {  // the centre: below the marker
        s += " x=\"" + Num(x) + "\" y=\"" + Num(y + r + 14) + "\" text-anchor=\"middle\"";
      } else {  // along the radius, outward, never upside down
        const double a = pos[i].angle, lx = std::cos(a), ly = std::sin(a);
        const double tx = x + (r + 5) * lx, ty = y + (r + 5) * ly;
        const bool left = lx < 0;
        const double deg = a * 180 / kPi + (left ? 180 : 0);
        s += " x=\"" + Num(tx) + "\" y=\"" + Num(ty) + "\" dy=\"0.35em\" text-anchor=\"" +
             (left ? "end" : "start") + "\" transform=\"rotate(" + Num(deg) + " " + Num(tx) + " " +
             Num(ty) + ")\"";
      }
      s += ">" + Escape(labels[i]) + "</text>";
    }
    s += "</g>";
  }
  s += "</g></g>";
  s += svg::ColourLegend("atlas", 20, height - legend_h + 22, 200);
  s += svg::ShapeLegend(in, 20, height - legend_h + 58, true);
  s += "</svg>";
  return s;
}

}  // namespace gem::report
