// Copyright the gem authors. SVG and HTML helpers of the report (svg.h).
#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gem::report::svg {

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::string Pct(double f) {
  if (!std::isfinite(f)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * f);
  return buf;
}

std::string Count(double v) {
  if (v < 0 || !std::isfinite(v)) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string digits = buf, out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Viridis(double t) {
  // Nine samples of matplotlib's viridis, interpolated linearly in sRGB.
  static constexpr unsigned kStops[9] = {0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e,
                                         0x1f9e89, 0x35b779, 0x6ece58, 0xfde725};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(7, static_cast<int>(t));
  const double f = t - i;
  auto ch = [&](int shift) {
    const double a = (kStops[i] >> shift) & 0xff, b = (kStops[i + 1] >> shift) & 0xff;
    return static_cast<int>(std::lround(a + (b - a) * f));
  };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", ch(16), ch(8), ch(0));
  return buf;
}

std::string Marker(const std::string& kind, double x, double y, double r,
                   const std::string& attrs) {
  const double pi = 3.14159265358979323846;
  if (kind == "adapter") {  // a square of the circle's area
    const double h = r * std::sqrt(pi) / 2;
    return "<rect x=\"" + Num(x - h) + "\" y=\"" + Num(y - h) + "\" width=\"" + Num(2 * h) +
           "\" height=\"" + Num(2 * h) + "\" " + attrs + "/>";
  }
  if (kind == "quantization" || kind == "merge") {
    std::string pts;
    if (kind == "quantization") {  // an equilateral triangle of the circle's area
      const double s = r * std::sqrt(4 * pi / std::sqrt(3.0));
      const double h = s * std::sqrt(3.0) / 2;
      pts = Num(x) + "," + Num(y - 2 * h / 3) + " " + Num(x - s / 2) + "," + Num(y + h / 3) + " " +
            Num(x + s / 2) + "," + Num(y + h / 3);
    } else {  // a diamond (square on its corner) of the circle's area
      const double d = r * std::sqrt(pi / 2);
      pts = Num(x) + "," + Num(y - d) + " " + Num(x + d) + "," + Num(y) + " " + Num(x) + "," +
            Num(y + d) + " " + Num(x - d) + "," + Num(y);
    }
    return "<polygon points=\"" + pts + "\" " + attrs + "/>";
  }
  return "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"" + Num(r) + "\" " + attrs + "/>";
}

std::string Defs(const std::string& p) {
  std::string s = "<defs>";
  s += "<pattern id=\"" + p +
       "-hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" "
       "stroke=\"#b8860b\" stroke-width=\"2\" stroke-opacity=\"0.45\"/></pattern>";
  s += "<linearGradient id=\"" + p + "-grad\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">";
  for (int i = 0; i <= 8; ++i) {
    s += "<stop offset=\"" + Num(12.5 * i) + "%\" stop-color=\"" + Viridis(i / 8.0) + "\"/>";
  }
  s += "</linearGradient></defs>";
  return s;
}

std::string ColourLegend(const std::string& p, double x, double y, double w) {
  std::string s = "<g class=\"legend colour-legend\" font-size=\"11\">";
  s += "<text x=\"" + Num(x) + "\" y=\"" + Num(y - 6) + "\">colour: accuracy</text>";
  s += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(w) +
       "\" height=\"10\" fill=\"url(#" + p + "-grad)\" stroke=\"#333\" stroke-width=\"0.5\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double tx = x + w * i / 4;
    s += "<line x1=\"" + Num(tx) + "\" x2=\"" + Num(tx) + "\" y1=\"" + Num(y + 10) + "\" y2=\"" +
         Num(y + 14) + "\" stroke=\"#333\"/>";
    s += "<text x=\"" + Num(tx) + "\" y=\"" + Num(y + 25) + "\" text-anchor=\"middle\">" +
         std::to_string(25 * i) + "%</text>";
  }
  s += Marker("finetune", x + w + 20, y + 5, 5,
              "fill=\"none\" stroke=\"#333\" stroke-dasharray=\"2 2\"");
  s +=
      "<text x=\"" + Num(x + w + 30) + "\" y=\"" + Num(y + 9) + "\">hollow: no accuracy yet</text>";
  s += "</g>";
  return s;
}

std::string ShapeLegend(const ReportInput& in, double x, double y, bool rings) {
  std::string s = "<g class=\"legend shape-legend\" font-size=\"11\">";
  double cx = x;
  for (const char* k : kKinds) {
    bool present = false;
    for (const auto& m : in.models) present |= m.kind == k;
    if (!present) continue;
    s += Marker(k, cx + 6, y, 6, "fill=\"#ddd\" stroke=\"#333\"");
    const std::string label = std::string(k) == "finetune" ? "fine-tune" : k;
    s += "<text x=\"" + Num(cx + 16) + "\" y=\"" + Num(y + 4) + "\">" + label + "</text>";
    cx += 24 + 7 * label.size();
  }
  if (rings) {
    cx = x;
    const double ry = y + 20;
    s += "<circle cx=\"" + Num(cx + 6) + "\" cy=\"" + Num(ry) +
         "\" r=\"6\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"3\"/>";
    s += "<text x=\"" + Num(cx + 16) + "\" y=\"" + Num(ry + 4) + "\">found (thick ring)</text>";
    cx += 130;
    s += "<circle cx=\"" + Num(cx + 6) + "\" cy=\"" + Num(ry) +
         "\" r=\"6\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" "
         "stroke-dasharray=\"3 2\"/>";
    s += "<text x=\"" + Num(cx + 16) + "\" y=\"" + Num(ry + 4) +
         "\">most popular (dashed ring)</text>";
    cx += 170;
    s += "<text x=\"" + Num(cx + 6) + "\" y=\"" + Num(ry + 5) +
         "\" text-anchor=\"middle\" font-size=\"14\">&#9733;</text>";
    s += "<text x=\"" + Num(cx + 16) + "\" y=\"" + Num(ry + 4) + "\">hidden gem (star)</text>";
  }
  s += "</g>";
  return s;
}

double RadiusOf(double popularity) {
  if (popularity < 0 || !std::isfinite(popularity)) return 3;
  return 3 + 3.2 * std::log10(1 + popularity);
}

std::string FillOf(const ModelPoint& m) {
  return m.has_accuracy() ? Viridis(m.accuracy()) : std::string("none");
}

std::string Describe(const ReportInput& in, const ModelPoint& m) {
  std::string s = m.name + " (" + (m.kind.empty() ? "kind unknown" : m.kind) + "): ";
  s += m.popularity < 0 ? "downloads unknown" : Count(m.popularity) + " downloads";
  if (m.all_known) {
    s += ", accuracy " + Pct(m.accuracy()) + " over all " + std::to_string(m.all_queries) +
         " queries (" + std::to_string(m.all_correct) + "/" + std::to_string(m.all_queries) + ")";
  }
  if (m.seen_queries > 0) {
    s += std::string(m.all_known ? "; " : ", accuracy ") + "seen by the search " +
         Pct(double(m.seen_correct) / m.seen_queries) + " (" + std::to_string(m.seen_correct) +
         "/" + std::to_string(m.seen_queries) + ")";
  }
  if (!m.has_accuracy()) s += ", not evaluated";
  (void)in;
  return s;
}

}  // namespace gem::report::svg
