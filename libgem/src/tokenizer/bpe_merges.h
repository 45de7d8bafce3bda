// Copyright the gem authors. BPE merge table and the merge loop (tokenizer.json "merges",
// GGUF tokenizer.ggml.merges).
#ifndef GEM_TOKENIZER_BPE_MERGES_H_
#define GEM_TOKENIZER_BPE_MERGES_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gem::tok {

class BpeMerges {
 public:
  // Declares that adjacent tokens (left, right) merge into `merged` with priority `rank`
  // (lower merges first). A pair seen twice keeps its first (lowest) rank, as HF does.
  void Add(int32_t left, int32_t right, int32_t merged, int32_t rank);
  size_t size() const { return map_.size(); }
  void Reserve(size_t n) { map_.reserve(n); }

  // Merges `ids` in place: repeatedly replaces the adjacent pair of lowest rank by its merged
  // token, the leftmost pair first on equal ranks, until no pair has a merge. O(n log n).
  void Apply(std::vector<int32_t>* ids) const;

 private:
  static uint64_t Key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  // (left, right) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> map_;
};

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_BPE_MERGES_H_
