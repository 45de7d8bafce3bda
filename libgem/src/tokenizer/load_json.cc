// Copyright the gem authors. Tokenizer::FromJsonFile: Hugging Face tokenizer.json (+ config).
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gem/file.h"
#include "gem/tokenizer.h"
#include "tokenizer/json_reader.h"
#include "tokenizer/tokenizer_impl.h"

namespace gem {
namespace {

using nlohmann::json;
using Impl = Tokenizer::Impl;

Result<std::string> ReadFile(const std::string& path) {
  std::string data;
  Status st = ReadRegularFile(path, kMaxTokenizerFileBytes, &data);
  if (st.IsNotFound()) return Status::IOError(path, "cannot open for reading");
  if (!st.ok()) return st;
  return data;
}

Result<json> ParseJson(const std::string& path) {
  auto data = ReadFile(path);
  if (!data.ok()) return data.status();
  json j = json::parse(*data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption(path, "not valid JSON");
  return j;
}

// A token field of tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string TokenName(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return {};
}

// root[key], or null when absent; a reference into `root` (never a temporary), so pointers
// collected from it stay valid while `root` lives.
const json& Child(const json& root, const char* key) {
  static const json kNull;
  auto it = root.find(key);
  return it == root.end() ? kNull : *it;
}

// A list of the leaf steps of a (possibly nested) Sequence of normalizers/pre-tokenizers/...
void Flatten(const json& node, const char* list_key, std::vector<const json*>* out) {
  if (node.is_null()) return;
  if (node.value("type", "") == "Sequence" && node.contains(list_key)) {
    for (const json& child : node[list_key]) Flatten(child, list_key, out);
  } else {
    out->push_back(&node);
  }
}

Status LoadNormalizer(const json& root, Impl* impl) {
  std::vector<const json*> steps;
  Flatten(Child(root, "normalizer"), "normalizers", &steps);
  for (const json* s : steps) {
    const std::string type = s->value("type", "");
    if (type == "NFC") {
      impl->nfc = true;
    } else if (type == "Prepend" && s->value("prepend", "") == "\xE2\x96\x81") {
      impl->space_prefix = Impl::SpacePrefix::kAlways;
    } else if (type == "Replace" && s->contains("pattern") &&
               (*s)["pattern"].value("String", "") == " " &&
               s->value("content", "") == "\xE2\x96\x81") {
      impl->escape_spaces = true;
    } else {
      return Status::NotSupported("normalizer " + s->dump());
    }
  }
  return Status::OK();
}

Status LoadPreTokenizer(const json& root, bool* byte_level, bool* metaspace, Impl* impl) {
  std::vector<const json*> steps;
  Flatten(Child(root, "pre_tokenizer"), "pretokenizers", &steps);
  for (const json* s : steps) {
    const std::string type = s->value("type", "");
    if (type == "Split") {
      const json& pat = s->value("pattern", json::object());
      const bool literal = pat.contains("String");
      const std::string pattern = literal ? pat.value("String", "") : pat.value("Regex", "");
      if (s->value("behavior", "") != "Isolated" || s->value("invert", false)) {
        return Status::NotSupported(
            "Split pre-tokenizer other than behavior=Isolated, "
            "invert=false: " +
            s->dump());
      }
      auto re = tok::Regex::Compile(pattern, literal);
      if (!re.ok()) return re.status();
      impl->pre.AddStage(*re);
    } else if (type == "Digits") {
      auto re =
          tok::Regex::Compile(s->value("individual_digits", false) ? "\\p{N}" : "\\p{N}+", false);
      if (!re.ok()) return re.status();
      impl->pre.AddStage(*re);
    } else if (type == "ByteLevel") {
      *byte_level = true;
      impl->byte_level_prefix_space = s->value("add_prefix_space", false);
      if (s->value("use_regex", true)) {
        auto re = tok::Regex::Compile(tok::kGpt2Regex, false);
        if (!re.ok()) return re.status();
        impl->pre.AddStage(*re);
      }
    } else if (type == "Metaspace") {
      *metaspace = true;
      if (s->value("replacement", "\xE2\x96\x81") != "\xE2\x96\x81") {
        return Status::NotSupported("Metaspace with a replacement other than U+2581");
      }
      impl->escape_spaces = true;
      std::string scheme = s->value("prepend_scheme", "");
      if (scheme.empty()) scheme = s->value("add_prefix_space", true) ? "always" : "never";
      if (scheme == "always") {
        impl->space_prefix = Impl::SpacePrefix::kMetaAlways;
      } else if (scheme == "first") {
        impl->space_prefix = Impl::SpacePrefix::kMetaFirst;
      } else {
        impl->space_prefix = Impl::SpacePrefix::kNone;
      }
      impl->metaspace_split = s->value("split", true);
      impl->strip_leading_space = scheme != "never";
    } else {
      return Status::NotSupported("pre-tokenizer " + type);
    }
  }
  return Status::OK();
}

Status LoadModel(const json& model, tok::TokenizerJson* file, Impl* impl) {
  if (model.value("type", "BPE") != "BPE") {
    return Status::NotSupported("model type " + model.value("type", "") + " (only BPE)");
  }
  if (!file->has_vocab) return Status::Corruption("model.vocab missing or not an object");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty()) {
      return Status::NotSupported(std::string("BPE with ") + key);
    }
  }
  impl->token_to_id.reserve(file->vocab.size() + 1024);
  for (auto& [text, id] : file->vocab) {
    if (id < 0 || id > (1 << 24)) return Status::Corruption("vocab id out of range: " + text);
    impl->SetToken(static_cast<int32_t>(id), std::move(text));
  }
  file->vocab.clear();
  impl->ignore_merges = model.value("ignore_merges", false);
  impl->byte_fallback = model.value("byte_fallback", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    impl->unk_id = tok::Lookup(impl->token_to_id, model["unk_token"].get<std::string>());
  }

