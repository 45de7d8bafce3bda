// Copyright the gem authors. The numeric grader for custom tasks ("numeric").
//
// A number is an optional sign, digits with optional thousands commas, an optional fraction and
// exponent ("-1,234.5e3"); "$" before it is allowed. Correct when
// |pred - ref| <= max(abs_tol, rel_tol * |ref|), abs_tol defaulting to 1e-6.
#include <algorithm>
#include <cmath>

#include "task/internal.h"
#include "task/regex.h"

namespace gem::task {

Result<Grade> GradeNumeric(const Query& q, std::string_view out, const Json& params) {
  auto ex = ParamString(params, "numeric", "extract", "last");
  auto abs_tol = ParamNumber(params, "numeric", "abs_tol", 1e-6);
  auto rel_tol = ParamNumber(params, "numeric", "rel_tol", 0);
  if (!ex.ok()) return ex.status();
  if (!abs_tol.ok()) return abs_tol.status();
  if (!rel_tol.ok()) return rel_tol.status();
  double ref;
  if (!ParseNumber(q.reference, &ref)) {
    return Status::InvalidArgument("query " + q.id, "reference '" + q.reference + "' is not a number");
  }
  Grade g;
  if (out.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    g.reason = "empty output";
    return g;
  }
  static const Regex number = Regex::MustCompile(
      "(?<![0-9.])-?\\$?(?:[0-9][0-9,]*(?:\\.[0-9]+)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?");
  auto all = number.FindAll(out);
  if (*ex == "last") std::reverse(all.begin(), all.end());
  for (const auto& m : all) {
    std::string_view s = Regex::Group(out, m, 0);
    double v;
    if (!ParseNumber(s, &v)) continue;
    g.extracted = std::string(s);
    double tol = std::max(*abs_tol, *rel_tol * std::fabs(ref));
    g.correct = std::fabs(v - ref) <= tol;
    g.reason = (g.correct ? "answered " : "expected " + q.reference + ", answered ") +
               g.extracted + " (" + *ex + " number)";
    return g;
  }
  g.reason = "no number found in \"" + Snippet(out) + "\"";
  return g;
}

}  // namespace gem::task
