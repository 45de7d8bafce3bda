// Copyright the gem authors.
#include "tokenizer/spm_scores.h"

#include <queue>

#include "tokenizer/text_util.h"

namespace gem::tok {

void SpmScoresEncode(std::string_view text, const TokenMap& vocab, std::span<const float> scores,
                     const std::array<int32_t, 256>& byte_ids, int32_t unk_id,
                     std::vector<int32_t>* out) {
  struct Sym {
    int prev, next;
    size_t off, len;  // len 0 = merged away
  };
  std::vector<Sym> syms;
  for (size_t off = 0; off < text.size();) {
    const size_t len =
        std::min(Utf8SeqLen(static_cast<unsigned char>(text[off])), text.size() - off);
    const int i = static_cast<int>(syms.size());
    syms.push_back(Sym{i - 1, off + len < text.size() ? i + 1 : -1, off, len});
    off += len;
  }
  if (syms.empty()) return;

  struct Bigram {
    float score;
    int left, right;
    size_t size;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::string_view piece = text.substr(syms[l].off, syms[l].len + syms[r].len);
    const int32_t id = Lookup(vocab, piece);
    if (id < 0 || static_cast<size_t>(id) >= scores.size()) return;
    queue.push(Bigram{scores[id], l, r, piece.size()});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Sym& l = syms[b.left];
    Sym& r = syms[b.right];
    // Stale when either side already merged into something else.
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int i = 0; i >= 0; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].off, syms[i].len);
    const int32_t id = Lookup(vocab, piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    for (unsigned char c : piece) out->push_back(byte_ids[c] >= 0 ? byte_ids[c] : unk_id);
  }
}

}  // namespace gem::tok
