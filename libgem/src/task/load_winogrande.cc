// Copyright the gem authors. WinoGrande (dev, 1267): fill the blank with one of two names.
//
// Prompt: OpenCompass `winogrande_gen_458220` ("Question: <sentence with _>\nA. <option1>\n
// B. <option2>\nAnswer:", zero-shot). Graded by the "winogrande" option grader.
#include "task/choice_prompt.h"
#include "task/internal.h"
#include "gem/prompt.h"

namespace gem::task {

inline constexpr size_t kWinograndeDevRows = 1267;

Result<std::vector<Query>> LoadWinograndeRows(const std::string& dir, const TaskOptions& options) {
  const std::string path = dir + "/winogrande/dev.jsonl";
  std::vector<Query> rows;
  Status s = ForEachJsonLine(path, [&](size_t, const Json& j) -> Status {
    auto sentence = GetString(j, "sentence");
    if (!sentence.ok()) return sentence.status();
    auto o1 = GetString(j, "option1");
    if (!o1.ok()) return o1.status();
    auto o2 = GetString(j, "option2");
    if (!o2.ok()) return o2.status();
    auto answer = GetString(j, "answer");
    if (!answer.ok()) return answer.status();
    if (*answer != "1" && *answer != "2") return Status::Corruption("\"answer\" must be \"1\" or \"2\"");
    auto idx = j.find("idx");
    if (idx == j.end() || !idx->is_number_integer()) return Status::Corruption("missing \"idx\"");
    std::vector<std::string> texts = {*o1, *o2};
    Query q;
    q.id = "winogrande/" + std::to_string(idx->get<int64_t>());
    q.source = "winogrande";
    q.user = "Question: " + *sentence + "\n" + LetteredOptions(texts) + "\nAnswer:";
    q.system = std::string(kFallbackSystemPrompt);
    q.reference = *answer == "1" ? "A" : "B";
    q.grader = {"winogrande", Canonical(Json{{"texts", texts}})};
    q.max_new_tokens = kShortAnswerTokens;
    Finalize(q, options);
    rows.push_back(std::move(q));
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.size() != kWinograndeDevRows) {
    return Status::Corruption(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                                        std::to_string(kWinograndeDevRows));
  }
  return rows;
}

}  // namespace gem::task
