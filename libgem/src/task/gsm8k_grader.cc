// Copyright the gem authors. The GSM8K number grader ("gsm8k").
//
// Rules (EVAL_CONVENTIONS.md §1 and §8): "strict" is the dataset's own `#### N` (first match);
// "flexible" then tries "The (final) answer is N" (last match; what our prompt asks for), a
// \boxed{N}, and finally lm-evaluation-harness's flexible-extract regex
// `(-?[$0-9.,]{2,})|(-?[0-9]+)`, taking the last match that reads as a number (the harness takes
// the last match even when it is "..." - we skip such non-numbers).
#include <cmath>

#include "task/internal.h"
#include "task/regex.h"

namespace gem {

std::string ExtractGsm8kNumber(std::string_view output, bool strict_only, std::string* rule) {
  double v;
  static const task::Regex strict = task::Regex::MustCompile("#### (\\-?[0-9\\.\\,]+)");
  for (const auto& m : strict.FindAll(output)) {
    std::string_view s = task::Regex::Group(output, m, 1);
    if (task::ParseNumber(s, &v)) {
      if (rule) *rule = "####";
      std::string n(s);
      std::erase(n, ',');
      while (!n.empty() && n.back() == '.') n.pop_back();
      return n;
    }
  }
  if (!strict_only) {
    static const task::Regex answer_is = task::Regex::MustCompile(
        "(?i)the (?:final )?answer is:?\\s*\\**\\s*\\$?\\s*(-?[0-9][0-9,]*(?:\\.[0-9]+)?)");
    static const task::Regex boxed =
        task::Regex::MustCompile("\\\\boxed\\{\\s*\\$?(-?[0-9][0-9,]*(?:\\.[0-9]+)?)\\s*\\}");
    static const task::Regex flexible = task::Regex::MustCompile("(-?[$0-9.,]{2,})|(-?[0-9]+)");
    struct R {
      const task::Regex* re;
      const char* name;
    };
    for (R r : {R{&answer_is, "answer-is"}, R{&boxed, "boxed"}, R{&flexible, "last-number"}}) {
      auto all = r.re->FindAll(output);
      for (auto it = all.rbegin(); it != all.rend(); ++it) {
        std::string_view s = task::Regex::Group(output, *it, 1);
        if (s.empty()) s = task::Regex::Group(output, *it, 2);
        if (!task::ParseNumber(s, &v)) continue;
        if (rule) *rule = r.name;
        std::string n;
        for (char c : s) {
          if (c != ',' && c != '$') n.push_back(c);
        }
        while (!n.empty() && n.back() == '.') n.pop_back();
        return n;
      }
    }
  }
  if (rule) rule->clear();
  return "";
}

namespace task {

Result<Grade> GradeGsm8k(const Query& q, std::string_view out, const Json& params) {
  auto mode = ParamString(params, "gsm8k", "mode", "flexible");
  if (!mode.ok()) return mode.status();
  Grade g;
  if (out.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    g.reason = "empty output";
    return g;
  }
  double gold;
  if (!ParseNumber(q.reference, &gold)) {
    return Status::InvalidArgument("query " + q.id, "reference '" + q.reference + "' is not a number");
  }
  std::string rule;
  g.extracted = ExtractGsm8kNumber(out, *mode == "strict", &rule);
  if (g.extracted.empty()) {
    g.reason = std::string(*mode == "strict" ? "no \"#### N\" answer" : "no number") +
               " found in \"" + Snippet(out) + "\"";
    return g;
  }
  double pred = 0;
  ParseNumber(g.extracted, &pred);
  g.correct = std::fabs(pred - gold) < 1e-6;
  g.reason = (g.correct ? "answered " : "expected " + q.reference + ", answered ") + g.extracted +
             " (rule: " + rule + ")";
  return g;
}

}  // namespace task
}  // namespace gem
