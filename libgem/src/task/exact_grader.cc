// Copyright the gem authors. The exact-match grader for custom tasks ("exact").
//
// Both texts are trimmed and their whitespace runs collapsed to one space; then, as configured,
// lower-cased and stripped of ASCII punctuation. "first_line" compares the output's first
// non-empty line; "prefix" accepts an output that starts with the reference followed by a
// non-alphanumeric character or the end (OpenAI evals' Match, with a word boundary).
#include <cctype>

#include "task/internal.h"

namespace gem::task {

namespace {

std::string Normalize(std::string_view s, bool ignore_case, bool ignore_punct) {
  std::string o;
  bool space = false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      space = !o.empty();
      continue;
    }
    if (ignore_punct && std::ispunct(u)) continue;
    if (space) o.push_back(' ');
    space = false;
    o.push_back(ignore_case ? static_cast<char>(std::tolower(u)) : c);
  }
  return o;
}

}  // namespace

Result<Grade> GradeExact(const Query& q, std::string_view out, const Json& params) {
  auto ic = ParamBool(params, "exact", "ignore_case", false);
  auto ip = ParamBool(params, "exact", "ignore_punctuation", false);
  auto scope = ParamString(params, "exact", "scope", "full");
  if (!ic.ok()) return ic.status();
  if (!ip.ok()) return ip.status();
  if (!scope.ok()) return scope.status();
  Grade g;
  std::string_view text = out;
  if (*scope == "first_line") {
    size_t b = text.find_first_not_of(" \t\r\n");
    text = b == std::string_view::npos ? std::string_view() : text.substr(b);
    text = text.substr(0, text.find('\n'));
  }
  std::string got = Normalize(text, *ic, *ip);
  std::string want = Normalize(q.reference, *ic, *ip);
  g.extracted = got;
  if (got.empty()) {
    g.reason = "empty output";
    return g;
  }
  if (*scope == "prefix") {
    g.correct = got.compare(0, want.size(), want) == 0 &&
                (got.size() == want.size() ||
                 !std::isalnum(static_cast<unsigned char>(got[want.size()])));
  } else {
    g.correct = got == want;
  }
  g.reason = g.correct ? "matches \"" + Snippet(want) + "\" (" + *scope + ")"
                       : "expected \"" + Snippet(want) + "\", got \"" + Snippet(got) + "\" (" +
                             *scope + ")";
  return g;
}

}  // namespace gem::task
