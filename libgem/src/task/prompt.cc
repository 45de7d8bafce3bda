// Copyright the gem authors. The two prompt variants of a query, stop strings, better variant.
#include "gem/prompt.h"

namespace gem {

TaskPrompt MakePrompt(const Query& query, uint8_t variant, std::string_view model_default_system) {
  TaskPrompt p;
  p.chat.user = query.user;
  if (variant == kWithSystemPrompt) {
    p.chat.system = model_default_system.empty() ? query.system : std::string(model_default_system);
  }
  p.max_new_tokens = query.max_new_tokens;
  p.stop = query.stop;
  return p;
}

std::string CutAtStop(std::string_view output, const std::vector<std::string>& stop) {
  size_t cut = output.size();
  for (const auto& s : stop) {
    if (s.empty()) continue;
    size_t at = output.find(s);
    if (at != std::string_view::npos && at < cut) cut = at;
  }
  return std::string(output.substr(0, cut));
}

uint8_t BetterVariant(const VariantTally& tally) {
  return tally.correct[kWithSystemPrompt] > tally.correct[kNoSystemPrompt] ? kWithSystemPrompt
                                                                           : kNoSystemPrompt;
}

}  // namespace gem
