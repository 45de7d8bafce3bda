// Copyright the gem authors.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "task/regex.h"

#include <pcre2.h>

#include <cstdio>
#include <cstdlib>

namespace gem::task {

Result<Regex> Regex::Compile(std::string_view pattern, uint32_t flags) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | flags, &err, &off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return Status::InvalidArgument(
        "regex '" + std::string(pattern) + "'",
        std::string(reinterpret_cast<char*>(buf)) + " at offset " + std::to_string(off));
  }
  Regex r;
  r.code_ = std::shared_ptr<void>(code, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
  uint32_t n = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
  r.groups_ = n;
  return r;
}

Regex Regex::MustCompile(std::string_view pattern, uint32_t flags) {
  auto r = Compile(pattern, flags);
  if (!r.ok()) {
    std::fprintf(stderr, "gem: built-in %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

std::vector<Regex::Match> Regex::FindAll(std::string_view subject, size_t limit) const {
  std::vector<Match> out;
  auto* code = static_cast<pcre2_code*>(code_.get());
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  size_t pos = 0;
  while (pos <= subject.size() && out.size() < limit) {
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), pos,
                         0, md, nullptr);
    if (rc < 0) break;  // no match (or a match error, e.g. a resource limit): stop
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    Match m(groups_ + 1);
    for (uint32_t g = 0; g <= groups_ && g < static_cast<uint32_t>(rc); ++g) {
      if (ov[2 * g] != PCRE2_UNSET) m[g] = {ov[2 * g], ov[2 * g + 1]};
    }
    size_t end = ov[1];
    out.push_back(std::move(m));
    // An empty match must not loop: step past it (a whole UTF-8 character when possible).
    if (end == ov[0]) {
      ++end;
      while (end < subject.size() && (static_cast<unsigned char>(subject[end]) & 0xC0) == 0x80) ++end;
    }
    pos = end;
  }
  pcre2_match_data_free(md);
  return out;
}

Regex::Match Regex::FindFirst(std::string_view subject) const {
  auto all = FindAll(subject, 1);
  return all.empty() ? Match{} : std::move(all[0]);
}

std::string_view Regex::Group(std::string_view subject, const Match& m, size_t g) {
  if (g >= m.size() || !m[g].set()) return {};
  return subject.substr(m[g].start, m[g].end - m[g].start);
}

}  // namespace gem::task
