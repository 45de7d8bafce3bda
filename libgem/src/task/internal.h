// Copyright the gem authors. Shared internals of the task part (private).
#ifndef GEM_TASK_INTERNAL_H_
#define GEM_TASK_INTERNAL_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gem/grader.h"
#include "gem/status.h"
#include "gem/task.h"

namespace gem::task {

using Json = nlohmann::json;

// Budgets from the paper's Appendix C.
inline constexpr uint32_t kShortAnswerTokens = 50;
inline constexpr uint32_t kLongAnswerTokens = 512;

// Calls fn(line_number (1-based), parsed object) for each non-blank line of a JSONL file.
// Corruption names the file and line for unparsable JSON or a non-object line; a Status
// returned by fn stops the walk and is returned with "path:line" context.
Status ForEachJsonLine(const std::string& path,
                       const std::function<Status(size_t, const Json&)>& fn);
Status ForEachJsonLineInText(std::string_view text, std::string_view origin,
                             const std::function<Status(size_t, const Json&)>& fn);

// Reads a required string member; Corruption naming the key otherwise.
Result<std::string> GetString(const Json& obj, const char* key);

// Canonical JSON text (sorted keys, compact): what GraderSpec::params holds.
std::string Canonical(const Json& j);

// Sets q.digest and applies options.max_new_tokens.
void Finalize(Query& q, const TaskOptions& options);

// Keeps the first options.size (or `default_size` when 0) queries of a seeded order of `rows`.
std::vector<Query> OrderAndTrim(std::vector<Query> rows, const TaskOptions& options,
                                uint32_t default_size = 0);

// The built-in benchmarks: all rows of the source file in file order (not yet ordered).
// `dir` is the tasks folder. Each checks the row count against data/tasks/README.md.
Result<std::vector<Query>> LoadGsm8kRows(const std::string& dir, const TaskOptions& options);
Result<std::vector<Query>> LoadArcRows(const std::string& dir, const TaskOptions& options);
Result<std::vector<Query>> LoadMmluRows(const std::string& dir, const TaskOptions& options);
Result<std::vector<Query>> LoadWinograndeRows(const std::string& dir, const TaskOptions& options);
Result<std::vector<Query>> LoadMbppRows(const std::string& dir, const TaskOptions& options);
Result<std::shared_ptr<const Task>> LoadRouterBench(const std::string& dir,
                                                    const TaskOptions& options);

// Deterministic 64-bit seed derived from a parent seed and a label.
uint64_t DeriveSeed(uint64_t seed, std::string_view label);

// Graders: each grades one output with params already parsed.
Result<Grade> GradeChoice(const Query& q, std::string_view out, const Json& params);
Result<Grade> GradeWinogrande(const Query& q, std::string_view out, const Json& params);
Result<Grade> GradeGsm8k(const Query& q, std::string_view out, const Json& params);
Result<Grade> GradeMbpp(const Query& q, std::string_view out, const Json& params,
                        const SandboxHost& host);
Result<Grade> GradeExact(const Query& q, std::string_view out, const Json& params);
Result<Grade> GradeRegex(const Query& q, std::string_view out, const Json& params);
Result<Grade> GradeNumeric(const Query& q, std::string_view out, const Json& params);

// Parameter reading with type checks (InvalidArgument naming grader and key).
Result<bool> ParamBool(const Json& p, const char* grader, const char* key, bool def);
Result<std::string> ParamString(const Json& p, const char* grader, const char* key,
                                std::string def);
Result<double> ParamNumber(const Json& p, const char* grader, const char* key, double def);
Result<std::vector<std::string>> ParamStrings(const Json& p, const char* grader, const char* key);
// InvalidArgument when `p` has a key outside `allowed`.
Status CheckKeys(const Json& p, const char* grader, std::initializer_list<const char*> allowed);

// Shortens text for a reason string: one line, at most `max` bytes, with an ellipsis.
std::string Snippet(std::string_view text, size_t max = 60);

// Parses a number as the graders read it (commas, "$" and a trailing "." dropped).
bool ParseNumber(std::string_view text, double* value);

}  // namespace gem::task

#endif  // GEM_TASK_INTERNAL_H_
