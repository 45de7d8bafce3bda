// Copyright the gem authors. Chat prompts: one conversation turn in a model family's format.
//
// We do not run Jinja. A model's chat template (tokenizer_config.json "chat_template" or GGUF
// tokenizer.chat_template) is recognised by its marker strings and mapped to one of a few
// formats whose rendering is written out in chat.cc; docs/TOKENIZER.md shows each format.
// Rendered text contains the special tokens as text (and the BOS text where the family's
// template writes bos_token), so encode it with Encode(text, /*add_bos=*/false,
// /*parse_special=*/true).
//
// Thread-safety: free functions on values; safe to call concurrently.
#ifndef GEM_CHAT_H_
#define GEM_CHAT_H_

#include <optional>
#include <string>
#include <string_view>

namespace gem {

enum class ChatFormat {
  kRaw,      // the user text alone (system text, if any, then "\n\n", then the user text)
  kLlama3,   // <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
  kLlama31,  // as kLlama3, with Llama 3.1's "Cutting Knowledge Date" system header
  kChatML,   // <|im_start|>role\n...<|im_end|>\n (Qwen, SmolLM2)
  kMistral,  // <s>[INST] (system\n\n)user [/INST]
  kLlama2,   // <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST]
};

// Stable lower-case name ("raw", "llama3", "llama31", "chatml", "mistral", "llama2").
const char* ChatFormatName(ChatFormat f);
// Inverse of ChatFormatName; nullopt for an unknown name.
std::optional<ChatFormat> ParseChatFormat(std::string_view name);

// The format a Jinja chat template produces, recognised by its markers; kRaw when the template
// is empty or unrecognised.
ChatFormat DetectChatFormat(std::string_view chat_template);

// The system prompt the template inserts when the conversation has none (Qwen2/2.5 "You are a
// helpful assistant." / "You are Qwen, ...", SmolLM2 "You are a helpful AI assistant named
// SmolLM, ..."), read from the template's literal text; "" when it inserts none (Qwen3, Llama 3).
std::string DefaultSystemPrompt(std::string_view chat_template);

// A template recognised once: format plus default system prompt.
struct ChatStyle {
  ChatFormat format = ChatFormat::kRaw;
  std::string default_system;  // used when ChatPrompt::system is empty; "" = no system turn
};
ChatStyle DetectChatStyle(std::string_view chat_template);

struct ChatPrompt {
  std::string system;  // empty = no system prompt (or the style's default, see below)
  std::string user;
};

// The prompt text for one user turn, ending with the assistant's generation prompt when
// `add_generation_prompt` (the part the model continues from). Llama 3 trims surrounding
// whitespace of each message, as its template's `| trim` does.
std::string RenderChat(ChatFormat f, const ChatPrompt& p, bool add_generation_prompt = true);
// As above, with style.default_system standing in for an empty p.system.
std::string RenderChat(const ChatStyle& style, const ChatPrompt& p,
                       bool add_generation_prompt = true);

}  // namespace gem

#endif  // GEM_CHAT_H_
