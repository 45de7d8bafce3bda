// Copyright the gem authors. GSM8K: grade-school math word problems, graded by the final number.
//
// Prompt: zero-shot, the instruction of lm-evaluation-harness `gsm8k_cot_llama` (its doc_to_text,
// verbatim), which asks the model to end with "The final answer is N". Stop strings follow the
// harness's `until` (a model that starts a new problem is cut there).
#include "task/internal.h"
#include "gem/prompt.h"

namespace gem::task {

inline constexpr size_t kGsm8kTestRows = 1319;

Result<std::vector<Query>> LoadGsm8kRows(const std::string& dir, const TaskOptions& options) {
  const std::string path = dir + "/gsm8k/test.jsonl";
  std::vector<Query> rows;
  Status s = ForEachJsonLine(path, [&](size_t, const Json& j) -> Status {
    auto question = GetString(j, "question");
    if (!question.ok()) return question.status();
    auto answer = GetString(j, "answer");
    if (!answer.ok()) return answer.status();
    size_t mark = answer->rfind("#### ");
    if (mark == std::string::npos) return Status::Corruption("answer has no \"#### \" line");
    std::string gold;
    for (char c : answer->substr(mark + 5)) {
      if (c != ',' && c != '\n' && c != '\r' && c != ' ') gold.push_back(c);
    }
    Query q;
    q.id = "gsm8k/" + std::to_string(rows.size());
    q.source = "gsm8k";
    q.user = "Given the following problem, reason and give a final answer to the problem.\n"
             "Problem: " + *question +
             "\nYour response should end with \"The final answer is [answer]\" where [answer] "
             "is the response to the problem.\n";
    q.system = std::string(kFallbackSystemPrompt);
    q.reference = gold;
    q.grader = {"gsm8k", Canonical(Json{{"mode", "flexible"}})};
    q.max_new_tokens = kLongAnswerTokens;
    q.stop = {"Problem:", "Question:", "</s>", "<|im_end|>"};
    Finalize(q, options);
    rows.push_back(std::move(q));
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.size() != kGsm8kTestRows) {
    return Status::Corruption(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                                        std::to_string(kGsm8kTestRows));
  }
  return rows;
}

}  // namespace gem::task
