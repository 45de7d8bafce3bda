// Copyright the gem authors. Tokenizer::FromGgufVocab: the tokenizer.ggml.* metadata of a GGUF.
//
// The split regexes for each tokenizer.ggml.pre follow llama.cpp (src/llama-vocab.cpp,
// llm_tokenizer_bpe): a list of regexes applied one after another, each splitting the pieces
// of the previous one. Where llama.cpp replaced a case-insensitive group by explicit classes
// (its own regex engine lacks (?i:)), we keep the original tokenizer.json regex: PCRE2 has it.
#include <cstring>
#include <string_view>
#include <vector>

#include "gem/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace gem {
namespace {

using Impl = Tokenizer::Impl;

// GGUF token types (llama.cpp's llama_token_type).
constexpr int32_t kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4,
                  kTypeByte = 6;

struct PreSpec {
  std::vector<const char*> regexes;
  bool ignore_merges = false;
};

// The default of llama.cpp for an unrecognised or missing pre (LLAMA_VOCAB_PRE_TYPE_DEFAULT).
const PreSpec kDefaultPre{
    {R"([\p{P}\$\+<=>\^~\|]+)",
     R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))", R"(\p{N}+)",
     "[0-9][0-9][0-9]"},
    false};

// Returns false when `pre` is not one we know.
bool PreFor(std::string_view pre, PreSpec* spec) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    for (auto n : names) {
      if (pre == n) return true;
    }
    return false;
  };
  if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe"})) {
    *spec = PreSpec{{tok::kLlama3Regex}, is({"llama3", "llama-v3", "llama-bpe", "falcon3"})};
  } else if (is({"qwen2", "deepseek-r1-qwen", "stablelm2"})) {
    *spec = PreSpec{{tok::kQwen2Regex}, false};
  } else if (is({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"})) {
    // Digits(individual_digits=true) then ByteLevel(use_regex=true), as in SmolLM2's
    // tokenizer.json.
    *spec = PreSpec{{R"(\p{N})", tok::kGpt2Regex}, false};
  } else if (is({"gpt-2", "phi-2", "mpt", "olmo", "jais", "roberta-bpe", "gpt2"})) {
    *spec = PreSpec{{tok::kGpt2Regex}, false};
  } else if (pre.empty() || pre == "default") {
    *spec = kDefaultPre;
  } else {
    return false;
  }
  return true;
}

Status Build(const GgufVocab& v, Impl* impl) {
  if (v.tokens.empty()) return Status::Corruption("tokenizer.ggml.tokens is missing or empty");
  const auto n = static_cast<int32_t>(v.tokens.size());
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size()) {
    return Status::Corruption("tokenizer.ggml.token_type has " +
                              std::to_string(v.token_types.size()) + " entries for " +
                              std::to_string(n) + " tokens");
  }
  impl->token_to_id.reserve(v.tokens.size());
  for (int32_t id = 0; id < n; ++id) {
    // llama.cpp builds token_to_id in id order with assignment: a repeated text maps to the last.
    impl->SetToken(id, v.tokens[id], /*overwrite=*/true);
  }
  impl->is_special.assign(n, 0);
  impl->is_verbatim.assign(n, 0);
  const auto type_of = [&](int32_t id) {
    return v.token_types.empty() ? kTypeNormal : v.token_types[id];
  };

  if (v.model == "gpt2") {
    impl->model = Impl::Model::kByteLevelBpe;
    PreSpec spec;
    if (!PreFor(v.pre, &spec)) {
      spec = PreSpec{{tok::kGpt2Regex}, false};
      impl->note = "unknown tokenizer.ggml.pre '" + v.pre + "': using the GPT-2 split regex";
    }
    for (const char* pattern : spec.regexes) {
      auto re = tok::Regex::Compile(pattern, false);
      if (!re.ok()) return re.status();
      impl->pre.AddStage(*re);
    }
    impl->ignore_merges = spec.ignore_merges;
    if (v.merges.empty()) return Status::Corruption("tokenizer.ggml.merges is missing");
    impl->merges.Reserve(v.merges.size());
    int32_t rank = 0;
    for (const std::string& m : v.merges) {
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) return Status::Corruption("merge without a space: " + m);
      const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
      std::string joined(left);
      joined.append(right);
      const int32_t l = tok::Lookup(impl->token_to_id, left);
      const int32_t r = tok::Lookup(impl->token_to_id, right);
      const int32_t j = tok::Lookup(impl->token_to_id, joined);
      // llama.cpp merges by text and simply never produces a missing result; skipping the
      // merge is the same outcome.
      if (l >= 0 && r >= 0 && j >= 0) impl->merges.Add(l, r, j, rank);
      ++rank;
    }
  } else if (v.model == "llama") {
    impl->model = Impl::Model::kSpmScores;
    if (v.scores.size() != v.tokens.size()) {
      return Status::Corruption("tokenizer.ggml.scores has " + std::to_string(v.scores.size()) +
                                " entries for " + std::to_string(n) + " tokens");
    }
    impl->scores = v.scores;
    impl->escape_spaces = true;
    impl->byte_fallback = true;
    if (v.add_space_prefix) {
      impl->space_prefix = Impl::SpacePrefix::kAlways;
      impl->strip_leading_space = true;
    }
  } else {
    return Status::NotSupported("tokenizer.ggml.model '" + v.model + "' (supported: gpt2, llama)");
  }

  for (int32_t id = 0; id < n; ++id) {
    const int32_t type = type_of(id);
    const bool control = type == kTypeControl || type == kTypeUnknown;
    if (control || type == kTypeUserDefined) {
      impl->is_special[id] = control ? 1 : 0;
      impl->is_verbatim[id] = 1;
      impl->added.Add(v.tokens[id], id, control);
    }
    if (type == kTypeByte && impl->model == Impl::Model::kByteLevelBpe) {
      return Status::NotSupported("byte tokens (type 6) in a gpt2 vocabulary");
    }
    (void)kTypeNormal;
  }

  auto in_range = [&](int32_t id) { return id >= 0 && id < n ? id : -1; };
  impl->bos_id = in_range(v.bos_id);
  impl->eos_id = in_range(v.eos_id);
  impl->unk_id = in_range(v.unk_id);
  if (impl->model == Impl::Model::kSpmScores) {
    // llama.cpp's defaults for SentencePiece vocabularies.
    if (impl->bos_id < 0) impl->bos_id = tok::Lookup(impl->token_to_id, "<s>");
    if (impl->eos_id < 0) impl->eos_id = tok::Lookup(impl->token_to_id, "</s>");
    if (impl->unk_id < 0) impl->unk_id = tok::Lookup(impl->token_to_id, "<unk>");
  }
  if (in_range(v.eot_id) >= 0) impl->extra_stop_ids.push_back(v.eot_id);
  impl->add_bos_default = v.add_bos;
  impl->chat_template = v.chat_template;
  return impl->Finish();
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromGgufVocab(const GgufVocab& vocab) {
  auto impl = std::make_unique<Impl>();
  GEM_RETURN_IF_ERROR(Build(vocab, impl.get()).WithContext("GGUF vocab"));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

}  // namespace gem
