// Copyright the gem authors. Prompts: what a query looks like to a chat model, in two variants.
//
// The paper evaluates every model with and without its system prompt and, per task, keeps the
// variant with the better accuracy. Variant 0 has no system turn at all; variant 1 has the
// model's own default system prompt (ChatStyle::default_system, read from its chat template),
// or, for templates without one, the query's system text ("You are a helpful assistant." for
// the built-in tasks). Render variant 0 with RenderChat(style.format, ...), not with the style,
// so that a template's implicit default does not creep into the "without" variant.
//
// Thread-safety: free functions on values.
#ifndef GEM_PROMPT_H_
#define GEM_PROMPT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/chat.h"
#include "gem/task.h"

namespace gem {

// Persisted in cache records as EvalDetail::variant: do not renumber.
enum PromptVariant : uint8_t {
  kNoSystemPrompt = 0,
  kWithSystemPrompt = 1,
};
inline constexpr uint8_t kNumPromptVariants = 2;

// The system text the built-in tasks give variant 1 when the model has no default.
inline constexpr std::string_view kFallbackSystemPrompt = "You are a helpful assistant.";

struct TaskPrompt {
  ChatPrompt chat;                 // system ("" for variant 0) and user text
  uint32_t max_new_tokens = 0;
  std::vector<std::string> stop;   // cut the output before the first of these
};

// The prompt of `query` in `variant` for a model whose template's default system prompt is
// `model_default_system` ("" when it has none).
TaskPrompt MakePrompt(const Query& query, uint8_t variant, std::string_view model_default_system);

// `output` cut before the first occurrence of any stop string (the engine may overshoot a stop
// by a few tokens; graders see the cut text).
std::string CutAtStop(std::string_view output, const std::vector<std::string>& stop);

// Per-model tally of graded answers per variant, to pick the better variant.
struct VariantTally {
  uint32_t correct[kNumPromptVariants] = {0, 0};
  uint32_t graded[kNumPromptVariants] = {0, 0};
};

// The variant with more correct answers so far (the paper's "version with the best accuracy";
// both variants are always graded on the same queries, so counts compare accuracies). Ties go
// to variant 0, the plainer prompt.
uint8_t BetterVariant(const VariantTally& tally);

}  // namespace gem

#endif  // GEM_PROMPT_H_
