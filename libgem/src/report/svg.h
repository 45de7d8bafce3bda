// Copyright the gem authors. Small helpers of the report's SVG and HTML writers.
#ifndef GEM_REPORT_SVG_H_
#define GEM_REPORT_SVG_H_

#include <string>
#include <string_view>

#include "gem/report.h"

namespace gem::report::svg {

// Text safe inside an element or a double-quoted attribute.
std::string Escape(std::string_view s);
// A coordinate or length with at most 1 decimal ("12.5", "3").
std::string Num(double v);
// "74.7%" (one decimal); "-" for NaN.
std::string Pct(double fraction);
// "184,203"; "?" when negative (unknown).
std::string Count(double v);
// The viridis colour map at t in [0, 1] (clamped), "#rrggbb". Perceptually uniform and readable
// by the colour-blind; the figures never rely on it alone.
std::string Viridis(double t);

// The marker of a model's kind, centred at (x, y), of radius-equivalent r (the same area as a
// circle of radius r): base and fine-tune circles, adapter squares, quantization triangles,
// merge diamonds. `attrs` is added to the element (fill, stroke, ...).
std::string Marker(const std::string& kind, double x, double y, double r, const std::string& attrs);
// The kinds in legend order and their names.
inline constexpr const char* kKinds[] = {"base", "finetune", "adapter", "quantization", "merge"};

// The shared <defs> of a figure: the hatching pattern (id prefix + "-hatch") and the colour
// gradient (prefix + "-grad").
std::string Defs(const std::string& prefix);
// The colour legend: a gradient bar from 0% to 100% accuracy with ticks, and a hollow marker
// for "no accuracy yet", at (x, y), width w.
std::string ColourLegend(const std::string& prefix, double x, double y, double w);
// The shape legend (one marker per kind present) and the ring legend (found, most popular,
// hidden gem) at (x, y), one row each, 16 px apart; returns the SVG.
std::string ShapeLegend(const ReportInput& in, double x, double y, bool rings);

// A marker's visual radius for a popularity (log scale); unknown popularity: the smallest.
double RadiusOf(double popularity);

// The fill of a model: its accuracy's colour, or "none" without accuracy.
std::string FillOf(const ModelPoint& m);

// One line for a model's tooltip and table: "name (kind): 184,203 downloads, accuracy 20.0%
// over all 150 queries (30/150)".
std::string Describe(const ReportInput& in, const ModelPoint& m);

}  // namespace gem::report::svg

#endif  // GEM_REPORT_SVG_H_
