// Copyright the gem authors.
#include "tokenizer/added_tokens.h"

#include <algorithm>

namespace gem::tok {

void AddedTokenMatcher::Add(std::string content, int32_t id, bool special) {
  if (content.empty()) return;
  auto& bucket = by_first_byte_[static_cast<unsigned char>(content[0])];
  for (const Entry& e : bucket) {
    if (e.content == content) return;  // first declaration wins
  }
  bucket.push_back(Entry{std::move(content), id, special});
  std::stable_sort(bucket.begin(), bucket.end(), [](const Entry& a, const Entry& b) {
    return a.content.size() > b.content.size();
  });
  ++count_;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::Split(std::string_view text,
                                                                 bool include_special) const {
  std::vector<Segment> out;
  size_t start = 0;  // start of the pending raw text
  size_t i = 0;
  while (i < text.size()) {
    const Entry* hit = nullptr;
    if (count_ > 0) {
      for (const Entry& e : by_first_byte_[static_cast<unsigned char>(text[i])]) {
        if (e.special && !include_special) continue;
        if (text.compare(i, e.content.size(), e.content) == 0) {
          hit = &e;  // longest first
          break;
        }
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    if (i > start) out.push_back(Segment{text.substr(start, i - start), -1});
    out.push_back(Segment{{}, hit->id});
    i += hit->content.size();
    start = i;
  }
  if (start < text.size()) out.push_back(Segment{text.substr(start), -1});
  return out;
}

}  // namespace gem::tok
