// Copyright the gem authors. Fuzz target: custom task JSONL (docs/TASKS.md, gem-task/1), as
// tree.register receives it, then the queries' digests.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gem/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gem::TaskOptions options;
  auto t = gem::ParseCustomTask("fuzz", text, "fuzz.jsonl", options);
  if (!t.ok()) return 0;
  for (const auto& q : (*t)->queries()) (void)gem::QueryDigest(q);
  return 0;
}
