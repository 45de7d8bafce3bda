// Copyright the gem authors. Chat formats against strings written by hand from the families'
// Jinja chat templates.
//
// Llama 3 and Qwen3: the expected strings below were derived by reading the chat_template in
// ../shared/data/tokenizers/{llama-3-instruct,qwen3}/tokenizer_config.json (messages =
// [system?, user], add_generation_prompt=true; Qwen3 with no tools and enable_thinking
// undefined). Mistral: mistral-7b-v0.1's tokenizer_config.json (the base model) has no
// template; the expected string follows Mistral-7B-Instruct-v0.1's published template
// (bos + '[INST] ' + content + ' [/INST]'), which has no system role: gem puts the system
// prompt before the user text with a blank line, as Mistral's later templates do. Llama 2 and
// the default-system templates (Qwen2.5, SmolLM2) are short excerpts quoted from memory of
// those models' templates, not from files here.
#include "gem/chat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/tokenizer.h"
#include "vocab_cases.h"

namespace gem {
namespace {

std::string TemplateOf(const std::string& dir) {
  const std::string path = testing::SharedTokenizers() + "/" + dir + "/tokenizer_config.json";
  std::ifstream in(path);
  if (!in) return {};
  const auto j = nlohmann::json::parse(in);
  return j.value("chat_template", "");
}

const ChatPrompt kWithSystem{"You are terse.", "What is 2+2?"};
const ChatPrompt kNoSystem{"", "What is 2+2?"};

TEST(ChatFormat, NamesRoundTrip) {
  for (ChatFormat f : {ChatFormat::kRaw, ChatFormat::kLlama3, ChatFormat::kLlama31,
                       ChatFormat::kChatML, ChatFormat::kMistral, ChatFormat::kLlama2}) {
    EXPECT_EQ(ParseChatFormat(ChatFormatName(f)), f);
  }
  EXPECT_FALSE(ParseChatFormat("jinja").has_value());
}

TEST(ChatFormat, DetectsTheRealTemplates) {
  const std::string llama3 = TemplateOf("llama-3-instruct");
  const std::string qwen3 = TemplateOf("qwen3");
  if (llama3.empty() || qwen3.empty()) GTEST_SKIP() << "tokenizer_config.json files absent";
  EXPECT_EQ(DetectChatFormat(llama3), ChatFormat::kLlama3);
  EXPECT_EQ(DetectChatFormat(qwen3), ChatFormat::kChatML);
  EXPECT_EQ(DetectChatFormat(""), ChatFormat::kRaw);
  EXPECT_EQ(DetectChatFormat(TemplateOf("mistral-7b-v0.1")), ChatFormat::kRaw);  // none there
  // Qwen3 inserts no default system prompt (its system branch uses messages[0].content).
  EXPECT_EQ(DefaultSystemPrompt(qwen3), "");
  EXPECT_EQ(DefaultSystemPrompt(llama3), "");
}

TEST(ChatFormat, Llama3) {
  EXPECT_EQ(RenderChat(ChatFormat::kLlama3, kWithSystem),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse."
            "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(RenderChat(ChatFormat::kLlama3, kNoSystem),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // `| trim` in the template.
  EXPECT_EQ(RenderChat(ChatFormat::kLlama3, ChatPrompt{"", "  hi \n"}, false),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
}

TEST(ChatFormat, Llama31AlwaysHasTheSystemHeader) {
  EXPECT_EQ(RenderChat(ChatFormat::kLlama31, kNoSystem),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(DetectChatFormat("{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
                             "'<|start_header_id|>'"),
            ChatFormat::kLlama31);
}

TEST(ChatFormat, ChatMLAsQwen3) {
  EXPECT_EQ(RenderChat(ChatFormat::kChatML, kWithSystem),
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?"
            "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatFormat::kChatML, kNoSystem),
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatFormat::kChatML, kNoSystem, /*add_generation_prompt=*/false),
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
}

TEST(ChatFormat, Mistral) {
  EXPECT_EQ(RenderChat(ChatFormat::kMistral, kNoSystem), "<s>[INST] What is 2+2? [/INST]");
  EXPECT_EQ(RenderChat(ChatFormat::kMistral, kWithSystem),
            "<s>[INST] You are terse.\n\nWhat is 2+2? [/INST]");
  EXPECT_EQ(DetectChatFormat("{{ bos_token }}{% for message in messages %}{% if message['role']"
                             " == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"),
            ChatFormat::kMistral);
}

TEST(ChatFormat, Llama2) {
  EXPECT_EQ(RenderChat(ChatFormat::kLlama2, kWithSystem),
            "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST]");
  EXPECT_EQ(RenderChat(ChatFormat::kLlama2, kNoSystem), "<s>[INST] What is 2+2? [/INST]");
  EXPECT_EQ(DetectChatFormat("'<<SYS>>\\n' + system_message + '[INST]'"), ChatFormat::kLlama2);
}

TEST(ChatFormat, Raw) {
  EXPECT_EQ(RenderChat(ChatFormat::kRaw, kNoSystem), "What is 2+2?");
  EXPECT_EQ(RenderChat(ChatFormat::kRaw, kWithSystem), "You are terse.\n\nWhat is 2+2?");
}

TEST(ChatStyle, DefaultSystemPromptsFromTemplates) {
  // Excerpts of Qwen2.5-Instruct's and SmolLM2-Instruct's templates.
  const std::string qwen25 =
      "{%- if messages[0]['role'] == 'system' %}\n"
      "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
      "    {%- else %}\n"
      "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a "
      "helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}";
  const std::string smollm2 =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
      "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
      "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
      "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
  EXPECT_EQ(DefaultSystemPrompt(qwen25),
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  const ChatStyle style = DetectChatStyle(smollm2);
  EXPECT_EQ(style.format, ChatFormat::kChatML);
  EXPECT_EQ(style.default_system,
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(RenderChat(style, kNoSystem),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(style, kWithSystem), RenderChat(ChatFormat::kChatML, kWithSystem));
}

TEST(ChatFormat, RenderedPromptsEncodeWithSpecialTokens) {
  const std::string dir = testing::SharedTokenizers() + "/llama-3-instruct";
  if (!std::filesystem::exists(dir + "/tokenizer.json")) GTEST_SKIP() << dir << " absent";
  auto tok = Tokenizer::FromJsonFile(dir + "/tokenizer.json", dir + "/tokenizer_config.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const ChatStyle style = DetectChatStyle((*tok)->chat_template());
  ASSERT_EQ(style.format, ChatFormat::kLlama3);
  const auto ids = (*tok)->Encode(RenderChat(style, kWithSystem), false, true);
  // <|begin_of_text|> once, three headers, two <|eot_id|>, ends with "\n\n" after the header.
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128000), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128006), 3);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), 2);
  EXPECT_EQ(ids.back(), 271);
}

}  // namespace
}  // namespace gem
