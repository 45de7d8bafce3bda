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
struct WeightEntry {
  std::string name;
  std::vector<int64_t> shape;
  const float* base = nullptr;  // into `owned` or into a mapped f32 safetensors file
  std::vector<float> owned;
  const float* active = nullptr;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
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

  std::unique_ptr<SafetensorsSet> safetensors;  // keeps in-place f32 weights mapped

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

// Fills impl->layers / embed / final_norm / lm_head from impl->by_name and impl->inv_freq.
// REQUIRES: every ExpectedTensors() entry is present with its shape.
void WireWeights(Model::Impl* impl);

// Adds a weight (takes `owned` data or points at `mapped`).
WeightEntry* AddWeight(Model::Impl* impl, const TensorDesc& desc, std::vector<float> owned,
                       const float* mapped);

Status LoadHfDirectory(const std::string& dir, const LoadOptions& options, Model::Impl* impl);
Status LoadGguf(const std::string& path, const LoadOptions& options, Model::Impl* impl);
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
