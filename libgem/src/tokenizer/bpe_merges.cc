// Copyright the gem authors.
#include "tokenizer/bpe_merges.h"

#include <queue>

namespace gem::tok {

void BpeMerges::Add(int32_t left, int32_t right, int32_t merged, int32_t rank) {
  map_.try_emplace(Key(left, right), rank, merged);
}

void BpeMerges::Apply(std::vector<int32_t>* ids_ptr) const {
  std::vector<int32_t>& ids = *ids_ptr;
  const int n = static_cast<int>(ids.size());
  if (n < 2 || map_.empty()) return;

  // Symbols form a doubly linked list over positions; a merge keeps the left position and
  // unlinks the right one. Queue entries remember the ids they were made for, so entries made
  // stale by an earlier merge are recognised and dropped when popped.
  struct Cand {
    int32_t rank;
    int32_t pos;  // left position
    int32_t left_id, right_id, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<int32_t> prev(n), next(n);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  auto consider = [&](int l) {
    if (l < 0) return;
    const int r = next[l];
    if (r < 0) return;
    auto it = map_.find(Key(ids[l], ids[r]));
    if (it != map_.end()) {
      queue.push(Cand{it->second.first, l, ids[l], ids[r], it->second.second});
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);

  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    const int l = c.pos;
    if (!alive[l] || ids[l] != c.left_id) continue;
    const int r = next[l];
    if (r < 0 || ids[r] != c.right_id) continue;
    ids[l] = c.merged;
    alive[r] = 0;
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    consider(prev[l]);
    consider(l);
  }
  size_t w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) ids[w++] = ids[i];
  ids.resize(w);
}

}  // namespace gem::tok
