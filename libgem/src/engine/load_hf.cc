// Copyright the gem authors. Hugging Face model directories: config.json + safetensors +
// tokenizer files.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model_impl.h"

namespace gem {
namespace {

namespace fs = std::filesystem;

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// generation_config.json's eos_token_id (int or list) overrides config.json's.
void ReadGenerationConfig(const fs::path& dir, ModelConfig* c) {
  std::ifstream in(dir / "generation_config.json", std::ios::binary);
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  auto e = j.find("eos_token_id");
  if (e == j.end()) return;
  std::vector<int32_t> ids;
  if (e->is_number_integer()) ids.push_back(e->get<int32_t>());
  if (e->is_array()) {
    for (const auto& x : *e) {
      if (x.is_number_integer()) ids.push_back(x.get<int32_t>());
    }
  }
  if (!ids.empty()) c->eos_ids = ids;
}

}  // namespace

Status LoadHfDirectory(const std::string& dir_str, const LoadOptions& options,
                       const WeightPolicy& policy, Model::Impl* impl) {
  fs::path dir(dir_str);
  GEM_RETURN_IF_ERROR(ParseHfConfig((dir / "config.json").string(), &impl->config));
  ReadGenerationConfig(dir, &impl->config);
  auto set = SafetensorsSet::Open(dir_str);
  if (!set.ok()) return set.status();
  impl->safetensors = std::move(set).value();
  const SafetensorsSet& st = *impl->safetensors;

  for (const TensorDesc& want : ExpectedTensors(impl->config)) {
    auto e = st.Find(want.name);
    if (e.file == nullptr) {
      std::string hint =
          want.name == "lm_head.weight" ? " (config.json says tie_word_embeddings=false)" : "";
      return Status::NotFound(st.source(), "missing tensor '" + want.name + "'" + hint);
    }
    if (e.info->shape != want.shape) {
      return Status::Corruption(e.file->path(),
                                "tensor '" + want.name + "' has shape " + ShapeStr(e.info->shape) +
                                    ", config.json implies " + ShapeStr(want.shape));
    }
    if (!DTypeIsFloat(e.info->dtype)) {
      return Status::NotSupported(e.file->path(), "tensor '" + want.name + "' has dtype " +
                                                      DTypeName(e.info->dtype) +
                                                      " (supported: F32, F16, BF16, F64)");
    }
    const uint8_t* bytes = e.file->Bytes(*e.info).data();
    Status added;
    if (e.info->dtype == DType::kF64) {
      // No f64 kernels: converted to f32 first.
      std::vector<float> f(static_cast<size_t>(want.numel()));
      GEM_RETURN_IF_ERROR(e.file->ReadF32(*e.info, f.data()));
      added = AddWeight(impl, want, WeightType::kF32, reinterpret_cast<const uint8_t*>(f.data()),
                        policy, nullptr);
    } else {
      const WeightType type = e.info->dtype == DType::kF32   ? WeightType::kF32
                              : e.info->dtype == DType::kF16 ? WeightType::kF16
                                                             : WeightType::kBF16;
      added = AddWeight(impl, want, type, bytes, policy, e.file->mapping());
    }
    if (!added.ok()) return added.WithContext(e.file->path());
  }
  WireWeights(impl);

  if (options.load_tokenizer && fs::exists(dir / "tokenizer.json")) {
    std::string cfg = fs::exists(dir / "tokenizer_config.json")
                          ? (dir / "tokenizer_config.json").string()
                          : std::string();
    auto tok = Tokenizer::FromJsonFile((dir / "tokenizer.json").string(), cfg);
    if (!tok.ok()) return tok.status();
    impl->tokenizer = std::move(tok).value();
  }
  return Status::OK();
}

}  // namespace gem
