// Copyright the gem authors. config.json -> ModelConfig, and what a configuration implies: the
// tensors it needs and its RoPE frequencies.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model_impl.h"
#include "gem/file.h"

namespace gem {
namespace {

using json = nlohmann::json;

int GetInt(const json& j, const char* key, int def) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int>() : def;
}
double GetDouble(const json& j, const char* key, double def) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : def;
}

std::vector<int32_t> IdList(const json& j) {
  std::vector<int32_t> out;
  if (j.is_number_integer()) out.push_back(j.get<int32_t>());
  if (j.is_array()) {
    for (const json& e : j) {
      if (e.is_number_integer()) out.push_back(e.get<int32_t>());
    }
  }
  return out;
}

// Rope scaling as config.json writes it: "rope_scaling" (transformers 4) or "rope_parameters"
// (transformers 5, which also moves rope_theta inside).
void ParseRope(const json& j, ModelConfig* c, std::string* unsupported) {
  const json* rs = nullptr;
  if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) rs = &*it;
  if (auto it = j.find("rope_scaling"); it != j.end() && it->is_object()) rs = &*it;
  if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) {
    c->rope_theta = GetDouble(*it, "rope_theta", c->rope_theta);
  }
  if (rs == nullptr) return;
  std::string type;
  if (auto t = rs->find("rope_type"); t != rs->end() && t->is_string())
    type = t->get<std::string>();
  if (auto t = rs->find("type"); type.empty() && t != rs->end() && t->is_string()) {
    type = t->get<std::string>();
  }
  if (type.empty() || type == "default") return;
  if (type != "linear" && type != "llama3") {
    *unsupported = type;
    return;
  }
  c->rope_scaling.type = type;
  c->rope_scaling.factor = static_cast<float>(GetDouble(*rs, "factor", 1.0));
  c->rope_scaling.low_freq_factor = static_cast<float>(GetDouble(*rs, "low_freq_factor", 1.0));
  c->rope_scaling.high_freq_factor = static_cast<float>(GetDouble(*rs, "high_freq_factor", 4.0));
  c->rope_scaling.original_max_position_embeddings =
      GetInt(*rs, "original_max_position_embeddings", 8192);
}

}  // namespace

Status ParseHfConfig(const std::string& path, ModelConfig* c) {
  std::string text;
  if (Status st = ReadRegularFile(path, kMaxJsonFileBytes, &text); !st.ok()) {
    return st.IsNotFound() ? Status::NotFound(path, "cannot read config.json") : st;
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(path, "not a JSON object");
  std::string arch;
  if (auto it = j.find("architectures");
      it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
    arch = (*it)[0].get<std::string>();
  } else if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string()) {
    std::string t = mt->get<std::string>();
    if (t == "llama") arch = "LlamaForCausalLM";
    if (t == "mistral") arch = "MistralForCausalLM";
    if (t == "qwen2") arch = "Qwen2ForCausalLM";
    if (arch.empty()) arch = t;
  }
  if (arch.empty()) return Status::Corruption(path, "no \"architectures\" or \"model_type\"");
  c->architecture = arch;
  if (arch != "LlamaForCausalLM" && arch != "MistralForCausalLM" && arch != "Qwen2ForCausalLM") {
    return Status::NotSupported(path, "unknown architecture '" + arch +
                                          "' (supported: LlamaForCausalLM, MistralForCausalLM, "
                                          "Qwen2ForCausalLM)");
  }
  c->vocab_size = GetInt(j, "vocab_size", 0);
  c->hidden_size = GetInt(j, "hidden_size", 0);
  c->intermediate_size = GetInt(j, "intermediate_size", 0);
  c->num_layers = GetInt(j, "num_hidden_layers", 0);
  c->num_heads = GetInt(j, "num_attention_heads", 0);
  c->num_kv_heads = GetInt(j, "num_key_value_heads", c->num_heads);
  c->head_dim = GetInt(j, "head_dim", c->num_heads > 0 ? c->hidden_size / c->num_heads : 0);
  c->rms_norm_eps = static_cast<float>(GetDouble(j, "rms_norm_eps", 1e-6));
  c->rope_theta = GetDouble(j, "rope_theta", 10000.0);
  c->max_position_embeddings = GetInt(j, "max_position_embeddings", 0);
  if (auto t = j.find("tie_word_embeddings"); t != j.end() && t->is_boolean()) {
    c->tie_word_embeddings = t->get<bool>();
  }
  if (arch == "Qwen2ForCausalLM") {
    c->attention_bias = true;  // Qwen2 always has q/k/v biases
    bool use_sw = false;
    if (auto t = j.find("use_sliding_window"); t != j.end() && t->is_boolean()) use_sw = *t;
    if (use_sw) {
      return Status::NotSupported(path, "Qwen2 use_sliding_window=true is not supported");
    }
  } else {
    if (auto t = j.find("attention_bias"); t != j.end() && t->is_boolean()) {
      c->attention_bias = t->get<bool>();
    }
    if (auto t = j.find("mlp_bias"); t != j.end() && t->is_boolean() && t->get<bool>()) {
      return Status::NotSupported(path, "mlp_bias=true is not supported");
    }
  }
  if (arch == "MistralForCausalLM") c->sliding_window = GetInt(j, "sliding_window", 0);
  std::string unsupported;
  ParseRope(j, c, &unsupported);
  if (!unsupported.empty()) {
    return Status::NotSupported(
        path, "rope scaling type '" + unsupported + "' (supported: linear, llama3)");
  }
  if (auto b = j.find("bos_token_id"); b != j.end() && b->is_number_integer()) {
    c->bos_id = b->get<int32_t>();
  }
  if (auto e = j.find("eos_token_id"); e != j.end()) c->eos_ids = IdList(*e);
  return ValidateConfig(*c, path);
}

