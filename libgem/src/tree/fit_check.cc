// Copyright the gem authors. Does a candidate fit the base? Architecture first (the cheapest and
// the most common mistake: a fine-tune of another family in the tree), then tensor names and
// shapes (names the exact tensor), then the hyper-parameters that change the computation
// without changing any shape (rope, norm epsilon).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/file.h"
#include "gem/tree.h"
#include "tree/tree_internal.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kHint = " (maybe the wrong base model?)";

std::string Show(const json& j) { return j.is_null() ? "unset" : j.dump(); }

}  // namespace

namespace tree_internal {

Result<json> ReadConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::string text;
  if (Status st = ReadRegularFile(path, kMaxJsonFileBytes, &text); !st.ok()) {
    return st.IsNotFound()
               ? Status::NotFound(dir, "no config.json (not a Hugging Face model directory)")
               : st;
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(path, "not a JSON object");
  return j;
}

Status CheckArchitecture(const json& base, const json& cand) {
  auto arch = [](const json& j) -> json {
    auto it = j.find("architectures");
    return it != j.end() && it->is_array() && !it->empty() ? (*it)[0] : json();
  };
  if (arch(cand) != arch(base)) {
    return Status::InvalidArgument("architecture " + Show(arch(cand)) +
                                   " does not match the base's " + Show(arch(base)) + kHint);
  }
  if (cand.value("model_type", json()) != base.value("model_type", json())) {
    return Status::InvalidArgument("model_type " + Show(cand.value("model_type", json())) +
                                   " does not match the base's " +
                                   Show(base.value("model_type", json())) + kHint);
  }
  return Status::OK();
}

Status CheckHyperParameters(const json& base, const json& cand) {
  // Fields that change what a forward pass computes. Not compared: dtype, max_position_
  // embeddings (a longer context is compatible), token ids, versions.
  static const char* kFields[] = {
      "hidden_size",         "intermediate_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "head_dim",          "vocab_size",        "tie_word_embeddings",
      "rms_norm_eps",        "rope_theta",        "rope_scaling",      "rope_parameters",
      "attention_bias",      "mlp_bias",          "hidden_act",        "sliding_window",
      "use_sliding_window"};
  for (const char* f : kFields) {
    const json b = base.value(f, json());
    const json c = cand.value(f, json());
    if (b != c) {
      return Status::InvalidArgument(std::string("config.json: ") + f + " is " + Show(c) +
                                     " but the base's is " + Show(b) + kHint);
    }
  }
  return Status::OK();
}

Status CheckFits(const json& base_config, const SafetensorsSet& base, const std::string& dir,
                 std::unique_ptr<SafetensorsSet>* opened) {
  auto cand_config = ReadConfig(dir);
  if (!cand_config.ok()) return cand_config.status();
  GEM_RETURN_IF_ERROR(CheckArchitecture(base_config, *cand_config));
  auto set = SafetensorsSet::Open(dir);
  if (!set.ok()) return set.status();
  GEM_RETURN_IF_ERROR(CheckSameTensors(base, **set));
  GEM_RETURN_IF_ERROR(CheckHyperParameters(base_config, *cand_config));
  if (opened != nullptr) *opened = std::move(set).value();
  return Status::OK();
}

}  // namespace tree_internal

Status CheckFinetuneFitsBase(const std::string& base_dir, const std::string& candidate_dir) {
  auto base_config = tree_internal::ReadConfig(base_dir);
  if (!base_config.ok()) return base_config.status();
  auto base = SafetensorsSet::Open(base_dir);
  if (!base.ok()) return base.status();
  return tree_internal::CheckFits(*base_config, **base, candidate_dir, nullptr);
}

Result<TensorShapes> ShapesOfCheckpoint(const std::string& model_dir) {
  auto set = SafetensorsSet::Open(model_dir);
  if (!set.ok()) return set.status();
  TensorShapes shapes;
  for (const std::string& name : (*set)->Names()) shapes[name] = (*set)->Find(name).info->shape;
  return shapes;
}

TensorShapes ShapesOfModel(const Model& model) {
  TensorShapes shapes;
  for (const TensorDesc& t : model.Tensors()) shapes[t.name] = t.shape;
  return shapes;
}

}  // namespace gem
