// Copyright the gem authors. The engine of the UCB family: pull the arm of largest index, one
// query at a time, until the budget is spent.
//
// Speed (docs/SEARCH.md, "ucb, ucb_e, ucb_stddev"): a naive argmax is O(K) per pull, which over a
// replay (up to 90,000 pulls per search, 11,000 searches) is too slow. A tournament tree holds
// every arm's index, so a pull costs O(log K): only the pulled arm's index changes... except that
// UCB indices also depend on the total pull count t through log t. We freeze log t and rebuild the
// tree (O(K)) whenever t has grown by 5% since the last rebuild; log t then moves by at most
// log(1.05) / log t, under 1% for t >= 200, so the arm pulled is the exact UCB choice up to
// that relative perturbation of the exploration bonus.
#ifndef GEM_SEARCH_INDEX_POLICY_H_
#define GEM_SEARCH_INDEX_POLICY_H_

#include <cmath>
#include <limits>
#include <vector>

#include "search/search_internal.h"

namespace gem::search_internal {

// Max-tree over K values; ties go to the higher priority. O(log K) update, O(1) argmax.
class ArgmaxTree {
 public:
  ArgmaxTree(const std::vector<uint32_t>& priority) : priority_(priority) {
    size_ = 1;
    while (size_ < priority.size()) size_ *= 2;
    value_.assign(priority.size(), -std::numeric_limits<double>::infinity());
    node_.assign(2 * size_, kNone);
    for (size_t i = 0; i < priority.size(); ++i) node_[size_ + i] = static_cast<uint32_t>(i);
    for (size_t i = size_ - 1; i >= 1; --i) node_[i] = Win(node_[2 * i], node_[2 * i + 1]);
  }
  void Set(uint32_t arm, double v) {
    value_[arm] = v;
    for (size_t i = (size_ + arm) / 2; i >= 1; i /= 2)
      node_[i] = Win(node_[2 * i], node_[2 * i + 1]);
  }
  // Sets many values, then rebuilds once.
  template <typename F>
  void SetAll(F&& f) {
    for (uint32_t a = 0; a < value_.size(); ++a) value_[a] = f(a);
    for (size_t i = size_ - 1; i >= 1; --i) node_[i] = Win(node_[2 * i], node_[2 * i + 1]);
  }
  uint32_t Best() const { return node_[1]; }
  double BestValue() const { return value_[node_[1]]; }

 private:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  uint32_t Win(uint32_t a, uint32_t b) const {
    if (a == kNone) return b;
    if (b == kNone) return a;
    if (value_[a] != value_[b]) return value_[a] > value_[b] ? a : b;
    return priority_[a] > priority_[b] ? a : b;
  }
  const std::vector<uint32_t>& priority_;
  size_t size_;
  std::vector<double> value_;
  std::vector<uint32_t> node_;
};

// index(run, arm, log_t): the arm's index (only arms with 0 < pulls < Q are asked).
using IndexFn = double (*)(const SearchRun& run, uint32_t arm, double log_t);

// Pulls every arm once, then the arm of largest index until the budget is spent (an arm that has
// answered every query is retired). `depends_on_t`: the index uses log t (rebuild as above).
// Recommends the most-pulled arm (ties: higher mean, then random), the recommendation Bubeck,
// Munos and Stoltz (2009) study for UCB in pure exploration.
Status RunIndexPolicy(SearchRun* run, IndexFn index, bool depends_on_t);

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_INDEX_POLICY_H_
