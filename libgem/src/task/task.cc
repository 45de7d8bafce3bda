// Copyright the gem authors. Task: ordered queries, their digests, and loading by name.
#include "gem/task.h"

#include <cstdlib>
#include <filesystem>
#include <unordered_map>

#include "task/internal.h"

#ifndef GEM_TASKS_DIR_DEFAULT
#define GEM_TASKS_DIR_DEFAULT "data/tasks"
#endif

namespace gem {

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose output sequence is fixed by its
// definition, unlike std:: distributions, so orders are the same everywhere.
struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, m) by rejection (no modulo bias). REQUIRES: m > 0.
  uint64_t Below(uint64_t m) {
    const uint64_t threshold = (0 - m) % m;  // 2^64 mod m
    for (;;) {
      uint64_t r = Next();
      if (r >= threshold) return r % m;
    }
  }
};

}  // namespace

Digest QueryDigest(const Query& q) {
  Hasher h;
  h.Field(kQueryDigestTag);
  h.Field(q.user).Field(q.system).Field(q.reference);
  h.Field(q.grader.name).Field(q.grader.params);
  h.Field(static_cast<uint64_t>(q.max_new_tokens));
  h.Field(static_cast<uint64_t>(q.stop.size()));
  for (const auto& s : q.stop) h.Field(s);
  return h.Finish();
}

std::vector<uint32_t> SeededPermutation(uint32_t n, uint64_t seed) {
  std::vector<uint32_t> p(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = i;
  SplitMix64 rng{seed};
  for (uint32_t i = n; i > 1; --i) {
    uint32_t j = static_cast<uint32_t>(rng.Below(i));
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

Task::Task(std::string name, std::vector<Query> queries)
    : name_(std::move(name)), queries_(std::move(queries)) {}

Result<uint32_t> Task::Find(std::string_view key) const {
  if (key.empty()) return Status::InvalidArgument("query key is empty");
  if (key[0] == '@') {
    char* end = nullptr;
    std::string num(key.substr(1));
    unsigned long long v = std::strtoull(num.c_str(), &end, 10);
    if (num.empty() || *end != '\0') {
      return Status::InvalidArgument(std::string(key), "expected @N with N a position");
    }
    if (v >= queries_.size()) {
      return Status::NotFound(std::string(key), "task '" + name_ + "' has " +
                                                    std::to_string(queries_.size()) + " queries");
    }
    return static_cast<uint32_t>(v);
  }
  for (uint32_t i = 0; i < queries_.size(); ++i) {
    if (queries_[i].id == key) return i;
  }
  bool hexish = key.size() >= 8 && key.size() <= 64 &&
                key.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (hexish) {
    int64_t found = -1;
    for (uint32_t i = 0; i < queries_.size(); ++i) {
      if (queries_[i].digest.Hex().compare(0, key.size(), key) == 0) {
        if (found >= 0 && queries_[found].digest != queries_[i].digest) {
          return Status::InvalidArgument(std::string(key), "digest prefix is ambiguous in task '" +
                                                               name_ + "'");
        }
        if (found < 0) found = i;
      }
    }
    if (found >= 0) return static_cast<uint32_t>(found);
  }
  return Status::NotFound(std::string(key), "no query with this id or digest in task '" + name_ +
                                                "' (ids look like '" +
                                                (queries_.empty() ? "" : queries_[0].id) + "')");
}

Digest Task::digest() const {
  Hasher h;
  h.Field("gem.task.v1").Field(static_cast<uint64_t>(queries_.size()));
  for (const auto& q : queries_) h.Field(q.digest.Bytes());
  return h.Finish();
}

std::vector<std::string> BuiltinTaskNames() {
  return {"gsm8k", "arc_challenge", "mmlu", "winogrande", "mbpp", "routerbench"};
}

std::string DefaultTasksDir() {
  const char* env = std::getenv("GEM_TASKS_DIR");
  if (env != nullptr && *env != '\0') return env;
  return GEM_TASKS_DIR_DEFAULT;
}

namespace task {

uint64_t DeriveSeed(uint64_t seed, std::string_view label) {
  Digest d = Hasher().Field("gem.seed.v1").Field(seed).Field(label).Finish();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(d.bytes[i]) << (8 * i);
  return v;
}

void Finalize(Query& q, const TaskOptions& options) {
  if (options.max_new_tokens != 0) q.max_new_tokens = options.max_new_tokens;
  q.digest = QueryDigest(q);
}

std::vector<Query> OrderAndTrim(std::vector<Query> rows, const TaskOptions& options,
                                uint32_t default_size) {
  auto perm = SeededPermutation(static_cast<uint32_t>(rows.size()), options.seed);
  uint32_t keep = options.size != 0 ? options.size : default_size;
  if (keep == 0 || keep > rows.size()) keep = static_cast<uint32_t>(rows.size());
  std::vector<Query> out;
  out.reserve(keep);
  for (uint32_t i = 0; i < keep; ++i) out.push_back(std::move(rows[perm[i]]));
  return out;
}

}  // namespace task

Result<std::shared_ptr<const Task>> LoadTask(std::string_view name, const TaskOptions& options) {
  std::string n(name);
  if (n.size() > 6 && n.ends_with(".jsonl")) {
    std::string stem = std::filesystem::path(n).stem().string();
    return LoadCustomTask(stem, n, options);
  }
  if (n == "arc-challenge" || n == "arc_c" || n == "arc") n = "arc_challenge";
  std::string dir = options.data_dir.empty() ? DefaultTasksDir() : options.data_dir;
  if (n == "routerbench") return task::LoadRouterBench(dir, options);
  Result<std::vector<Query>> rows = Status::NotFound("");
  if (n == "gsm8k") {
    rows = task::LoadGsm8kRows(dir, options);
  } else if (n == "arc_challenge") {
    rows = task::LoadArcRows(dir, options);
  } else if (n == "mmlu") {
    rows = task::LoadMmluRows(dir, options);
  } else if (n == "winogrande") {
    rows = task::LoadWinograndeRows(dir, options);
  } else if (n == "mbpp") {
    rows = task::LoadMbppRows(dir, options);
  } else {
    std::string known;
    for (const auto& b : BuiltinTaskNames()) known += (known.empty() ? "" : ", ") + b;
    return Status::NotFound("task '" + n + "'",
                            "not a built-in task (" + known + ") nor a .jsonl file");
  }
  if (!rows.ok()) return rows.status();
  return std::make_shared<const Task>(n, task::OrderAndTrim(std::move(rows).value(), options));
}

}  // namespace gem
