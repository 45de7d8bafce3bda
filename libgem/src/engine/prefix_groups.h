// Copyright the gem authors. Shared prompt prefixes of one Generate() call (not a public header).
//
// Prompts that begin with the same tokens (a system prompt, few-shot examples) have the same
// keys and values at those positions: each position's arithmetic depends only on the tokens up
// to it (the engine's per-row invariance). Generate() therefore prefills such a prefix once and
// copies its cache into every prompt of the group, which then prefills only its own tail.
#ifndef GEM_ENGINE_PREFIX_GROUPS_H_
#define GEM_ENGINE_PREFIX_GROUPS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gem {

struct GenerateRequest;

// Prompts that share their first `length` tokens (and their adapter slot).
struct PrefixGroup {
  int length = 0;               // >= min_shared, < every member's prompt length
  std::vector<size_t> members;  // request indices, ascending; at least two
};

// Partitions the requests into groups that maximise the prompt tokens saved, sum over groups of
// (members - 1) * length: requests sorted by (adapter slot, prompt), then cut into runs of
// neighbours, each run sharing the longest prefix common to all of it. A prefix shared by a
// subset of a larger group's members beyond the group's length is not shared further. Only
// groups of at least two prompts with length >= min_shared are returned (min_shared <= 0: none).
// A prefix never covers a whole prompt: its last token must run to produce logits.
// *group_of (resized to requests.size()) gets each request's group index, or -1.
std::vector<PrefixGroup> FindPrefixGroups(std::span<const GenerateRequest> requests, int min_shared,
                                          std::vector<int>* group_of);

}  // namespace gem

#endif  // GEM_ENGINE_PREFIX_GROUPS_H_
