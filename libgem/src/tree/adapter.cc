// Copyright the gem authors. Loading PEFT LoRA adapters and checking them against a base.
#include "gem/adapter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "gem/file.h"
#include "gem/safetensors.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kHint = " (maybe the wrong base model?)";

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool NonEmpty(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_object() || it->is_array() || it->is_string()) return !it->empty();
  return true;
}

Status ParseConfig(const std::string& dir, const json& j, LoraConfig* c) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(dir + "/adapter_config.json", what);
  };
  auto unsupported = [&](const std::string& what) {
    return Status::NotSupported(dir + "/adapter_config.json", what);
  };
  if (!j.is_object()) return bad("not a JSON object");
  const std::string type = j.value("peft_type", "LORA");
  if (type != "LORA") return unsupported("peft_type " + type + " (only LORA adapters)");
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int>() <= 0) {
    return bad("'r' must be a positive integer");
  }
  c->r = j["r"].get<int>();
  c->lora_alpha = j.contains("lora_alpha") && j["lora_alpha"].is_number()
                      ? j["lora_alpha"].get<double>()
                      : static_cast<double>(c->r);  // PEFT's default alpha is 8 at r 8
  c->use_rslora = j.value("use_rslora", false);
  if (j.contains("target_modules") && j["target_modules"].is_array()) {
    c->target_modules = j["target_modules"].get<std::vector<std::string>>();
  } else if (j.contains("target_modules") && j["target_modules"].is_string()) {
    c->target_modules = {j["target_modules"].get<std::string>()};
  }
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()) {
    c->base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  }
  if (j.value("use_dora", false)) return unsupported("use_dora (DoRA adapters)");
  if (j.value("bias", std::string("none")) != "none" || j.value("lora_bias", false)) {
    return unsupported("LoRA biases (bias must be \"none\")");
  }
  if (NonEmpty(j, "modules_to_save")) return unsupported("modules_to_save (full-weight modules)");
  if (NonEmpty(j, "alpha_pattern")) return unsupported("alpha_pattern (per-module alpha)");
  if (j.value("fan_in_fan_out", false)) return unsupported("fan_in_fan_out (Conv1D layers)");
  return Status::OK();
}

}  // namespace

int LoraModuleIndex(std::string_view module) {
  for (size_t i = 0; i < kLoraModuleNames.size(); ++i) {
    if (kLoraModuleNames[i] == module) return static_cast<int>(i);
  }
  return -1;
}

float LoraConfig::Scale(int rank) const {
  return static_cast<float>(use_rslora ? lora_alpha / std::sqrt(static_cast<double>(rank))
                                       : lora_alpha / rank);
}