  impl->merges.Reserve(file->merges.size());
  std::string joined;
  int32_t rank = 0;
  for (const auto& [left, right] : file->merges) {
    joined.assign(left);
    joined.append(right);
    const int32_t l = tok::Lookup(impl->token_to_id, left);
    const int32_t r = tok::Lookup(impl->token_to_id, right);
    const int32_t j = tok::Lookup(impl->token_to_id, joined);
    if (l < 0 || r < 0 || j < 0) {
      return Status::Corruption("merge " + std::to_string(rank) + " '" + left + " " + right +
                                "' uses a token missing from the vocabulary");
    }
    impl->merges.Add(l, r, j, rank++);
  }
  file->merges.clear();
  return Status::OK();
}

Status LoadAddedTokens(const json& root, Impl* impl) {
  if (!root.contains("added_tokens")) return Status::OK();
  for (const json& t : root["added_tokens"]) {
    if (!t.contains("id") || !t.contains("content") || !t["content"].is_string()) {
      return Status::Corruption("added_tokens entry " + t.dump());
    }
    const int32_t id = t["id"].get<int32_t>();
    std::string content = t["content"].get<std::string>();
    const bool special = t.value("special", false);
    if (id < 0) return Status::Corruption("added token id " + std::to_string(id));
    impl->SetToken(id, content, /*overwrite=*/true);
    impl->is_special[id] = special ? 1 : 0;
    impl->is_verbatim[id] = 1;
    if (t.value("lstrip", false) || t.value("rstrip", false) || t.value("single_word", false)) {
      impl->note = "added tokens with lstrip/rstrip/single_word are matched literally";
    }
    impl->added.Add(std::move(content), id, special);
  }
  return Status::OK();
}

// BOS from the post-processor: TemplateProcessing whose "single" starts with a SpecialToken.
void LoadPostProcessor(const json& root, Impl* impl) {
  std::vector<const json*> steps;
  Flatten(Child(root, "post_processor"), "processors", &steps);
  for (const json* s : steps) {
    if (s->value("type", "") != "TemplateProcessing" || !s->contains("single")) continue;
    const json& single = (*s)["single"];
    if (!single.is_array() || single.empty() || !single[0].contains("SpecialToken")) continue;
    const std::string name = single[0]["SpecialToken"].value("id", "");
    int32_t id = tok::Lookup(impl->token_to_id, name);
    if (s->contains("special_tokens") && (*s)["special_tokens"].contains(name)) {
      const json& ids = (*s)["special_tokens"][name].value("ids", json::array());
      if (!ids.empty() && ids[0].is_number_integer()) id = ids[0].get<int32_t>();
    }
    if (id >= 0) {
      impl->bos_id = id;
      impl->add_bos_default = true;
    }
  }
}

