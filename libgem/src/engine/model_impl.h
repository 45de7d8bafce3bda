// Copyright the gem authors. Model internals shared by the loaders, the transformer and
// generation. Not a public header.
#ifndef GEM_ENGINE_MODEL_IMPL_H_
#define GEM_ENGINE_MODEL_IMPL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gem/backend.h"
#include "gem/gguf.h"
#include "gem/model.h"
#include "gem/safetensors.h"
#include "gem/tokenizer.h"

namespace gem {

// One named weight: the immutable base and what forward passes read (base or an override).
// Matrices keep their stored type (or the one LoadOptions::weights asks for); 1-D tensors (norm
// weights, biases) are always f32. A 1-D tensor is a Weight of one row.
struct WeightEntry {
  std::string name;
  std::vector<int64_t> shape;
  Weight base;                 // data: into `owned` or into a mapped checkpoint file
  std::vector<uint8_t> owned;  // when the bytes had to be converted, quantised or permuted
  Weight active;               // base, or an override (which may have another type)
  // The backend's resident copy of the override in `active` (Backend::weight_alloc), owned by
  // the model: freed when the override is replaced or cleared. base.resident, the copy of the
  // base, is owned by Model::Impl and freed with it.
  void* override_resident = nullptr;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  size_t bytes() const {
    return base.packed ? owned.size()
                       : static_cast<size_t>(base.rows) * WeightRowBytes(base.type, base.cols);
  }
  // The active tensor as f32. REQUIRES: active.type == kF32 (1-D tensors always are).
  const float* f32() const { return static_cast<const float*>(active.data); }
};

struct LayerWeights {
  WeightEntry* in_norm = nullptr;
  WeightEntry* q = nullptr;
  WeightEntry* k = nullptr;
  WeightEntry* v = nullptr;
  WeightEntry* o = nullptr;
  WeightEntry* q_bias = nullptr;  // attention_bias only
  WeightEntry* k_bias = nullptr;
  WeightEntry* v_bias = nullptr;
  WeightEntry* post_norm = nullptr;
  WeightEntry* gate = nullptr;
  WeightEntry* up = nullptr;
  WeightEntry* down = nullptr;
};

struct Model::Impl {
  Impl() = default;
  ~Impl();  // frees the backend's resident copies (model.cc)
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ModelConfig config;
  std::string source;
  std::string format;
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<int32_t> default_stop_ids;

  std::vector<std::unique_ptr<WeightEntry>> weights;  // in Tensors() order
  std::map<std::string, WeightEntry*, std::less<>> by_name;
  WeightEntry* embed = nullptr;
  WeightEntry* final_norm = nullptr;
  WeightEntry* lm_head = nullptr;  // nullptr when tied to embed
  std::vector<LayerWeights> layers;
  std::vector<float> inv_freq;  // head_dim / 2 RoPE frequencies, scaling applied

  std::unique_ptr<SafetensorsSet> safetensors;  // keeps in-place weights mapped
  std::unique_ptr<GgufFile> gguf;               // likewise for a GGUF checkpoint
  std::string weights_mode;                     // LoadOptions::weights as resolved

  // Packed copies of typed overrides, per tensor name (Model::SetTensorOverride).
  std::map<std::string, std::vector<uint8_t>, std::less<>> override_storage;

  const LinearHook* hook = nullptr;
  const Backend* backend = nullptr;
  BackendContext ctx;
  int threads_requested = 0;
};

// The weights a configuration needs, in Tensors() order, with their shapes.
std::vector<TensorDesc> ExpectedTensors(const ModelConfig& c);

// Validates the configuration (positive sizes, heads divide, known architecture and rope
// scaling); `where` prefixes messages (the file the config came from).
Status ValidateConfig(const ModelConfig& c, const std::string& where);

// RoPE inverse frequencies for the configuration (rope_theta, head_dim, rope_scaling).
std::vector<float> RopeInvFreq(const ModelConfig& c);

// Places every weight matrix in the backend's memory where the backend keeps weights resident
// (Backend::weight_alloc; a no-op for the CPU backend). A matrix the backend does not take stays
// host-only (its ops read it there). Called once by Model::Load after the loader.
void UploadResidentWeights(Model::Impl* impl);

// Fills impl->layers / embed / final_norm / lm_head from impl->by_name and impl->inv_freq.
// REQUIRES: every ExpectedTensors() entry is present with its shape.
void WireWeights(Model::Impl* impl);

// What LoadOptions::weights asks of each matrix.
struct WeightPolicy {
  bool to_f32 = false;    // "f32": every matrix converted to f32
  bool quantize = false;  // a type name: f32/f16/bf16 matrices quantised to `type`
  WeightType type = WeightType::kF32;
};
Result<WeightPolicy> ParseWeightPolicy(const std::string& mode);

// Adds a tensor from its stored bytes (`type`, rows of WeightRowBytes each): 1-D tensors are
// converted to f32; matrices follow the policy. The bytes are used in place when they can be
// (same type, aligned), else converted into the entry's own buffer; `mapping` (nullable) is
// the file the bytes live in (in-place use needs one), whose pages are released after a copy.
// unpermute_heads > 0: the rows are in llama.cpp's interleaved-RoPE order for that many heads
// (GGUF q/k) and are put back in Hugging Face order.
Status AddWeight(Model::Impl* impl, const TensorDesc& desc, WeightType type, const uint8_t* bytes,
                 const WeightPolicy& policy, const MappedFile* mapping, int unpermute_heads = 0);
// Adds a weight from bytes already prepared in `owned` (type, desc.shape; `packed`: in the
// backend's layout).
WeightEntry* AddOwnedWeight(Model::Impl* impl, const TensorDesc& desc, WeightType type,
                            std::vector<uint8_t> owned, bool packed = false);

Status LoadHfDirectory(const std::string& dir, const LoadOptions& options,
                       const WeightPolicy& policy, Model::Impl* impl);
Status LoadGguf(const std::string& path, const LoadOptions& options, const WeightPolicy& policy,
                Model::Impl* impl);
Status ParseHfConfig(const std::string& config_path, ModelConfig* c);

// The per-sequence key/value cache.
struct SeqCache {
  std::vector<std::vector<float>> k, v;  // per layer: len x (num_kv_heads * head_dim)
  int len = 0;
};

// One sequence's slice of a forward batch.
struct BatchSeq {
  SeqCache* cache = nullptr;
  const int32_t* tokens = nullptr;  // n new tokens, appended at positions cache->len ...
  int n = 0;
  int32_t adapter_slot = -1;
  // Which logits to produce: 0 none, 1 the last new row, 2 every new row.
  int logits = 1;
};

// Runs the decoder over the new tokens of every sequence, appends their keys/values to the
// caches, and writes the requested logits rows (in sequence order) to `logits` (resized).
Status ForwardBatch(Model::Impl* m, std::vector<BatchSeq>& seqs, std::vector<float>* logits);

}  // namespace gem

#endif  // GEM_ENGINE_MODEL_IMPL_H_
