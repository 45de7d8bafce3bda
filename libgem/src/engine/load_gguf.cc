// Copyright the gem authors. GGUF checkpoints: metadata -> ModelConfig, tensors renamed to
// Hugging Face names (kept in their type or converted, LoadOptions::weights), the embedded
// vocabulary -> Tokenizer.
#include <cstring>

#include "engine/model_impl.h"

namespace gem {
namespace {

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// llama.cpp's tensor names for a Hugging Face name; "" when there is no counterpart.
std::string GgufName(const std::string& hf) {
  static const std::pair<const char*, const char*> kTop[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  for (const auto& [h, g] : kTop) {
    if (hf == h) return g;
  }
  static const std::pair<const char*, const char*> kLayer[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  const std::string prefix = "model.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return "";
  size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  std::string layer = hf.substr(prefix.size(), dot - prefix.size());
  std::string rest = hf.substr(dot + 1);
  for (const auto& [h, g] : kLayer) {
    if (rest == h) return "blk." + layer + "." + g;
  }
  return "";
}

Status ConfigFromGguf(const GgufFile& g, ModelConfig* c, std::string* arch_out) {
  const std::string& path = g.path();
  std::string arch = g.GetString("general.architecture");
  *arch_out = arch;
  if (arch == "llama") {
    c->architecture = "LlamaForCausalLM";
  } else if (arch == "mistral") {
    c->architecture = "MistralForCausalLM";
  } else if (arch == "qwen2") {
    c->architecture = "Qwen2ForCausalLM";
    c->attention_bias = true;
  } else {
    return Status::NotSupported(path, "unknown architecture '" + arch +
                                          "' (general.architecture; supported: llama, mistral, "
                                          "qwen2)");
  }
  const std::string a = arch + ".";
  c->hidden_size = static_cast<int>(g.GetInt(a + "embedding_length", 0));
  c->num_layers = static_cast<int>(g.GetInt(a + "block_count", 0));
  c->intermediate_size = static_cast<int>(g.GetInt(a + "feed_forward_length", 0));
  c->num_heads = static_cast<int>(g.GetInt(a + "attention.head_count", 0));
  c->num_kv_heads = static_cast<int>(g.GetInt(a + "attention.head_count_kv", c->num_heads));
  c->head_dim = static_cast<int>(g.GetInt(
      a + "attention.key_length",
      g.GetInt(a + "rope.dimension_count", c->num_heads > 0 ? c->hidden_size / c->num_heads : 0)));
  c->rms_norm_eps = static_cast<float>(g.GetFloat(a + "attention.layer_norm_rms_epsilon", 1e-5));
  c->rope_theta = g.GetFloat(a + "rope.freq_base", 10000.0);
  c->max_position_embeddings = static_cast<int>(g.GetInt(a + "context_length", 0));
  std::string scaling = g.GetString(a + "rope.scaling.type");
  if (scaling == "linear") {
    c->rope_scaling.type = "linear";
    c->rope_scaling.factor = static_cast<float>(g.GetFloat(a + "rope.scaling.factor", 1.0));
  } else if (!scaling.empty() && scaling != "none") {
    return Status::NotSupported(path, "rope scaling type '" + scaling + "'");
  }
  const GgufTensorInfo* embd = g.FindTensor("token_embd.weight");
  int64_t vocab = g.GetInt(a + "vocab_size", 0);
  if (vocab == 0 && embd != nullptr && embd->dims.size() == 2) vocab = embd->dims[1];
  c->vocab_size = static_cast<int>(vocab);
  c->tie_word_embeddings = g.FindTensor("output.weight") == nullptr;
  c->bos_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.bos_token_id", -1));
  int64_t eos = g.GetInt("tokenizer.ggml.eos_token_id", -1);
  if (eos >= 0) c->eos_ids.push_back(static_cast<int32_t>(eos));
  int64_t eot = g.GetInt("tokenizer.ggml.eot_token_id", -1);
  if (eot >= 0 && eot != eos) c->eos_ids.push_back(static_cast<int32_t>(eot));
  return ValidateConfig(*c, path);
}

Result<std::unique_ptr<Tokenizer>> VocabFromGguf(const GgufFile& g) {
  GgufVocab v;
  v.model = g.GetString("tokenizer.ggml.model");
  v.pre = g.GetString("tokenizer.ggml.pre");
  if (const GgufValue* t = g.Find("tokenizer.ggml.tokens")) v.tokens = t->strings;
  if (const GgufValue* t = g.Find("tokenizer.ggml.scores")) {
    v.scores.assign(t->numbers.begin(), t->numbers.end());
  }
  if (const GgufValue* t = g.Find("tokenizer.ggml.token_type")) {
    for (double d : t->numbers) v.token_types.push_back(static_cast<int32_t>(d));
  }
  if (const GgufValue* t = g.Find("tokenizer.ggml.merges")) v.merges = t->strings;
  v.bos_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.bos_token_id", -1));
  v.eos_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.eos_token_id", -1));
  v.pad_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.padding_token_id", -1));
  v.unk_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.unknown_token_id", -1));
  v.eot_id = static_cast<int32_t>(g.GetInt("tokenizer.ggml.eot_token_id", -1));
  v.add_bos = g.GetBool("tokenizer.ggml.add_bos_token", v.model == "llama");
  v.add_space_prefix = g.GetBool("tokenizer.ggml.add_space_prefix", true);
  v.chat_template = g.GetString("tokenizer.chat_template");
  auto tok = Tokenizer::FromGgufVocab(v);
  if (!tok.ok()) return tok.status().WithContext(g.path());
  return tok;
}

}  // namespace

Status LoadGguf(const std::string& path, const LoadOptions& options, const WeightPolicy& policy,
                Model::Impl* impl) {
  auto opened = GgufFile::Open(path);
  if (!opened.ok()) return opened.status();
  impl->gguf = std::move(opened).value();  // keeps in-place tensors mapped
  const GgufFile& g = *impl->gguf;
  std::string arch;
  GEM_RETURN_IF_ERROR(ConfigFromGguf(g, &impl->config, &arch));
  const ModelConfig& c = impl->config;
  const bool permuted = arch == "llama" || arch == "mistral";

  for (const TensorDesc& want : ExpectedTensors(c)) {
    std::string gname = GgufName(want.name);
    const GgufTensorInfo* t = g.FindTensor(gname);
    if (t == nullptr) {
      return Status::NotFound(path, "missing tensor '" + gname + "' (" + want.name + ")");
    }
    if (t->shape() != want.shape) {
      return Status::Corruption(path, "tensor '" + gname + "' has shape " + ShapeStr(t->shape()) +
                                          ", the metadata implies " + ShapeStr(want.shape));
    }
    auto type = WeightTypeOfGgml(t->type);
    if (!type.ok()) {
      return Status::NotSupported(path, "tensor '" + gname + "': " + type.status().message());
    }
    // llama.cpp's converter permutes q/k rows for its interleaved RoPE; put them back.
    int heads = 0;
    if (permuted && want.name.ends_with("q_proj.weight")) heads = c.num_heads;
    if (permuted && want.name.ends_with("k_proj.weight")) heads = c.num_kv_heads;
    Status added = AddWeight(impl, want, *type, g.TensorBytes(*t), policy, g.mapping(), heads);
    if (!added.ok()) return added.WithContext(path);
  }
  WireWeights(impl);
  // Llama 3.1 GGUFs carry the rope scaling as per-frequency divisors instead of metadata.
  if (const GgufTensorInfo* rf = g.FindTensor("rope_freqs.weight")) {
    if (rf->numel() != static_cast<int64_t>(impl->inv_freq.size())) {
      return Status::Corruption(path, "rope_freqs.weight has " + std::to_string(rf->numel()) +
                                          " elements, expected head_dim/2");
    }
    std::vector<float> div(static_cast<size_t>(rf->numel()));
    GEM_RETURN_IF_ERROR(g.ReadF32(*rf, div.data()));
    for (size_t i = 0; i < div.size(); ++i) impl->inv_freq[i] /= div[i];
  }
  if (options.load_tokenizer && g.Find("tokenizer.ggml.tokens") != nullptr) {
    auto tok = VocabFromGguf(g);
    if (!tok.ok()) return tok.status();
    impl->tokenizer = std::move(tok).value();
  }
  return Status::OK();
}

}  // namespace gem
