// Copyright the gem authors. cache_bench: write, MultiGet, CachedEvaluator-repeat and stats
// throughput of the RocksDB result cache on this machine. Not a test; prints figures.
//
//   cache_bench [--results N] [--batch B] [--sync 0|1] [--dir PATH]
//
// Writes N results in PutBatch calls of B (as CachedEvaluator does per evaluator batch), looks
// them all up again in MultiGet batches of B, runs a fully cached CachedEvaluator repeat over a
// models x queries grid, and times Stats(). The directory (default: a fresh one under $TMPDIR)
// is removed afterwards unless --dir is given.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gem/cache.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Answers everything correct; counts calls (the repeat must make none).
class AllCorrect : public gem::Evaluator {
 public:
  AllCorrect(uint32_t m, uint32_t q) : m_(m), q_(q) {}
  uint32_t num_models() const override { return m_; }
  uint32_t num_queries() const override { return q_; }
  gem::Status Evaluate(std::span<const gem::EvalRequest> r, std::span<gem::EvalOutcome> o,
                       std::vector<gem::EvalDetail>* d) override {
    ++calls;
    for (auto& x : o) x.correct = 1;
    if (d) d->assign(r.size(), gem::EvalDetail{"an answer of some forty bytes, #### 42", "ok"});
    return gem::Status::OK();
  }
  uint64_t calls = 0;

 private:
  uint32_t m_, q_;
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 200000;
  uint32_t batch = 500;
  bool sync = true;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--results"))
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--batch"))
      batch = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--sync"))
      sync = std::strcmp(argv[i + 1], "0") != 0;
    else if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--results N] [--batch B] [--sync 0|1] [--dir PATH]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool temp = dir.empty();
  if (temp) {
    std::string t = (std::filesystem::temp_directory_path() / "gem-cache-bench-XXXXXX").string();
    if (!mkdtemp(t.data())) return 1;
    dir = t + "/db";
  }
  gem::StoreOptions so;
  so.sync = sync;
  auto cache = gem::Cache::Open(dir, so);
  if (!cache.ok()) {
    std::fprintf(stderr, "%s\n", cache.status().ToString().c_str());
    return 1;
  }
  gem::Cache& c = **cache;
  const gem::Digest config = gem::Sha256("bench config"), task = gem::Sha256("bench task");
  auto key = [&](uint64_t i) {
    return gem::ResultKey{gem::Sha256("m" + std::to_string(i % 100)),
                          gem::Sha256("q" + std::to_string(i / 100)), config};
  };
  std::printf("cache_bench: %llu results, batch %u, sync %d, dir %s\n",
              static_cast<unsigned long long>(n), batch, sync ? 1 : 0, dir.c_str());

  auto t0 = std::chrono::steady_clock::now();
  std::vector<gem::ResultKey> keys;
  std::vector<gem::CachedResult> vals;
  for (uint64_t i = 0; i < n;) {
    keys.clear();
    vals.clear();
    for (uint32_t j = 0; j < batch && i < n; ++j, ++i) {
      keys.push_back(key(i));
      gem::CachedResult r;
      r.correct = i % 2;
      r.output = "an answer of some forty bytes, #### " + std::to_string(i);
      r.output_bytes = r.output.size();
      r.reason = "expected 42";
      vals.push_back(std::move(r));
    }
    gem::Status s = c.PutBatch(keys, vals, &task);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  double w = Seconds(t0);
  std::printf("write:    %.2f s, %.0f results/s (%.0f batches/s)\n", w, n / w,
              (n + batch - 1) / batch / w);

  t0 = std::chrono::steady_clock::now();
  uint64_t found = 0;
  std::vector<std::optional<gem::CachedResult>> got;
  for (uint64_t i = 0; i < n;) {
    keys.clear();
    for (uint32_t j = 0; j < batch && i < n; ++j, ++i) keys.push_back(key(i));
    gem::Status s = c.MultiGet(keys, &got);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    for (auto& g : got) found += g.has_value();
  }
  double r = Seconds(t0);
  std::printf("multiget: %.2f s, %.0f lookups/s, %llu/%llu found\n", r, n / r,
              static_cast<unsigned long long>(found), static_cast<unsigned long long>(n));

  // A fully cached repeat of a 100-model search over the first n/100 queries.
  const uint32_t models = 100, queries = static_cast<uint32_t>(std::min<uint64_t>(n / 100, 2000));
  std::vector<gem::Digest> md, qd;
  for (uint32_t m = 0; m < models; ++m) md.push_back(gem::Sha256("m" + std::to_string(m)));
  for (uint32_t q = 0; q < queries; ++q) qd.push_back(gem::Sha256("q" + std::to_string(q)));
  AllCorrect inner(models, queries);
  gem::CachedEvaluator ev(&c, &inner, md, qd, config);
  std::vector<gem::EvalRequest> req;
  for (uint32_t q = 0; q < queries; ++q)
    for (uint32_t m = 0; m < models; ++m) req.push_back({m, q});
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < req.size(); i += batch) {
    size_t len = std::min<size_t>(batch, req.size() - i);
    std::vector<gem::EvalOutcome> out(len);
    gem::Status s = ev.Evaluate(std::span(req).subspan(i, len), out, nullptr);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  double e = Seconds(t0);
  std::printf(
      "repeat:   %.2f s for %zu requests via CachedEvaluator, %.0f/s; inner calls %llu, "
      "cached %llu\n",
      e, req.size(), req.size() / e, static_cast<unsigned long long>(inner.calls),
      static_cast<unsigned long long>(ev.evaluations_cached()));

  t0 = std::chrono::steady_clock::now();
  auto st = c.Stats();
  double sts = Seconds(t0);
  if (!st.ok()) return std::fprintf(stderr, "%s\n", st.status().ToString().c_str()), 1;
  std::printf("stats:    %.2f s; %llu results, %.1f MiB on disk (%.0f bytes/result)\n", sts,
              static_cast<unsigned long long>(st->results), st->size_on_disk_bytes / 1048576.0,
              static_cast<double>(st->size_on_disk_bytes) / std::max<uint64_t>(1, st->results));
  cache->reset();
  if (temp) std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  return 0;
}
