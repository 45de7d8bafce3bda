// Copyright the gem authors. A small RAII wrapper over PCRE2 for the graders (private).
//
// Patterns are compiled with PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, so model output that is not
// valid UTF-8 (a byte-level tokenizer can produce that) is searched, never rejected.
// Thread-safety: a compiled Regex is immutable; matching allocates its own match data, so one
// Regex may be used from many threads.
#ifndef GEM_TASK_REGEX_H_
#define GEM_TASK_REGEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem::task {

class Regex {
 public:
  // One match: group 0 is the whole match; an unset group has start == npos.
  struct Span {
    size_t start = std::string_view::npos;
    size_t end = std::string_view::npos;
    bool set() const { return start != std::string_view::npos; }
  };
  using Match = std::vector<Span>;

  // `flags` are extra PCRE2 compile options (e.g. PCRE2_CASELESS, PCRE2_DOTALL,
  // PCRE2_MULTILINE). InvalidArgument names the pattern and PCRE2's message.
  static Result<Regex> Compile(std::string_view pattern, uint32_t flags = 0);
  // For patterns written in the source: aborts on a compile error (a programming error).
  static Regex MustCompile(std::string_view pattern, uint32_t flags = 0);

  // All non-overlapping matches, left to right (at most `limit`).
  std::vector<Match> FindAll(std::string_view subject, size_t limit = SIZE_MAX) const;
  // The first match, or an empty vector.
  Match FindFirst(std::string_view subject) const;

  uint32_t group_count() const { return groups_; }

  // The text of group `g` of `m` in `subject` ("" when unset).
  static std::string_view Group(std::string_view subject, const Match& m, size_t g);

 private:
  std::shared_ptr<void> code_;  // pcre2_code_8*
  uint32_t groups_ = 0;
};

}  // namespace gem::task

#endif  // GEM_TASK_REGEX_H_
