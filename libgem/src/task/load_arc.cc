// Copyright the gem authors. ARC-Challenge (test, 1172): grade-school science, multiple choice.
//
// Prompt: OpenCompass `ARC_c_gen_1e0de5` ("Question: ...\nA. ...\nB. ...\nAnswer:", zero-shot),
// with as many lettered options as the item has (3, 4 or 5). Items labelled "1".."4" are shown
// and graded as A..D by position, as lm-evaluation-harness's arc_challenge_chat does.
#include "task/choice_prompt.h"
#include "task/internal.h"
#include "gem/prompt.h"

namespace gem::task {

inline constexpr size_t kArcTestRows = 1172;

Result<std::vector<Query>> LoadArcRows(const std::string& dir, const TaskOptions& options) {
  const std::string path = dir + "/arc_challenge/ARC-Challenge-Test.jsonl";
  std::vector<Query> rows;
  Status s = ForEachJsonLine(path, [&](size_t, const Json& j) -> Status {
    auto id = GetString(j, "id");
    if (!id.ok()) return id.status();
    auto key = GetString(j, "answerKey");
    if (!key.ok()) return key.status();
    auto qit = j.find("question");
    if (qit == j.end() || !qit->is_object()) return Status::Corruption("missing \"question\"");
    auto stem = GetString(*qit, "stem");
    if (!stem.ok()) return stem.status();
    auto cit = qit->find("choices");
    if (cit == qit->end() || !cit->is_array() || cit->size() < 2) {
      return Status::Corruption("\"question.choices\" must list at least 2 choices");
    }
    std::vector<std::string> texts;
    int gold = -1;
    for (const auto& c : *cit) {
      auto text = GetString(c, "text");
      if (!text.ok()) return text.status();
      auto label = GetString(c, "label");
      if (!label.ok()) return label.status();
      if (*label == *key) gold = static_cast<int>(texts.size());
      texts.push_back(*text);
    }
    if (gold < 0) return Status::Corruption("answerKey '" + *key + "' is not a choice label");
    Query q;
    q.id = "arc_challenge/" + *id;
    q.source = "arc_challenge";
    q.user = "Question: " + *stem + "\n" + LetteredOptions(texts) + "\nAnswer:";
    q.system = std::string(kFallbackSystemPrompt);
    q.reference = std::string(1, static_cast<char>('A' + gold));
    q.grader = {"choice", Canonical(Json{{"letters", Letters(texts.size())}, {"texts", texts}})};
    q.max_new_tokens = kShortAnswerTokens;
    Finalize(q, options);
    rows.push_back(std::move(q));
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.size() != kArcTestRows) {
    return Status::Corruption(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                                        std::to_string(kArcTestRows));
  }
  return rows;
}

}  // namespace gem::task