Status ValidateConfig(const ModelConfig& c, const std::string& where) {
  auto bad = [&](const std::string& what) { return Status::Corruption(where, what); };
  if (c.vocab_size <= 0) return bad("vocab_size must be positive");
  if (c.hidden_size <= 0) return bad("hidden_size must be positive");
  if (c.intermediate_size <= 0) return bad("intermediate_size must be positive");
  if (c.num_layers <= 0) return bad("num_hidden_layers must be positive");
  if (c.num_heads <= 0 || c.num_kv_heads <= 0) return bad("head counts must be positive");
  if (c.num_heads % c.num_kv_heads != 0) {
    return bad("num_attention_heads (" + std::to_string(c.num_heads) +
               ") is not a multiple of num_key_value_heads (" + std::to_string(c.num_kv_heads) +
               ")");
  }
  if (c.head_dim <= 0 || c.head_dim % 2 != 0) return bad("head_dim must be positive and even");
  if (!(c.rms_norm_eps > 0)) return bad("rms_norm_eps must be positive");
  if (!(c.rope_theta > 0)) return bad("rope_theta must be positive");
  if (c.rope_scaling.type == "llama3" &&
      !(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor)) {
    return bad("llama3 rope scaling needs high_freq_factor > low_freq_factor");
  }
  if (!c.rope_scaling.type.empty() && !(c.rope_scaling.factor > 0)) {
    return bad("rope scaling factor must be positive");
  }
  return Status::OK();
}

std::vector<TensorDesc> ExpectedTensors(const ModelConfig& c) {
  const int64_t h = c.hidden_size, v = c.vocab_size, in = c.intermediate_size;
  const int64_t q = static_cast<int64_t>(c.num_heads) * c.head_dim;
  const int64_t kv = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
  std::vector<TensorDesc> out;
  out.push_back({"model.embed_tokens.weight", {v, h}});
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {h}});
    out.push_back({p + "self_attn.q_proj.weight", {q, h}});
    if (c.attention_bias) out.push_back({p + "self_attn.q_proj.bias", {q}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    if (c.attention_bias) out.push_back({p + "self_attn.k_proj.bias", {kv}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    if (c.attention_bias) out.push_back({p + "self_attn.v_proj.bias", {kv}});
    out.push_back({p + "self_attn.o_proj.weight", {h, q}});
    out.push_back({p + "post_attention_layernorm.weight", {h}});
    out.push_back({p + "mlp.gate_proj.weight", {in, h}});
    out.push_back({p + "mlp.up_proj.weight", {in, h}});
    out.push_back({p + "mlp.down_proj.weight", {h, in}});
  }
  out.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {v, h}});
  return out;
}

std::vector<float> RopeInvFreq(const ModelConfig& c) {
  // As transformers computes it (float32 there; double here, then rounded once).
  const int half = c.head_dim / 2;
  std::vector<float> f(half);
  for (int i = 0; i < half; ++i) {
    double inv = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / c.head_dim);
    const RopeScaling& s = c.rope_scaling;
    if (s.type == "linear") {
      inv /= s.factor;
    } else if (s.type == "llama3") {
      // transformers' _compute_llama3_parameters: long wavelengths are slowed by `factor`,
      // short ones kept, the band between interpolated.
      const double old_ctx = s.original_max_position_embeddings;
      const double low_wavelen = old_ctx / s.low_freq_factor;
      const double high_wavelen = old_ctx / s.high_freq_factor;
      const double wavelen = 2 * M_PI / inv;
      double scaled = wavelen > low_wavelen ? inv / s.factor : inv;
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        double smooth =
            (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        scaled = (1 - smooth) * scaled / s.factor + smooth * scaled;
      }
      inv = scaled;
    }
    f[i] = static_cast<float>(inv);
  }
  return f;
}

}  // namespace gem
