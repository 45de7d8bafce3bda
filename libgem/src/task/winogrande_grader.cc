// Copyright the gem authors. The WinoGrande option grader ("winogrande").
//
// WinoGrande's generative form (OpenCompass winogrande_gen) shows the two names as options A and
// B. Models answer with the letter ("B", "Answer: B") or with the name itself ("Maria"); both
// read as the option. A name that appears in the sentence is still only taken when it is the
// only option named in the output.
#include "task/internal.h"

namespace gem::task {

Result<Grade> GradeLetters(const Query& q, std::string_view out, std::string_view letters,
                           const std::vector<std::string>& texts);

Result<Grade> GradeWinogrande(const Query& q, std::string_view out, const Json& params) {
  auto texts = ParamStrings(params, "winogrande", "texts");
  if (!texts.ok()) return texts.status();
  return GradeLetters(q, out, "AB", *texts);
}

}  // namespace gem::task
