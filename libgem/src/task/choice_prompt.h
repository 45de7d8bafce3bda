// Copyright the gem authors. Rendering of lettered options shared by the multiple-choice tasks.
#ifndef GEM_TASK_CHOICE_PROMPT_H_
#define GEM_TASK_CHOICE_PROMPT_H_

#include <string>
#include <vector>

namespace gem::task {

// "A. first\nB. second\n..." (OpenCompass *_gen layout), without a trailing newline.
inline std::string LetteredOptions(const std::vector<std::string>& texts) {
  std::string out;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) out += "\n";
    out += static_cast<char>('A' + i);
    out += ". " + texts[i];
  }
  return out;
}

inline std::string Letters(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('A' + i));
  return s;
}

}  // namespace gem::task

#endif  // GEM_TASK_CHOICE_PROMPT_H_
