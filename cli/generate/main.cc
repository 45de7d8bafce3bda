// Copyright the gem authors. gem-generate: greedy generation from the command line.
//
//   gem-generate --model PATH [--prompt TEXT | --prompt-ids "1 2 3"] [--chat] [--system TEXT]
//                --max-new-tokens N [--threads T] [--format text|ids|json] [--stop STR]...
//
// stdout carries only the result (text, ids or one JSON object); progress and errors go to
// stderr. Exit codes: 0 success, 1 a load/generation error, 2 a usage error.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gem/chat.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace {

int Fail(const std::string& msg, int code = 1) {
  std::cerr << "gem-generate: " << msg << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Greedy generation with the gem CPU engine. Loads a Hugging Face model directory (or HF "
      "cache folder models--ORG--NAME) or a GGUF file and continues one prompt.",
      "gem-generate"};
  std::string model_path, prompt, prompt_ids, system, format = "text", weights = "stored";
  int max_new = 0, threads = 0;
  bool chat = false, no_eos = false, quiet = false;
  std::vector<std::string> stops;
  app.add_option("-m,--model", model_path, "Model directory, config.json or .gguf file")
      ->required();
  auto* p_text = app.add_option("-p,--prompt", prompt, "Prompt text (tokenized by the model)");
  auto* p_ids = app.add_option("--prompt-ids", prompt_ids,
                               "Prompt as token ids, space-separated, e.g. \"1 2 3\"");
  p_text->excludes(p_ids);
  p_ids->excludes(p_text);
  app.add_flag("--chat", chat,
               "Render --prompt as one user turn in the model's chat format (from its chat "
               "template), ending with the assistant prompt");
  app.add_option("--system", system, "System prompt for --chat (default: the template's own)");
  app.add_option("-n,--max-new-tokens", max_new, "Maximum number of tokens to generate")
      ->required()
      ->check(CLI::NonNegativeNumber);
  app.add_option("-t,--threads", threads, "Worker threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--weights", weights,
                 "How weights are held: stored (their checkpoint type), f32 (the exact reference "
                 "path) or a type to quantise to (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k, f16, "
                 "bf16)")
      ->capture_default_str();
  app.add_option("--format", format, "Output: text, ids (generated ids on one line) or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "ids", "json"}));
  app.add_option("--stop", stops,
                 "Stop when the generated text contains this string "
                 "(repeatable; the text is cut before it)");
  app.add_flag("--ignore-eos", no_eos, "Do not stop at the model's end-of-sequence/turn ids");
  app.add_flag("-q,--quiet", quiet, "No load/speed report on stderr");
  CLI11_PARSE(app, argc, argv);

  if (prompt_ids.empty() && p_text->count() == 0) {
    return Fail("give a prompt with --prompt TEXT or --prompt-ids \"1 2 3\" (see --help)", 2);
  }
  if (chat && p_ids->count() > 0) return Fail("--chat needs --prompt text, not --prompt-ids", 2);
  if (!system.empty() && !chat) return Fail("--system only applies with --chat", 2);

  auto t0 = std::chrono::steady_clock::now();
  gem::LoadOptions lo;
  lo.threads = threads;
  lo.weights = weights;
  auto loaded = gem::Model::Load(model_path, lo);
  if (!loaded.ok()) return Fail(loaded.status().ToString());
  gem::Model& model = **loaded;
  const gem::Tokenizer* tok = model.tokenizer();
  auto t1 = std::chrono::steady_clock::now();
  if (!quiet) {
    const auto& c = model.config();
    std::cerr << "gem-generate: loaded " << model.source() << " (" << model.format() << ", "
              << c.architecture << ", " << c.num_layers << " layers, hidden " << c.hidden_size
              << ", vocab " << c.vocab_size << ") in "
              << std::chrono::duration<double>(t1 - t0).count() << " s, " << model.threads()
              << " threads\ngem-generate: weights " << model.WeightSummary() << "\n";
  }

  gem::GenerateRequest req;
  req.max_new_tokens = max_new;
  req.stop_strings = stops;
  req.stop_at_eos = !no_eos;
  if (p_ids->count() > 0) {
    std::istringstream in(prompt_ids);
    std::string word;
    while (in >> word) {
      try {
        size_t used = 0;
        long v = std::stol(word, &used);
        if (used != word.size()) throw std::invalid_argument(word);
        req.prompt.push_back(static_cast<int32_t>(v));
      } catch (const std::exception&) {
        return Fail("--prompt-ids: '" + word + "' is not an integer", 2);
      }
    }
    if (req.prompt.empty()) return Fail("--prompt-ids is empty", 2);
  } else {
    if (tok == nullptr) return Fail(model.source() + " has no tokenizer: use --prompt-ids");
    if (chat) {
      gem::ChatStyle style = gem::DetectChatStyle(tok->chat_template());
      if (style.format == gem::ChatFormat::kRaw && !quiet) {
        std::cerr << "gem-generate: no recognised chat template; using the raw prompt\n";
      }
      std::string text = gem::RenderChat(style, gem::ChatPrompt{system, prompt});
      req.prompt = tok->Encode(text, /*add_bos=*/false, /*parse_special=*/true);
    } else {
      req.prompt = tok->Encode(prompt, tok->add_bos_default(), /*parse_special=*/false);
    }
    if (req.prompt.empty()) return Fail("the prompt encodes to no tokens", 2);
  }
  if (!stops.empty() && tok == nullptr) return Fail("--stop needs a model with a tokenizer", 2);

  std::vector<gem::GenerateResult> out;
  gem::Status s = gem::Generate(model, std::span(&req, 1), {}, &out);
  if (!s.ok()) return Fail(s.ToString());
  auto t2 = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(t2 - t1).count();
  const gem::GenerateResult& r = out[0];
  if (format == "ids") {
    for (size_t i = 0; i < r.tokens.size(); ++i) std::cout << (i ? " " : "") << r.tokens[i];
    std::cout << "\n";
  } else if (format == "json") {
    nlohmann::json j;
    j["model"] = model.source();
    j["prompt_ids"] = req.prompt;
    j["ids"] = r.tokens;
    j["text"] = r.text;
    j["finish"] = gem::FinishReasonName(r.finish);
    j["seconds"] = secs;
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (tok == nullptr) {
      for (size_t i = 0; i < r.tokens.size(); ++i) std::cout << (i ? " " : "") << r.tokens[i];
    } else {
      std::cout << r.text;
    }
    std::cout << "\n";
  }
  if (!quiet) {
    std::cerr << "gem-generate: " << req.prompt.size() << " prompt + " << r.tokens.size()
              << " generated tokens in " << secs << " s ("
              << (secs > 0 ? r.tokens.size() / secs : 0)
              << " tokens/s incl. prefill), finish: " << gem::FinishReasonName(r.finish) << "\n";
  }
  return 0;
}
