// Copyright the gem authors. Key layouts of the cache's families (internal; docs/CACHE.md).
//
//   results     model(32) query(32) config(32)                    -> CachedResult (msgpack)
//   labels      kind(1) digest(32)                                -> name (UTF-8)
//   task_index  task(32) 'q' query(32)                            -> ordinal (4 bytes, BE)
//               task(32) 'r' config(32) model(32) query(32)       -> "" (a result of the task)
#ifndef GEM_CACHE_KEYS_H_
#define GEM_CACHE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gem/cache.h"
#include "gem/digest.h"
#include "gem/store.h"

namespace gem::cache_keys {

inline constexpr char kTaskQuery = 'q';
inline constexpr char kTaskResult = 'r';

inline std::string LabelKey(LabelKind kind, const Digest& d) {
  std::string k(1, static_cast<char>(kind));
  k.append(d.Bytes());
  return k;
}

inline std::string TaskQueryPrefix(const Digest& task) {
  std::string k(task.Bytes());
  k.push_back(kTaskQuery);
  return k;
}
inline std::string TaskQueryKey(const Digest& task, const Digest& query) {
  return TaskQueryPrefix(task).append(query.Bytes());
}
inline std::string EncodeOrdinal(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return s;
}
inline uint32_t DecodeOrdinal(std::string_view s) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

inline std::string TaskResultPrefix(const Digest& task) {
  std::string k(task.Bytes());
  k.push_back(kTaskResult);
  return k;
}
inline std::string TaskResultPrefix(const Digest& task, const Digest& config) {
  return TaskResultPrefix(task).append(config.Bytes());
}
inline std::string TaskResultKey(const Digest& task, const ResultKey& key) {
  return TaskResultPrefix(task, key.config).append(key.model.Bytes()).append(key.query.Bytes());
}
// Parses a task-result key (33 + 96 bytes) back into a ResultKey.
inline bool ParseTaskResultKey(std::string_view k, ResultKey* out) {
  if (k.size() != 33 + 96 || k[32] != kTaskResult) return false;
  out->config = Digest::FromBytes(k.substr(33, 32));
  out->model = Digest::FromBytes(k.substr(65, 32));
  out->query = Digest::FromBytes(k.substr(97, 32));
  return true;
}

// Adds a result (and its task index entry) to a batch.
inline void AddResult(Store::Batch* b, const ResultKey& key, std::string_view encoded_value,
                      const Digest* task) {
  b->Put(Family::kResults, key.Encode(), encoded_value);
  if (task) b->Put(Family::kTaskIndex, TaskResultKey(*task, key), {});
}
inline void AddLabel(Store::Batch* b, LabelKind kind, const Digest& d, std::string_view name) {
  b->Put(Family::kLabels, LabelKey(kind, d), name);
}
inline void AddTaskQuery(Store::Batch* b, const Digest& task, const Digest& query,
                         uint32_t ordinal) {
  b->Put(Family::kTaskIndex, TaskQueryKey(task, query), EncodeOrdinal(ordinal));
}

}  // namespace gem::cache_keys

#endif  // GEM_CACHE_KEYS_H_