Status LoadConfig(const std::string& path, Impl* impl) {
  auto parsed = ParseJson(path);
  if (!parsed.ok()) return parsed.status();
  const json& c = *parsed;
  if (!c.is_object()) return Status::Corruption(path, "not a JSON object");
  if (c.contains("chat_template")) {
    const json& t = c["chat_template"];
    if (t.is_string()) {
      impl->chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, ...]
      for (const json& e : t) {
        if (e.value("name", "") == "default" || impl->chat_template.empty()) {
          impl->chat_template = e.value("template", "");
        }
      }
    }
  }
  const std::string bos = c.contains("bos_token") ? TokenName(c["bos_token"]) : "";
  const std::string eos = c.contains("eos_token") ? TokenName(c["eos_token"]) : "";
  if (!bos.empty()) {
    const int32_t id = tok::Lookup(impl->token_to_id, bos);
    if (id < 0) return Status::Corruption(path, "bos_token '" + bos + "' is not in the vocabulary");
    impl->bos_id = id;
  } else if (c.contains("bos_token") && c["bos_token"].is_null() && !impl->add_bos_default) {
    impl->bos_id = -1;
  }
  if (!eos.empty()) {
    const int32_t id = tok::Lookup(impl->token_to_id, eos);
    if (id < 0) return Status::Corruption(path, "eos_token '" + eos + "' is not in the vocabulary");
    impl->eos_id = id;
  }
  if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) {
    impl->add_bos_default = c["add_bos_token"].get<bool>();
  }
  return Status::OK();
}

Status Load(const std::string& path, const std::string& config_path, Impl* impl) {
  auto data = ReadFile(path);
  if (!data.ok()) return data.status();
  tok::TokenizerJson file;
  GEM_RETURN_IF_ERROR(tok::ReadTokenizerJson(*data, &file).WithContext(path));
  data = std::string();  // release the text early
  const json& root = file.root;
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    return Status::Corruption(path, "no \"model\" object: not a tokenizer.json");
  }
  GEM_RETURN_IF_ERROR(LoadModel(root["model"], &file, impl).WithContext(path));
  GEM_RETURN_IF_ERROR(LoadNormalizer(root, impl).WithContext(path));
  bool byte_level = false, metaspace = false;
  GEM_RETURN_IF_ERROR(LoadPreTokenizer(root, &byte_level, &metaspace, impl).WithContext(path));
  GEM_RETURN_IF_ERROR(LoadAddedTokens(root, impl).WithContext(path));

  if (byte_level) {
    impl->model = Impl::Model::kByteLevelBpe;
    if (impl->escape_spaces || impl->space_prefix != Impl::SpacePrefix::kNone) {
      return Status::NotSupported(path, "ByteLevel mixed with SentencePiece normalizers");
    }
  } else if (impl->escape_spaces || metaspace || impl->byte_fallback) {
    impl->model = Impl::Model::kSpmMerges;
    if (!metaspace) {
      // Legacy layout: the decoder is Replace('▁', ' ') + ByteFallback + Fuse + Strip(' ', 1).
      std::vector<const json*> steps;
      Flatten(Child(root, "decoder"), "decoders", &steps);
      for (const json* s : steps) {
        if (s->value("type", "") == "Strip" && s->value("start", 0) > 0) {
          impl->strip_leading_space = true;
        }
      }
    }
  } else {
    return Status::NotSupported(path,
                                "BPE without a ByteLevel pre-tokenizer or a SentencePiece "
                                "layout (Metaspace / Prepend+Replace / byte_fallback)");
  }
  if (impl->model == Impl::Model::kByteLevelBpe && impl->pre.empty()) {
    // ByteLevel(use_regex=false) with no Split: HF would then run BPE on the whole text.
    impl->note = "byte-level BPE without a split regex: whole segments are merged";
  }
  LoadPostProcessor(root, impl);
  if (impl->model != Impl::Model::kByteLevelBpe) {
    if (impl->bos_id < 0) impl->bos_id = tok::Lookup(impl->token_to_id, "<s>");
    impl->eos_id = tok::Lookup(impl->token_to_id, "</s>");
  }
  if (impl->eos_id < 0) {
    for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "</s>"}) {
      if (impl->eos_id < 0) impl->eos_id = tok::Lookup(impl->token_to_id, name);
    }
  }
  if (!config_path.empty()) GEM_RETURN_IF_ERROR(LoadConfig(config_path, impl));
  return impl->Finish().WithContext(path);
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonFile(
    const std::string& tokenizer_json_path, const std::string& tokenizer_config_path) {
  auto impl = std::make_unique<Impl>();
  try {
    GEM_RETURN_IF_ERROR(Load(tokenizer_json_path, tokenizer_config_path, impl.get()));
  } catch (const std::exception& e) {  // nlohmann type errors on malformed fields
    return Status::Corruption(tokenizer_json_path, e.what());
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

}  // namespace gem
