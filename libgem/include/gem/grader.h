// Copyright the gem authors. Graders: did a model's output answer a query correctly?
//
// A grade depends on nothing but the query (its reference and GraderSpec, settings included)
// and the output text: no clock, no randomness, no host state. The sandbox host settings
// (where python is, what to hide) change where code runs, never the verdict.
//
// Graders and their params (GraderSpec::params, a JSON object; every key optional):
//   "choice"      multiple-choice letter extraction.
//                 {"letters": "ABCD", "texts": ["option A text", ...]}
//                 Rules, first that applies (Grade::reason names it): "answer is X" / "Answer: X"
//                 / "option X"; a letter leading the output ("B", "(B)", "B. text", "**B**");
//                 \boxed{X}; "(X)" anywhere; the output naming exactly one option's text; the
//                 first standalone option letter (not an article "A" followed by a word).
//   "winogrande"  the WinoGrande option: as "choice" with letters "AB" and the two option
//                 names as texts, so "B", "Answer: B" and "Maria" (option 2) all read as B.
//   "gsm8k"       the number: {"mode": "flexible"} (default) tries the strict "#### N" first,
//                 then "The (final) answer is N", then the last number in the output;
//                 {"mode": "strict"} accepts only "#### N". Commas, "$" and a trailing "."
//                 are dropped; compared numerically (|pred - gold| < 1e-6).
//   "mbpp"        execution: the code (between [BEGIN] and [DONE], else the first ``` block,
//                 else the whole output) then the asserts (the reference), run by RunPython.
//                 {"setup": "code run after the solution, before the asserts",
//                  "imports": ["import re", ...],
//                  "timeout_ms": 3000, "memory_mb": 1024}
//   "exact"       {"ignore_case": false, "ignore_punctuation": false,
//                  "scope": "full" | "first_line" | "prefix"} on whitespace-trimmed text.
//   "regex"       {"pattern": PCRE2, "ignore_case": false, "select": "first" | "last",
//                  "match_only": false}: group 1 (or the whole match) of the selected match
//                 must equal the reference (trimmed); with match_only a match is enough.
//   "numeric"     {"extract": "last" | "first", "abs_tol": 1e-6, "rel_tol": 0}: a number in
//                 the output compared with the reference number.
//
// Thread-safety: all functions here are thread-safe.
#ifndef GEM_GRADER_H_
#define GEM_GRADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "gem/sandbox.h"
#include "gem/status.h"
#include "gem/task.h"

namespace gem {

struct Grade {
  bool correct = false;
  std::string reason;     // one line for people, e.g. "expected 18, got 17 (rule: ####)"
  std::string extracted;  // what the grader read from the output ("" when nothing)
};

// Grades `output` for `query`. An output the grader cannot read (empty, malformed, crashing
// code, a sandbox violation) is a Grade with correct == false and the reason, not an error.
// Errors: InvalidArgument for an unknown grader or bad params (naming them); the sandbox's own
// errors (it could not start python) for "mbpp".
Result<Grade> GradeOutput(const Query& query, std::string_view output,
                          const SandboxHost& host = SandboxHost());

// Checks a GraderSpec's name and params without grading (custom task loading uses it).
Status ValidateGraderSpec(const GraderSpec& spec);

// The grader names GradeOutput knows.
std::vector<std::string> GraderNames();

// Extractors, exposed for tests and for tools that show what a grader read.
//   ExtractChoice: the letter picked by the "choice" rules, "" when none; *rule gets its name.
std::string ExtractChoice(std::string_view output, std::string_view letters,
                          const std::vector<std::string>& texts, std::string* rule);
//   ExtractGsm8kNumber: the normalised number string, "" when none; *rule gets its name.
std::string ExtractGsm8kNumber(std::string_view output, bool strict_only, std::string* rule);
//   ExtractCode: the Python code in a model's answer to an MBPP prompt.
std::string ExtractCode(std::string_view output);

}  // namespace gem

#endif  // GEM_GRADER_H_
