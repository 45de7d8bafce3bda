// Copyright the gem authors. The regular-expression grader for custom tasks ("regex", PCRE2).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "task/internal.h"
#include "task/regex.h"

namespace gem::task {

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool EqualIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Grade> GradeRegex(const Query& q, std::string_view out, const Json& params) {
  auto pattern = ParamString(params, "regex", "pattern", "");
  auto ic = ParamBool(params, "regex", "ignore_case", false);
  auto sel = ParamString(params, "regex", "select", "first");
  auto only = ParamBool(params, "regex", "match_only", false);
  if (!pattern.ok()) return pattern.status();
  if (!ic.ok()) return ic.status();
  if (!sel.ok()) return sel.status();
  if (!only.ok()) return only.status();
  auto re = Regex::Compile(*pattern, *ic ? PCRE2_CASELESS : 0);
  if (!re.ok()) return re.status();
  Grade g;
  if (out.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    g.reason = "empty output";
    return g;
  }
  auto all = re->FindAll(out);
  if (all.empty()) {
    g.reason = "pattern did not match \"" + Snippet(out) + "\"";
    return g;
  }
  const auto& m = *sel == "last" ? all.back() : all.front();
  g.extracted = std::string(Regex::Group(out, m, re->group_count() >= 1 ? 1 : 0));
  if (*only) {
    g.correct = true;
    g.reason = "pattern matched \"" + Snippet(Regex::Group(out, m, 0)) + "\"";
    return g;
  }
  std::string got = Trim(g.extracted), want = Trim(q.reference);
  g.correct = *ic ? EqualIgnoreCase(got, want) : got == want;
  g.reason = g.correct ? "matched \"" + Snippet(got) + "\""
                       : "expected \"" + Snippet(want) + "\", matched \"" + Snippet(got) + "\"";
  return g;
}

}  // namespace gem::task
