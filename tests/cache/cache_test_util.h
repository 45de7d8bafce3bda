// Copyright the gem authors. Helpers for the cache tests: temp directories, digests, a counting
// matrix evaluator.
#ifndef GEM_TESTS_CACHE_TEST_UTIL_H_
#define GEM_TESTS_CACHE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gem/cache.h"
#include "gem/evaluator.h"

namespace gem::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gem-cache-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Digest D(const std::string& s) { return Sha256(s); }

inline std::vector<Digest> Digests(const std::string& prefix, uint32_t n) {
  std::vector<Digest> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(D(prefix + std::to_string(i)));
  return out;
}

// A 0/1 matrix from a seed: answer[m][q].
inline std::vector<std::vector<uint8_t>> RandomMatrix(uint32_t models, uint32_t queries,
                                                      uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint8_t>> m(models, std::vector<uint8_t>(queries));
  for (auto& row : m)
    for (auto& c : row) c = static_cast<uint8_t>(rng() % 3 != 0);
  return m;
}

// Answers from a matrix and counts what it was asked. Details are derived from the pair, so a
// test can check that the cache returns what the evaluator produced.
class CountingMatrixEvaluator : public Evaluator {
 public:
  explicit CountingMatrixEvaluator(std::vector<std::vector<uint8_t>> m) : m_(std::move(m)) {}
  uint32_t num_models() const override { return static_cast<uint32_t>(m_.size()); }
  uint32_t num_queries() const override {
    return m_.empty() ? 0 : static_cast<uint32_t>(m_[0].size());
  }
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override {
    ++calls;
    if (fail_next) {
      fail_next = false;
      return Status::Aborted("evaluation", "cancelled by the test");
    }
    if (details) details->assign(requests.size(), {});
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& r = requests[i];
      ++evaluated;
      asked.push_back(r);
      outcomes[i].correct = m_[r.model][r.query];
      outcomes[i].from_cache = 0;
      if (details) (*details)[i] = DetailFor(r);
    }
    return Status::OK();
  }
  static EvalDetail DetailFor(const EvalRequest& r) {
    EvalDetail d;
    d.output =
        "answer of model " + std::to_string(r.model) + " to query " + std::to_string(r.query);
    d.reason = "graded m" + std::to_string(r.model) + " q" + std::to_string(r.query);
    d.tokens_in = 10 + r.query;
    d.tokens_out = 3 + r.model;
    d.seconds = 0.25f;
    d.variant = static_cast<uint8_t>(r.query % 2);
    return d;
  }
  uint8_t answer(uint32_t m, uint32_t q) const { return m_[m][q]; }

  uint64_t calls = 0;
  uint64_t evaluated = 0;
  bool fail_next = false;
  std::vector<EvalRequest> asked;

 private:
  std::vector<std::vector<uint8_t>> m_;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_CACHE_TEST_UTIL_H_