Result<std::unique_ptr<LoraAdapter>> LoraAdapter::Load(const std::string& dir) {
  const std::string config_path = dir + "/adapter_config.json";
  const std::string weights_path = dir + "/adapter_model.safetensors";
  if (!fs::is_regular_file(config_path)) {
    return Status::NotFound(dir, "no adapter_config.json (not a PEFT adapter directory)");
  }
  if (!fs::is_regular_file(weights_path)) {
    return Status::NotFound(dir,
                            "no adapter_model.safetensors (only safetensors adapters "
                            "are supported)");
  }
  std::unique_ptr<LoraAdapter> ad(new LoraAdapter());
  ad->dir_ = dir;
  {
    std::string text;
    GEM_RETURN_IF_ERROR(ReadRegularFile(config_path, kMaxJsonFileBytes, &text));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return Status::Corruption(config_path, "not valid JSON");
    GEM_RETURN_IF_ERROR(ParseConfig(dir, j, &ad->config_));
  }
  auto st = SafetensorsFile::Open(weights_path);
  if (!st.ok()) return st.status();
  const SafetensorsFile& file = **st;

  // base_model.model.<path>.lora_{A,B}[.<adapter name>].weight; <path> ends in
  // layers.<L>.(self_attn|mlp).<module>.
  static const std::regex kName(
      R"(^base_model\.model\.(.*\.layers\.(\d+)\.(self_attn|mlp)\.(\w+))\.lora_([AB])(\.[\w-]+)?\.weight$)");
  struct Pair {
    const TensorInfo* a = nullptr;
    const TensorInfo* b = nullptr;
    int layer = 0;
    std::string module, path;
  };
  std::map<std::string, Pair> pairs;
  for (const TensorInfo& t : file.tensors()) {
    std::smatch m;
    if (!std::regex_match(t.name, m, kName)) {
      return Status::NotSupported(weights_path, "tensor '" + t.name +
                                                    "' is not a lora_A/lora_B weight of a "
                                                    "decoder projection (embedding, lm_head, "
                                                    "DoRA and bias adapters are not supported)");
    }
    const std::string module = m[4];
    if (LoraModuleIndex(module) < 0) {
      return Status::NotSupported(weights_path, "tensor '" + t.name + "': module '" + module +
                                                    "' is not one of q/k/v/o_proj, "
                                                    "gate/up/down_proj");
    }
    if (t.shape.size() != 2 || !DTypeIsFloat(t.dtype)) {
      return Status::InvalidArgument(weights_path,
                                     "tensor '" + t.name + "' is not a 2-D float matrix");
    }
    Pair& p = pairs[m[1]];
    p.path = m[1];
    p.layer = std::stoi(m[2]);
    p.module = module;
    (m[5] == "A" ? p.a : p.b) = &t;
  }
  if (pairs.empty()) return Status::InvalidArgument(weights_path, "holds no LoRA tensors");
  Hasher h;
  h.Field(std::string_view("gem-lora-v1"));
  h.Field(static_cast<uint64_t>(ad->config_.r));
  h.Field(std::to_string(ad->config_.lora_alpha));
  h.Field(static_cast<uint64_t>(ad->config_.use_rslora));
  for (auto& [path, p] : pairs) {
    if (p.a == nullptr || p.b == nullptr) {
      return Status::InvalidArgument(weights_path, "'" + path + "' has lora_" + (p.a ? "A" : "B") +
                                                       " but no lora_" + (p.a ? "B" : "A"));
    }
    const int64_t rank = p.a->shape[0];
    if (p.b->shape[1] != rank || rank <= 0) {
      return Status::InvalidArgument(
          weights_path, "'" + path + "': lora_A is " + ShapeString(p.a->shape) + " but lora_B is " +
                            ShapeString(p.b->shape) + " (ranks disagree)");
    }
    LoraModule mod;
    mod.layer = p.layer;
    mod.module = p.module;
    mod.base_tensor = path + ".weight";
    mod.rank = static_cast<int>(rank);
    mod.in_features = static_cast<int>(p.a->shape[1]);
    mod.out_features = static_cast<int>(p.b->shape[0]);
    mod.scale = ad->config_.Scale(mod.rank);
    mod.a.resize(p.a->numel());
    mod.b.resize(p.b->numel());
    GEM_RETURN_IF_ERROR(file.ReadF32(*p.a, mod.a.data()));
    GEM_RETURN_IF_ERROR(file.ReadF32(*p.b, mod.b.data()));
    h.Field(mod.base_tensor);
    h.Field(static_cast<uint64_t>(mod.rank));
    h.Field(static_cast<uint64_t>(mod.in_features));
    h.Field(static_cast<uint64_t>(mod.out_features));
    h.Field(std::string_view(reinterpret_cast<const char*>(mod.a.data()), mod.a.size() * 4));
    h.Field(std::string_view(reinterpret_cast<const char*>(mod.b.data()), mod.b.size() * 4));
    ad->modules_.push_back(std::move(mod));
  }
  ad->digest_ = h.Finish();
  std::sort(ad->modules_.begin(), ad->modules_.end(), [](const LoraModule& x, const LoraModule& y) {
    return std::pair(x.layer, LoraModuleIndex(x.module)) <
           std::pair(y.layer, LoraModuleIndex(y.module));
  });
  return ad;
}

Status LoraAdapter::CheckAgainstBase(const TensorShapes& base) const {
  for (const LoraModule& m : modules_) {
    auto it = base.find(m.base_tensor);
    if (it == base.end()) {
      return Status::InvalidArgument(
          dir_, "adapts '" + m.base_tensor + "', which the base does not have" + kHint);
    }
    const std::vector<int64_t> want = {m.out_features, m.in_features};
    if (it->second != want) {
      return Status::InvalidArgument(
          dir_, "lora tensors of '" + m.base_tensor + "' (A [" + std::to_string(m.rank) + ", " +
                    std::to_string(m.in_features) + "], B [" + std::to_string(m.out_features) +
                    ", " + std::to_string(m.rank) + "]) need a base weight " + ShapeString(want) +
                    " but the base has " + ShapeString(it->second) + kHint);
    }
  }
  return Status::OK();
}

const LoraModule* LoraAdapter::Find(int layer, std::string_view module) const {
  const int idx = LoraModuleIndex(module);
  auto it = std::lower_bound(modules_.begin(), modules_.end(), std::pair(layer, idx),
                             [](const LoraModule& m, const std::pair<int, int>& key) {
                               return std::pair(m.layer, LoraModuleIndex(m.module)) < key;
                             });
  return it != modules_.end() && it->layer == layer && it->module == module ? &*it : nullptr;
}

int LoraAdapter::max_rank() const {
  int r = 0;
  for (const LoraModule& m : modules_) r = std::max(r, m.rank);
  return r;
}

}  // namespace gem
