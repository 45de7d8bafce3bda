// Copyright the gem authors. Chat formats, written out from the families' Jinja templates.
//
// Sources (the templates in tokenizer_config.json): Llama 3 Instruct's
//   bos + for each message '<|start_header_id|>' + role + '<|end_header_id|>\n\n'
//   + content|trim + '<|eot_id|>', then '<|start_header_id|>assistant<|end_header_id|>\n\n';
// Qwen's ChatML '<|im_start|>' + role + '\n' + content + '<|im_end|>\n', then
//   '<|im_start|>assistant\n'; Mistral's bos + '[INST] ' + content + ' [/INST]'; Llama 2's
//   bos + '[INST] ' + ('<<SYS>>\n' + system + '\n<</SYS>>\n\n' + user).strip() + ' [/INST]'.
#include "gem/chat.h"

#include <array>

#include "tokenizer/text_util.h"

namespace gem {
namespace {

struct Named {
  ChatFormat format;
  const char* name;
};
constexpr std::array<Named, 6> kNames{{{ChatFormat::kRaw, "raw"},
                                       {ChatFormat::kLlama3, "llama3"},
                                       {ChatFormat::kLlama31, "llama31"},
                                       {ChatFormat::kChatML, "chatml"},
                                       {ChatFormat::kMistral, "mistral"},
                                       {ChatFormat::kLlama2, "llama2"}}};

bool Has(std::string_view s, std::string_view what) { return s.find(what) != s.npos; }

// Undoes the escapes of a Jinja string literal body (\n, \t, \', \", \\).
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

const char* ChatFormatName(ChatFormat f) {
  for (const Named& n : kNames) {
    if (n.format == f) return n.name;
  }
  return "raw";
}

std::optional<ChatFormat> ParseChatFormat(std::string_view name) {
  for (const Named& n : kNames) {
    if (name == n.name) return n.format;
  }
  return std::nullopt;
}

ChatFormat DetectChatFormat(std::string_view t) {
  if (Has(t, "<|start_header_id|>")) {
    return Has(t, "Cutting Knowledge Date") ? ChatFormat::kLlama31 : ChatFormat::kLlama3;
  }
  if (Has(t, "<|im_start|>")) return ChatFormat::kChatML;
  if (Has(t, "<<SYS>>")) return ChatFormat::kLlama2;
  if (Has(t, "[INST]")) return ChatFormat::kMistral;
  return ChatFormat::kRaw;
}

std::string DefaultSystemPrompt(std::string_view t) {
  // ChatML templates that add a system turn write it as one string literal:
  //   '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
  // while the branch that uses the caller's system prompt ends the literal after "system\n".
  constexpr std::string_view kOpen = "<|im_start|>system";
  for (size_t at = t.find(kOpen); at != t.npos; at = t.find(kOpen, at + 1)) {
    const size_t q = t.find_last_of("'\"", at);
    if (q == t.npos) continue;
    const char quote = t[q];
    size_t end = at + kOpen.size();
    while (end < t.size() && t[end] != quote) end += t[end] == '\\' ? 2 : 1;
    if (end >= t.size()) continue;
    const std::string body = Unescape(t.substr(at + kOpen.size(), end - at - kOpen.size()));
    const size_t close = body.find("<|im_end|>");
    if (close == std::string::npos || body.empty() || body[0] != '\n') continue;
    const std::string text = body.substr(1, close - 1);
    if (!text.empty()) return text;
  }
  return {};
}

ChatStyle DetectChatStyle(std::string_view chat_template) {
  ChatStyle s;
  s.format = DetectChatFormat(chat_template);
  if (s.format == ChatFormat::kChatML) s.default_system = DefaultSystemPrompt(chat_template);
  return s;
}

std::string RenderChat(ChatFormat f, const ChatPrompt& p, bool add_generation_prompt) {
  const bool sys = !p.system.empty();
  std::string out;
  switch (f) {
    case ChatFormat::kRaw:
      if (sys) out = p.system + "\n\n";
      out += p.user;
      break;
    case ChatFormat::kLlama3:
    case ChatFormat::kLlama31: {
      auto turn = [&](std::string_view role, std::string_view content) {
        out += "<|start_header_id|>";
        out += role;
        out += "<|end_header_id|>\n\n";
        out += content;
        out += "<|eot_id|>";
      };
      out = "<|begin_of_text|>";
      if (f == ChatFormat::kLlama31) {
        // Llama 3.1 always writes a system turn with its knowledge-cutoff header; the date is
        // the template's fixed default ("26 Jul 2024"), never today's, so prompts reproduce.
        turn("system", "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" +
                           std::string(tok::TrimAsciiSpace(p.system)));
      } else if (sys) {
        turn("system", tok::TrimAsciiSpace(p.system));
      }
      turn("user", tok::TrimAsciiSpace(p.user));
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    }
    case ChatFormat::kChatML:
      if (sys) out += "<|im_start|>system\n" + p.system + "<|im_end|>\n";
      out += "<|im_start|>user\n" + p.user + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kMistral:
      // Mistral's v0.1 template has no system role; later Mistral templates (and mistral-common)
      // put the system prompt before the user text of the turn, separated by a blank line.
      out = "<s>[INST] " + (sys ? p.system + "\n\n" : std::string()) + p.user + " [/INST]";
      break;
    case ChatFormat::kLlama2: {
      const std::string content = sys ? "<<SYS>>\n" + p.system + "\n<</SYS>>\n\n" + p.user : p.user;
      out = "<s>[INST] " + std::string(tok::TrimAsciiSpace(content)) + " [/INST]";
      break;
    }
  }
  return out;
}

std::string RenderChat(const ChatStyle& style, const ChatPrompt& p, bool add_generation_prompt) {
  if (p.system.empty() && !style.default_system.empty()) {
    return RenderChat(style.format, ChatPrompt{style.default_system, p.user},
                      add_generation_prompt);
  }
  return RenderChat(style.format, p, add_generation_prompt);
}

}  // namespace gem
