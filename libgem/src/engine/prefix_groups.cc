// Copyright the gem authors. Shared prompt prefixes (see prefix_groups.h).
//
// Sorting puts prompts with long common prefixes next to each other, and the longest prefix a
// contiguous run of sorted prompts shares is the minimum of the common prefix lengths of its
// neighbouring pairs. A dynamic programme over the sorted order then picks the cut into runs
// that saves the most prefill tokens (quadratic in the run lengths only: a run stops growing
// where a neighbour shares fewer than min_shared tokens).
#include "engine/prefix_groups.h"

#include <algorithm>
#include <numeric>

#include "gem/generate.h"

namespace gem {

std::vector<PrefixGroup> FindPrefixGroups(std::span<const GenerateRequest> requests, int min_shared,
                                          std::vector<int>* group_of) {
  const size_t n = requests.size();
  group_of->assign(n, -1);
  std::vector<PrefixGroup> groups;
  if (min_shared <= 0 || n < 2) return groups;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const GenerateRequest& x = requests[a];
    const GenerateRequest& y = requests[b];
    if (x.adapter_slot != y.adapter_slot) return x.adapter_slot < y.adapter_slot;
    if (x.prompt != y.prompt) return x.prompt < y.prompt;
    return a < b;
  });
  // lcp[k]: tokens shared by sorted neighbours k-1 and k, at most both lengths minus one.
  std::vector<int> lcp(n, 0);
  for (size_t k = 1; k < n; ++k) {
    const GenerateRequest& x = requests[order[k - 1]];
    const GenerateRequest& y = requests[order[k]];
    if (x.adapter_slot != y.adapter_slot) continue;
    const size_t cap = std::min(x.prompt.size(), y.prompt.size()) - 1;
    size_t l = 0;
    while (l < cap && x.prompt[l] == y.prompt[l]) ++l;
    lcp[k] = static_cast<int>(l);
  }
  // best[j]: most tokens saved over sorted[0, j); cut[j]: where the last run starts.
  std::vector<int64_t> best(n + 1, 0);
  std::vector<size_t> cut(n + 1, 0);
  std::vector<int> cut_len(n + 1, 0);
  for (size_t j = 1; j <= n; ++j) {
    best[j] = best[j - 1];  // sorted[j - 1] alone
    cut[j] = j - 1;
    int run_min = 1 << 30;
    // Run sorted[i - 1 .. j - 1]; runs of more than kMaxRun prompts are cut (one more prefill of
    // the prefix per kMaxRun prompts) to keep this linear in large calls.
    constexpr size_t kMaxRun = 4096;
    for (size_t i = j - 1; i > 0 && j - i < kMaxRun; --i) {
      run_min = std::min(run_min, lcp[i]);
      if (run_min < min_shared) break;
      const int64_t saved = best[i - 1] + static_cast<int64_t>(j - i) * run_min;
      if (saved > best[j]) {
        best[j] = saved;
        cut[j] = i - 1;
        cut_len[j] = run_min;
      }
    }
  }
  for (size_t j = n; j > 0; j = cut[j]) {
    if (j - cut[j] < 2) continue;
    PrefixGroup g;
    g.length = cut_len[j];
    for (size_t k = cut[j]; k < j; ++k) g.members.push_back(order[k]);
    std::sort(g.members.begin(), g.members.end());
    groups.push_back(std::move(g));
  }
  std::reverse(groups.begin(), groups.end());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t m : groups[g].members) (*group_of)[m] = static_cast<int>(g);
  }
  return groups;
}

}  // namespace gem
