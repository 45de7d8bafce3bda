// Copyright the gem authors. Tasks: ordered lists of queries, each with a prompt and a grader.
//
// A task is what a search asks models about. Built in: the paper's five benchmarks (gsm8k,
// arc_challenge, mmlu, winogrande, mbpp; files under data/tasks/) and `routerbench`, a seeded
// subsample spread evenly over the five (2,500 queries by default). Users bring custom tasks as
// JSONL files (docs/TASKS.md, format "gem-task/1").
//
// Identity. A query's digest (Query::digest) is a SHA-256 over its content only: the prompt
// texts, the reference answer, the grader and its settings, the generation budget and stop
// strings, under the version tag kQueryDigestTag. Names and ids are labels, not identity: the
// same question in `gsm8k` and in `routerbench` has the same digest, so the result cache
// answers it once. docs/TASKS.md lists the fields in order; changing them is a format change.
//
// Order. A task's queries are in a seeded permutation of its source rows (SeededPermutation,
// below; the algorithm is fixed and documented, so the order is the same on every platform and
// release). A search that takes queries 0, 1, 2, ... of a task therefore lands on the same
// queries as any earlier search of that task with the same seed.
//
// Thread-safety: a Task is immutable after loading; const methods may be called concurrently.
#ifndef GEM_TASK_H_
#define GEM_TASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/digest.h"
#include "gem/status.h"

namespace gem {

// Version tag hashed first into every query digest. Do not change without a format bump.
inline constexpr std::string_view kQueryDigestTag = "gem.query.v1";

// Which grader judges a query, and how. `params` is canonical JSON (an object with sorted keys
// and no insignificant whitespace, as produced by the loaders); graders document their params
// in grader.h. Both fields enter the query digest.
struct GraderSpec {
  std::string name;    // "choice", "winogrande", "gsm8k", "mbpp", "exact", "regex", "numeric"
  std::string params = "{}";
};

struct Query {
  std::string id;         // stable label within its source, e.g. "gsm8k/17", "mbpp/11"
  std::string source;     // the benchmark (or custom task) the query came from
  std::string user;       // the user message
  std::string system;     // the system message of the "with system prompt" variant when the
                          // model's chat template has no default of its own (prompt.h)
  std::string reference;  // the gold answer: a letter, a number, or (mbpp) the asserts
  GraderSpec grader;
  uint32_t max_new_tokens = 0;
  std::vector<std::string> stop;  // generation stops before any of these strings
  Digest digest;                  // QueryDigest(*this), set by the loaders
};

// The content digest of `q` (ignores q.id, q.source and q.digest).
Digest QueryDigest(const Query& q);

// A permutation of 0..n-1 determined by `seed` alone: Fisher-Yates driven by SplitMix64
// (docs/TASKS.md gives the exact algorithm). Deterministic across platforms.
std::vector<uint32_t> SeededPermutation(uint32_t n, uint64_t seed);

struct TaskOptions {
  // Folder holding the benchmark files (gsm8k/test.jsonl, ...). Empty: DefaultTasksDir().
  std::string data_dir;
  // Seed of the task's order (and, for routerbench, of its subsample).
  uint64_t seed = 0;
  // Number of queries kept: the first `size` of the seeded order. 0 = all (routerbench: 2500).
  uint32_t size = 0;
  // Overrides every query's max_new_tokens when non-zero (the defaults are 50 for multiple
  // choice and short answers, 512 for gsm8k and mbpp). Changes the query digests.
  uint32_t max_new_tokens = 0;
};

class Task {
 public:
  Task(std::string name, std::vector<Query> queries);

  const std::string& name() const { return name_; }
  uint32_t size() const { return static_cast<uint32_t>(queries_.size()); }
  // REQUIRES: i < size(). Queries are in the task's (seeded) order.
  const Query& query(uint32_t i) const { return queries_[i]; }
  const std::vector<Query>& queries() const { return queries_; }

  // The position of a query named by its id ("gsm8k/17"), its digest in hex (64 characters,
  // or a unique prefix of at least 8), or "@N" (position N in the task's order).
  // NotFound when nothing matches; InvalidArgument when a digest prefix is ambiguous.
  Result<uint32_t> Find(std::string_view key) const;

  // A digest of the ordered query digests: the identity of this task instance.
  Digest digest() const;

 private:
  std::string name_;
  std::vector<Query> queries_;
};

// "gsm8k", "arc_challenge", "mmlu", "winogrande", "mbpp", "routerbench".
std::vector<std::string> BuiltinTaskNames();

// $GEM_TASKS_DIR when set, else the data/tasks folder of the source tree gem was built from.
std::string DefaultTasksDir();

// Loads a built-in task by name. Also accepted: "arc-challenge" and "arc_c" for arc_challenge.
// A name ending in ".jsonl" is loaded as a custom task file (LoadCustomTask, named after the
// file's stem). NotFound for an unknown name or a missing file; Corruption for a malformed row
// or a file whose row count differs from the expected one (data/tasks/README.md).
Result<std::shared_ptr<const Task>> LoadTask(std::string_view name, const TaskOptions& options);

// Loads a custom task from a JSONL file (docs/TASKS.md). Errors name the file and line.
Result<std::shared_ptr<const Task>> LoadCustomTask(std::string_view name,
                                                   const std::string& path,
                                                   const TaskOptions& options);

// As LoadCustomTask, from the file's text (for tests and for tasks sent over the wire).
// `origin` names the text in error messages.
Result<std::shared_ptr<const Task>> ParseCustomTask(std::string_view name, std::string_view text,
                                                    std::string_view origin,
                                                    const TaskOptions& options);

}  // namespace gem

#endif  // GEM_TASK_H_
