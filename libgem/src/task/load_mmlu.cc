// Copyright the gem authors. MMLU (test, 14042 over 57 subjects): multiple choice, A-D.
//
// Prompt: OpenCompass `mmlu_gen_4d595a` (its hint line and layout, verbatim, including the space
// after "Answer:"), zero-shot instead of its 5-shot dev prefix.
#include <map>

#include "task/choice_prompt.h"
#include "task/internal.h"
#include "gem/prompt.h"

namespace gem::task {

inline constexpr size_t kMmluTestRows = 14042;

Result<std::vector<Query>> LoadMmluRows(const std::string& dir, const TaskOptions& options) {
  const std::string path = dir + "/mmlu/test.jsonl";
  std::vector<Query> rows;
  std::map<std::string, size_t> per_subject;
  Status s = ForEachJsonLine(path, [&](size_t, const Json& j) -> Status {
    auto subject = GetString(j, "subject");
    if (!subject.ok()) return subject.status();
    auto question = GetString(j, "question");
    if (!question.ok()) return question.status();
    auto cit = j.find("choices");
    if (cit == j.end() || !cit->is_array() || cit->size() != 4) {
      return Status::Corruption("\"choices\" must list 4 strings");
    }
    std::vector<std::string> texts;
    for (const auto& c : *cit) {
      if (!c.is_string()) return Status::Corruption("\"choices\" must list 4 strings");
      texts.push_back(c.get<std::string>());
    }
    auto ait = j.find("answer");
    if (ait == j.end() || !ait->is_number_integer() || ait->get<int>() < 0 || ait->get<int>() > 3) {
      return Status::Corruption("\"answer\" must be an integer 0-3");
    }
    std::string topic = *subject;
    for (char& c : topic) c = c == '_' ? ' ' : c;
    Query q;
    q.id = "mmlu/" + *subject + "/" + std::to_string(per_subject[*subject]++);
    q.source = "mmlu";
    q.user = "There is a single choice question about " + topic +
             ". Answer the question by replying A, B, C or D.\nQuestion: " + *question + "\n" +
             LetteredOptions(texts) + "\nAnswer: ";
    q.system = std::string(kFallbackSystemPrompt);
    q.reference = std::string(1, static_cast<char>('A' + ait->get<int>()));
    q.grader = {"choice", Canonical(Json{{"letters", "ABCD"}, {"texts", texts}})};
    q.max_new_tokens = kShortAnswerTokens;
    Finalize(q, options);
    rows.push_back(std::move(q));
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.size() != kMmluTestRows) {
    return Status::Corruption(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                                        std::to_string(kMmluTestRows));
  }
  return rows;
}

}  // namespace gem::task
