// Copyright the gem authors. MBPP (test, task_id 11-510): Python functions checked by asserts.
//
// Prompt: lm-evaluation-harness `mbpp_instruct` doc_to_text (verbatim, zero-shot; the harness
// primes the answer with a code fence, which a chat prompt cannot, so the grader extracts code
// from [BEGIN]/[DONE], a ``` block or the whole output). The reference is the three asserts;
// test_setup_code (task 367 only) runs between the solution and the asserts (it uses the
// solution's Node class); challenge_test_list is not used (as in LMEH).
#include "task/internal.h"
#include "gem/prompt.h"

namespace gem::task {

inline constexpr size_t kMbppTestRows = 500;
inline constexpr uint32_t kMbppTimeoutMs = 3000;  // HF code_eval's 3.0 s, as LMEH uses

Result<std::vector<Query>> LoadMbppRows(const std::string& dir, const TaskOptions& options) {
  const std::string path = dir + "/mbpp/mbpp_test.jsonl";
  std::vector<Query> rows;
  Status s = ForEachJsonLine(path, [&](size_t, const Json& j) -> Status {
    auto text = GetString(j, "text");
    if (!text.ok()) return text.status();
    auto tid = j.find("task_id");
    if (tid == j.end() || !tid->is_number_integer()) return Status::Corruption("missing \"task_id\"");
    auto tests = j.find("test_list");
    if (tests == j.end() || !tests->is_array() || tests->empty()) {
      return Status::Corruption("\"test_list\" must list asserts");
    }
    std::string asserts;
    for (const auto& t : *tests) {
      if (!t.is_string()) return Status::Corruption("\"test_list\" must list strings");
      asserts += (asserts.empty() ? "" : "\n") + t.get<std::string>();
    }
    std::string setup;
    if (auto it = j.find("test_setup_code"); it != j.end() && it->is_string()) setup = *it;
    Json params = {{"timeout_ms", kMbppTimeoutMs}};
    if (!setup.empty()) params["setup"] = setup;
    Query q;
    q.id = "mbpp/" + std::to_string(tid->get<int64_t>());
    q.source = "mbpp";
    q.user = "You are an expert Python programmer, and here is your task:\n" + *text +
             "\nYour code should pass these tests:\n" + asserts;
    q.system = std::string(kFallbackSystemPrompt);
    q.reference = asserts;
    q.grader = {"mbpp", Canonical(params)};
    q.max_new_tokens = kLongAnswerTokens;
    Finalize(q, options);
    rows.push_back(std::move(q));
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.size() != kMbppTestRows) {
    return Status::Corruption(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                                        std::to_string(kMbppTestRows));
  }
  return rows;
}

}  // namespace gem::task
