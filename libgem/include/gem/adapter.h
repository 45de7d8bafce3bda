// Copyright the gem authors. LoRA adapters (PEFT format) on the resident base.
//
// A PEFT LoRA directory holds adapter_config.json (r, lora_alpha, target_modules, use_rslora,
// ...) and adapter_model.safetensors with, for each adapted linear layer,
//   base_model.model.<module path>.lora_A.weight  [r, in_features]
//   base_model.model.<module path>.lora_B.weight  [out_features, r]
// The adapted layer computes y = W x + scale * B (A x), scale = lora_alpha / r, or
// lora_alpha / sqrt(r) with use_rslora (rank-stabilised LoRA).
//
// Three ways to run an adapter:
//   * merged: W' = W + scale * B A into a working buffer used in place of W (WorkingSet in
//     gem/tree.h): no per-token cost, one adapter per model at a time;
//   * unmerged: LoraSlots below as the model's LinearHook, y += scale * B (A x);
//   * unmerged batched: LoraSlots holds several adapters in numbered slots and each row of a
//     batch uses its sequence's slot (GenerateRequest::adapter_slot): the BGMV shrink/expand of
//     Punica and S-LoRA (kernels/bgmv_*.cu; their CPU twins run here).
//
// Supported: the seven projections of Llama/Mistral/Qwen2 decoder layers (q/k/v/o_proj,
// gate/up/down_proj), per-module ranks (rank_pattern) read from the tensor shapes. Refused with
// NotSupported naming the feature: DoRA, lora biases, modules_to_save, alpha_pattern,
// fan_in_fan_out, embedding or lm_head adapters.
//
// Thread-safety: a LoraAdapter is immutable after Load(). LoraSlots: Set() must not run
// concurrently with Apply(); Apply() is called by the model's owning thread only.
#ifndef GEM_ADAPTER_H_
#define GEM_ADAPTER_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/digest.h"
#include "gem/model.h"
#include "gem/status.h"

namespace gem {

// Names and shapes of a base model's tensors (Hugging Face names), e.g. from a checkpoint's
// safetensors or from Model::Tensors().
using TensorShapes = std::map<std::string, std::vector<int64_t>, std::less<>>;

// The seven projection names, in the order LoraSlots indexes them.
inline constexpr std::array<std::string_view, 7> kLoraModuleNames = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
// Index in kLoraModuleNames, -1 when `module` is not one of them.
int LoraModuleIndex(std::string_view module);

struct LoraConfig {
  int r = 0;
  double lora_alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
  std::string base_model_name_or_path;  // informational only: names differ between machines
  // lora_alpha / rank, or lora_alpha / sqrt(rank) with use_rslora.
  float Scale(int rank) const;
};

// One adapted linear layer, as f32.
struct LoraModule {
  int layer = 0;
  std::string module;       // "q_proj", ...
  std::string base_tensor;  // e.g. "model.layers.0.self_attn.q_proj.weight"
  int rank = 0;
  int in_features = 0;
  int out_features = 0;
  float scale = 0;
  std::vector<float> a;  // [rank, in_features]
  std::vector<float> b;  // [out_features, rank]
};

class LoraAdapter {
 public:
  // Loads a PEFT LoRA directory. NotFound when adapter_config.json or
  // adapter_model.safetensors is missing, Corruption for malformed files, InvalidArgument for
  // inconsistent tensors (A without B, ranks that disagree), NotSupported as in the file comment.
  // Every message starts with the directory.
  static Result<std::unique_ptr<LoraAdapter>> Load(const std::string& dir);

  // InvalidArgument naming the first lora tensor whose base layer is missing from `base` or
  // whose shape does not fit it, with "(maybe the wrong base model?)".
  Status CheckAgainstBase(const TensorShapes& base) const;

  const std::string& dir() const { return dir_; }
  const LoraConfig& config() const { return config_; }
  // Content digest: "gem-lora-v1", r, alpha, rslora, then per module (sorted by base tensor)
  // its name, rank, shapes and f32 A and B.
  const Digest& digest() const { return digest_; }
  // Sorted by (layer, module index).
  const std::vector<LoraModule>& modules() const { return modules_; }
  const LoraModule* Find(int layer, std::string_view module) const;
  int max_rank() const;

 private:
  LoraAdapter() = default;
  std::string dir_;
  LoraConfig config_;
  Digest digest_;
  std::vector<LoraModule> modules_;
};

// Up to `num_slots` adapters resident at once; the model's LinearHook for unmerged and batched
// LoRA. Adapters are caller-owned and must outlive their slot.
class LoraSlots final : public LinearHook {
 public:
  explicit LoraSlots(int num_slots = 64);

  // Puts `adapter` in `slot` (nullptr empties it). InvalidArgument for a slot out of range.
  Status Set(int slot, const LoraAdapter* adapter);
  const LoraAdapter* Get(int slot) const;
  int num_slots() const { return static_cast<int>(slots_.size()); }

  // LinearHook: for each row i with row_adapter[i] naming a filled slot whose adapter adapts
  // (layer, module), y[i] += scale * B (A x[i]). Other rows are left alone.
  void Apply(int layer, std::string_view module, const float* x, int rows, int in_features,
             float* y, int out_features, std::span<const int32_t> row_adapter) const override;

 private:
  std::vector<const LoraAdapter*> slots_;
  // Scratch for Apply (the model calls Apply from its owning thread only).
  mutable std::vector<float> v_;
  mutable std::vector<int32_t> row_slot_;
};

}  // namespace gem

#endif  // GEM_ADAPTER_H_
