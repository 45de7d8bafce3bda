// Copyright the gem authors. Multiple-choice letter extraction ("choice").
//
// The rules follow the English patterns of OpenCompass's first_option_postprocess and the
// fallbacks of lm-evaluation-harness's Flan MultiChoiceRegexFilter (EVAL_CONVENTIONS.md §2.3,
// §2.4, §8), in an order that prefers an explicit statement over an incidental letter.
#include <algorithm>
#include <cctype>

#include "task/internal.h"
#include "task/regex.h"

namespace gem {

namespace {

// "A" followed by a lower-case word is usually the article ("A plant needs..."), not option A;
// these words after it still read as the option ("A is correct").
bool LooksLikeArticle(std::string_view out, size_t letter_pos, char letter) {
  if (letter != 'A' && letter != 'I') return false;
  size_t i = letter_pos + 1;
  if (i >= out.size() || out[i] != ' ') return false;
  size_t j = i + 1;
  size_t k = j;
  while (k < out.size() && std::islower(static_cast<unsigned char>(out[k]))) ++k;
  if (k == j) return false;
  std::string_view word = out.substr(j, k - j);
  for (std::string_view w : {"is", "was", "would", "should", "seems", "because", "since", "as",
                             "and", "or", "for"}) {
    if (word == w) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string NormText(std::string_view s) {
  std::string o = Lower(s);
  while (!o.empty() && (std::isspace(static_cast<unsigned char>(o.back())) || o.back() == '.')) {
    o.pop_back();
  }
  size_t b = o.find_first_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : o.substr(b);
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whether `needle` occurs in `hay` with no word character right before or after it.
bool ContainsWord(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return false;
  for (size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) {
    bool left = at == 0 || !IsWordChar(hay[at - 1]);
    size_t e = at + needle.size();
    bool right = e >= hay.size() || !IsWordChar(hay[e]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::string ExtractChoice(std::string_view output, std::string_view letters,
                          const std::vector<std::string>& texts, std::string* rule) {
  std::string cls = "[" + std::string(letters) + "]";
  struct Rule {
    const char* name;
    std::string pattern;
    bool check_article;
  };
  const Rule rules[] = {
      {"answer-is",
       "(?i:answer)(?:\\s+(?i:is|would be|should be))?\\s*(?:[:\\x{FF1A}]\\s*)?"
       "(?i:option\\s+)?[\\(\\[\\*]*(" + cls + ")(?![A-Za-z0-9])",
       false},
      {"leading-letter", "^\\s*[\\(\\[\\*]*(" + cls + ")(?![A-Za-z0-9'])", true},
      {"boxed", "\\\\boxed\\{\\s*(" + cls + ")\\s*\\}", false},
      {"parenthesized", "\\((" + cls + ")\\)", false},
  };
  for (const auto& r : rules) {
    task::Regex re = task::Regex::MustCompile(r.pattern);
    for (const auto& m : re.FindAll(output)) {
      char letter = output[m[1].start];
      if (r.check_article && LooksLikeArticle(output, m[1].start, letter)) continue;
      if (rule) *rule = r.name;
      return std::string(1, letter);
    }
  }
  // The output names exactly one option's text (longer texts win over ones they contain).
  if (!texts.empty()) {
    std::string hay = Lower(output);
    std::vector<size_t> hits;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (ContainsWord(hay, NormText(texts[i]))) hits.push_back(i);
    }
    std::vector<size_t> kept;
    for (size_t i : hits) {
      bool contained = false;
      for (size_t k : hits) {
        std::string a = NormText(texts[i]), b = NormText(texts[k]);
        if (k != i && b.size() > a.size() && b.find(a) != std::string::npos) contained = true;
      }
      if (!contained) kept.push_back(i);
    }
    if (kept.size() == 1 && kept[0] < letters.size()) {
      if (rule) *rule = "option-text";
      return std::string(1, letters[kept[0]]);
    }
  }
  task::Regex lone =
      task::Regex::MustCompile("(?<![A-Za-z0-9'])(" + cls + ")(?![A-Za-z0-9'])");
  for (const auto& m : lone.FindAll(output)) {
    char letter = output[m[1].start];
    if (LooksLikeArticle(output, m[1].start, letter)) continue;
    if (rule) *rule = "standalone-letter";
    return std::string(1, letter);
  }
  if (rule) rule->clear();
  return "";
}

namespace task {

Result<Grade> GradeLetters(const Query& q, std::string_view out, std::string_view letters,
                           const std::vector<std::string>& texts) {
  Grade g;
  if (out.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    g.reason = "empty output";
    return g;
  }
  std::string rule;
  g.extracted = ExtractChoice(out, letters, texts, &rule);
  if (g.extracted.empty()) {
    g.reason = "no option letter (" + std::string(letters) + ") found in \"" + Snippet(out) + "\"";
    return g;
  }
  g.correct = g.extracted == q.reference;
  g.reason = (g.correct ? "answered " : "expected " + q.reference + ", answered ") + g.extracted +
             " (rule: " + rule + ")";
  return g;
}

Result<Grade> GradeChoice(const Query& q, std::string_view out, const Json& params) {
  auto letters = ParamString(params, "choice", "letters", "ABCD");
  if (!letters.ok()) return letters.status();
  auto texts = ParamStrings(params, "choice", "texts");
  if (!texts.ok()) return texts.status();
  return GradeLetters(q, out, *letters, *texts);
}

}  // namespace task
}  // namespace gem
