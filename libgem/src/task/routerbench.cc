// Copyright the gem authors. routerbench: the paper's query pool, a seeded subsample of the five.
//
// The paper subsamples RouterBench to 2,500 queries "allocat[ing] the budget uniformly across
// the tasks (ARC-C, Winogrande, MMLU, MBPP, and GSM8K)", each drawn at random. RouterBench's own
// pickles are not available offline, so we draw from the same five benchmarks directly:
// size/5 queries from each (the remainder goes one each to the first benchmarks in the order
// above), each benchmark's draw being the first k of its seeded order under
// DeriveSeed(seed, "routerbench/<benchmark>"); the union is then put in the seeded order of
// `seed` itself. Query ids and digests are those of the source benchmarks.
#include "task/internal.h"

namespace gem::task {

inline constexpr uint32_t kRouterBenchDefaultSize = 2500;

Result<std::shared_ptr<const Task>> LoadRouterBench(const std::string& dir,
                                                    const TaskOptions& options) {
  using Loader = Result<std::vector<Query>> (*)(const std::string&, const TaskOptions&);
  const std::pair<const char*, Loader> sources[] = {
      {"arc_challenge", LoadArcRows}, {"winogrande", LoadWinograndeRows},
      {"mmlu", LoadMmluRows},         {"mbpp", LoadMbppRows},
      {"gsm8k", LoadGsm8kRows},
  };
  const uint32_t total = options.size != 0 ? options.size : kRouterBenchDefaultSize;
  const uint32_t n = std::size(sources);
  std::vector<Query> pool;
  for (uint32_t i = 0; i < n; ++i) {
    auto rows = sources[i].second(dir, options);
    if (!rows.ok()) return rows.status().WithContext("routerbench");
    uint32_t want = total / n + (i < total % n ? 1 : 0);
    if (want > rows->size()) {
      return Status::InvalidArgument(
          "routerbench size " + std::to_string(total),
          std::string("needs ") + std::to_string(want) + " queries from " + sources[i].first +
              ", which has " + std::to_string(rows->size()));
    }
    TaskOptions sub = options;
    sub.seed = DeriveSeed(options.seed, std::string("routerbench/") + sources[i].first);
    sub.size = want;
    for (auto& q : OrderAndTrim(std::move(rows).value(), sub)) pool.push_back(std::move(q));
  }
  TaskOptions all = options;
  all.size = 0;
  return std::make_shared<const Task>("routerbench", OrderAndTrim(std::move(pool), all));
}

}  // namespace gem::task
