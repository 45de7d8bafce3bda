// Copyright the gem authors. Helper process for crash_test.cc: writes results forever and prints
// the number of each completed write on stdout, until the test SIGKILLs it.
//
//   cache_crash_writer DB_PATH put|evaluator SYNC(0|1)
//
// put:       result i = key (model i%5, query i, config), Cache::Put, then prints i.
// evaluator: a CachedEvaluator over a counting matrix evaluator; batch b asks models 0..7 x
//            queries 5b..5b+4, then prints b.
// It stops by itself after a bound so that a broken test cannot leave it running.
#include <cstdio>
#include <cstring>
#include <string>

#include "cache_test_util.h"
#include "gem/cache.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB_PATH put|evaluator SYNC\n", argv[0]);
    return 2;
  }
  gem::StoreOptions so;
  so.sync = std::strcmp(argv[3], "1") == 0;
  auto cache = gem::Cache::Open(argv[1], so);
  if (!cache.ok()) {
    std::fprintf(stderr, "%s\n", cache.status().ToString().c_str());
    return 1;
  }
  const std::string mode = argv[2];
  const gem::Digest config = gem::Sha256("crash config");
  const gem::Digest task = gem::Sha256("crash task");
  if (mode == "put") {
    for (int i = 0; i < 200000; ++i) {
      gem::ResultKey key{gem::Sha256("model" + std::to_string(i % 5)),
                         gem::Sha256("query" + std::to_string(i)), config};
      gem::CachedResult r;
      r.correct = i % 2;
      r.output = "result " + std::to_string(i);
      r.output_bytes = r.output.size();
      gem::Status s = (*cache)->Put(key, r, &task);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      std::printf("%d\n", i);
      std::fflush(stdout);
    }
  } else if (mode == "evaluator") {
    constexpr uint32_t kModels = 8, kQueries = 50000;
    gem::testing::CountingMatrixEvaluator inner(gem::testing::RandomMatrix(kModels, kQueries, 5));
    gem::CachedEvaluatorOptions o;
    o.task = task;
    gem::CachedEvaluator ev(cache->get(), &inner, gem::testing::Digests("model", kModels),
                            gem::testing::Digests("query", kQueries), config, o);
    for (uint32_t b = 0; b < kQueries / 5; ++b) {
      std::vector<gem::EvalRequest> req;
      for (uint32_t m = 0; m < kModels; ++m)
        for (uint32_t q = 5 * b; q < 5 * b + 5; ++q) req.push_back({m, q});
      std::vector<gem::EvalOutcome> out(req.size());
      gem::Status s = ev.Evaluate(req, out, nullptr);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      std::printf("%u\n", b);
      std::fflush(stdout);
    }
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
