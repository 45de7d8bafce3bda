// Copyright the gem authors. Inspecting one model folder: card, configs, weight headers, and
// the relation to its parent (as written, or inferred the way the Hub infers it).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/delta_checkpoint.h"
#include "gem/safetensors.h"
#include "scan/scan_internal.h"

namespace gem::scan_internal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool ReadJson(const fs::path& p, json* out, std::string* why) {
  std::ifstream in(p);
  if (!in) {
    *why = p.filename().string() + ": cannot be read";
    return false;
  }
  *out = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->is_object()) {
    *why = p.filename().string() + ": not a valid JSON object";
    return false;
  }
  return true;
}

bool IsFloat(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64;
}

// The weights of a full model: float safetensors, a delta checkpoint, or a problem / the reason
// they are quantised.
void InspectWeights(const fs::path& dir, Inspected* m) {
  std::error_code ec;
  std::string gguf, bin;
  bool safetensors = false;
  for (const auto& d : fs::directory_iterator(dir, ec)) {
    const std::string name = d.path().filename().string();
    const std::string ext = d.path().extension().string();
    if (ext == ".gguf" && gguf.empty()) gguf = name;
    if (ext == ".safetensors") safetensors = true;
    if (name.rfind("pytorch_model", 0) == 0 && ext == ".bin" && bin.empty()) bin = name;
  }
  if (!gguf.empty()) {
    m->quantized = "GGUF weights (" + gguf + ")";
    return;
  }
  if (IsDeltaCheckpoint(dir.string())) {
    m->delta_checkpoint = true;
    return;
  }
  if (!safetensors && !fs::exists(dir / "model.safetensors.index.json", ec)) {
    m->problems.push_back(
        bin.empty() ? "no weights (model.safetensors, model.safetensors.index.json or "
                      "model.gemdelta)"
                    : "only PyTorch weights (" + bin +
                          "): gem reads safetensors (save the model with safe_serialization)");
    return;
  }
  auto set = SafetensorsSet::Open(dir.string());
  if (!set.ok()) {
    m->problems.push_back(set.status().message());
    return;
  }
  for (const std::string& name : (*set)->Names()) {
    const DType t = (*set)->Find(name).info->dtype;
    if (!IsFloat(t)) {
      m->quantized = std::string("tensor '") + name + "' is " + DTypeName(t);
      return;
    }
  }
}

}  // namespace

Inspected Inspect(FoundModel found) {
  Inspected m;
  m.found = std::move(found);
  std::error_code ec;
  m.canonical_dir = fs::weakly_canonical(m.found.dir, ec).string();
  m.canonical_entry = fs::weakly_canonical(m.found.entry, ec).string();
  if (!m.found.problem.empty()) {
    m.problems.push_back(m.found.problem);
    return m;
  }
  const fs::path dir = m.found.dir;
  m.card = ReadModelCard((dir / "README.md").string());
  m.problems.insert(m.problems.end(), m.card.errors.begin(), m.card.errors.end());
  m.warnings.insert(m.warnings.end(), m.card.warnings.begin(), m.card.warnings.end());

  std::string why;
  if (fs::is_regular_file(dir / "adapter_config.json", ec)) {
    m.adapter = true;
    json a;
    if (!ReadJson(dir / "adapter_config.json", &a, &why)) {
      m.problems.push_back(why);
    } else {
      const json b = a.value("base_model_name_or_path", json());
      if (b.is_string()) {
        m.adapter_base = b.get<std::string>();
      } else if (!b.is_null()) {
        m.problems.push_back("adapter_config.json: base_model_name_or_path is not a string");
      }
      const json peft = a.value("peft_type", json("LORA"));
      if (!peft.is_string() || peft.get<std::string>() != "LORA") {
        m.problems.push_back("adapter_config.json: peft_type " + peft.dump() +
                             ": gem registers LoRA adapters only");
      }
    }
  } else if (fs::is_regular_file(dir / "config.json", ec)) {
    json c;
    if (!ReadJson(dir / "config.json", &c, &why)) {
      m.problems.push_back(why);
    } else if (c.contains("quantization_config")) {
      const json q = c["quantization_config"];
      m.quantized = "config.json has a quantization_config";
      if (q.is_object() && q.contains("quant_method") && q["quant_method"].is_string()) {
        m.quantized += " (quant_method " + q["quant_method"].get<std::string>() + ")";
      }
    }
    if (m.quantized.empty()) InspectWeights(dir, &m);
  } else {
    InspectWeights(dir, &m);
    if (m.quantized.empty()) {
      m.problems.push_back("no config.json (a model) or adapter_config.json (an adapter)");
    }
  }

  // The relation to the parent, as the card states it or as the Hub infers it.
  const std::string& r = m.card.relation;
  if (r == "adapter" || r == "merge" || r == "finetune") {
    m.relation = r;
  } else if (r == "quantized") {
    m.relation = "quantization";
  } else if (!r.empty()) {
    m.problems.push_back("README.md: base_model_relation '" + r +
                         "' is not one of adapter, merge, quantized, finetune");
  } else if (m.adapter) {
    m.relation = "adapter";
    if (!m.card.base_models.empty() || !m.adapter_base.empty())
      m.notes.push_back("relation inferred: adapter (adapter_config.json)");
  } else if (!m.card.base_models.empty()) {
    if (!m.quantized.empty()) {
      m.relation = "quantization";
      m.notes.push_back("relation inferred: quantization (" + m.quantized + ")");
    } else if (m.card.base_models.size() > 1) {
      m.relation = "merge";
      m.notes.push_back("relation inferred: merge (README.md lists " +
                        std::to_string(m.card.base_models.size()) + " base models)");
    } else {
      m.relation = "finetune";
      m.notes.push_back("relation inferred: finetune (full weights, one base model)");
    }
  }
  if (m.relation == "adapter" && !m.adapter) {
    m.problems.push_back(
        "README.md says base_model_relation: adapter but there is no "
        "adapter_config.json");
  }
  if (m.adapter && !m.relation.empty() && m.relation != "adapter") {
    m.problems.push_back("holds adapter_config.json but README.md says base_model_relation: " + r);
  }
  if (m.card.base_models.size() > 1 && !m.relation.empty() && m.relation != "merge") {
    m.problems.push_back("README.md lists " + std::to_string(m.card.base_models.size()) +
                         " base models but base_model_relation is " + r +
                         " (only a merge has several)");
  }
  if (!m.quantized.empty()) {
    m.problems.push_back("quantised weights: " + m.quantized +
                         "; gem serves float fine-tunes and LoRA adapters on a float base");
  }
  return m;
}

}  // namespace gem::scan_internal
