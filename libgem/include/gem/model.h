// Copyright the gem authors. Model: a decoder-only transformer checkpoint loaded for inference.
//
// Supported checkpoints (docs/ENGINE.md):
//   * Hugging Face directories: config.json, model.safetensors or shards listed by
//     model.safetensors.index.json (F32, F16, BF16 or F64), tokenizer.json, tokenizer_config.json,
//     generation_config.json; also the Hugging Face cache layout models--ORG--NAME (the snapshot
//     named by refs/main, else the only/newest one under snapshots/);
//   * GGUF files (version 2 and 3) with F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and
//     Q6_K tensors and their embedded tokenizer.
// Architectures: LlamaForCausalLM (Llama 2, 3, 3.1 "llama3" rope scaling; also SmolLM2),
// MistralForCausalLM, Qwen2ForCausalLM (q/k/v bias, tied embeddings).
//
// Weights. Every weight is held under its Hugging Face name (e.g.
// "model.layers.3.self_attn.q_proj.weight", shape [out_features, in_features], row-major). By
// default (LoadOptions::weights = "stored") a weight matrix stays in the type it is stored in
// (gem/weight_types.h: f32, f16, bf16 or a ggml quantisation), read in place from the file's
// memory mapping where it can be (f32/f16/bf16 tensors; quantised ones are repacked, same bytes,
// into the CPU backend's layout, and the mapped pages released);
// "f32" converts every matrix to f32 at load (the exact reference path, and the only one before
// typed weights); a type name quantises f32/f16/bf16 matrices to that type. 1-D tensors (norm
// weights, biases) are always f32. GGUF tensors are renamed to HF names and the Q/K rows that
// llama.cpp's converter permutes for its interleaved RoPE are put back in HF order. Base weights
// never change after Load(). A tied lm_head has no tensor of its own: "lm_head.weight" is absent
// from Tensors() and the head uses "model.embed_tokens.weight" (and its override, if any).
// When LoadOptions::backend keeps weights resident (gem/backend.h: the CUDA backend for f32, f16
// and bf16 matrices), Load() also places each such matrix in the backend's memory, once, in its
// held type, and the forward passes' matmul/get_rows read that copy; the copies are released with
// the Model. The host weights stay as they are (accessors, deltas' base values, and the CPU
// recomputation of a failed device op read them).
//
// Numerics. f32, f16 and bf16 matrices give bit-identical logits (f16/bf16 are converted exactly
// in the kernel); the integer types quantise each row of activations per block (Q8, as ggml) and
// differ from the f32 path within the tolerances of docs/ENGINE.md. Either way a row's result
// never depends on the other rows of a batch, the chunking or the thread count.
//
// Two hooks let a caller run a variant of the model on the resident base (the tree part uses them
// for fine-tune deltas and LoRA adapters):
//   * SetTensorOverride(name, ...): forward passes read the given tensor (f32, or any weight type)
//     instead of the base tensor;
//   * SetLinearHook(hook): after each of the seven linear layers of each decoder layer computes
//     y = x W^T (+ b), the hook may ADD its contribution to y, per row, e.g. scale * (x A^T) B^T
//     for the adapter of the sequence that row belongs to. Hooks see f32 activations whatever
//     the weight types.
//
// Thread-safety: Load() is reentrant. A Model is used by one thread at a time (the one that owns
// it): Generate(), Logits(), the override and hook setters must not run concurrently. Const
// accessors (config(), Tensors(), BaseTensor(), BaseWeight()) may be called from any thread while
// no setter runs. Inside a forward pass the model uses its own worker threads (SetThreads()).
#ifndef GEM_MODEL_H_
#define GEM_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/safetensors.h"
#include "gem/status.h"
#include "gem/tokenizer.h"
#include "gem/weight_types.h"

namespace gem {

struct Backend;  // gem/backend.h

struct RopeScaling {
  // "" (none), "linear" (positions divided by factor) or "llama3" (Llama 3.1's frequency-
  // dependent scaling). Other types are rejected at load with NotSupported.
  std::string type;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

// The hyper-parameters of a checkpoint (config.json, or the GGUF's <arch>.* metadata).
struct ModelConfig {
  std::string architecture;  // "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // == num_heads without GQA
  int head_dim = 0;      // hidden_size / num_heads unless config.json says otherwise
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int max_position_embeddings = 0;
  int sliding_window = 0;  // 0 = full attention (Mistral's window when set, in tokens)
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v have biases (Qwen2, or config "attention_bias": true)
  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;  // from generation_config.json / config.json / GGUF
};

// Name and shape of one weight.
struct TensorDesc {
  std::string name;            // Hugging Face name
  std::vector<int64_t> shape;  // PyTorch order, e.g. {out_features, in_features}
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// A base tensor as held: `shape` (PyTorch order) of `type`. `data` (owned by the Model, valid for
// its lifetime) is the row-major bytes (a matrix: shape[0] rows of WeightRowBytes(type,
// shape[1]) bytes; a 1-D tensor: one f32 row), or nullptr when the backend holds the matrix in
// its own layout (the CPU backend packs every quantised type for its kernels; read it
// with Model::BaseTensorF32). `bytes`: what the tensor occupies.
struct WeightView {
  WeightType type = WeightType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;
};

// A per-row addition to the output of a decoder layer's linear projections (LoRA and the like).
// Implementations must be safe to call from the model's owning thread while the model is
// running; Apply is never called concurrently for one model.
class LinearHook {
 public:
  virtual ~LinearHook() = default;
  // `layer`: decoder layer index, 0-based. `module`: one of "q_proj", "k_proj", "v_proj",
  // "o_proj", "gate_proj", "up_proj", "down_proj". `x`: the projection's input, rows x
  // in_features, row-major. `y`: its output (rows x out_features, row-major, bias included),
  // to which Apply ADDS its contribution. row_adapter[i] is the adapter slot of the sequence
  // row i belongs to (GenerateRequest::adapter_slot; -1 = none: leave that row alone).
  virtual void Apply(int layer, std::string_view module, const float* x, int rows, int in_features,
                     float* y, int out_features, std::span<const int32_t> row_adapter) const = 0;
};

struct LoadOptions {
  // Load tokenizer.json / the GGUF vocabulary. When false, or when the checkpoint has none,
  // tokenizer() is nullptr and only token ids can be used. Default: true.
  bool load_tokenizer = true;
  // Worker threads for forward passes (0 = all hardware threads). Can be changed later with
  // Model::SetThreads().
  int threads = 0;
  // How weight matrices are kept (see the file comment): "stored" (their checkpoint type), "f32"
  // (converted: the exact reference path), or a weight type name ("q8_0", "q4_k", ...: f32, f16
  // and bf16 matrices whose width is a multiple of the type's block are quantised to it with
  // QuantizeRow; others stay as stored). Load fails with InvalidArgument for another value.
  // Default: "stored".
  std::string weights = "stored";
  // The backend the forward passes run on (gem/backend.h); nullptr: the CPU backend. The CUDA
  // backend of a GPU is engine/cuda/backend_cuda.h's CudaBackend(device). Not owned; a backend
  // table lives as long as the process. Default: nullptr.
  const Backend* backend = nullptr;
};

class Model {
 public:
  // Loads the checkpoint at `path`: a directory (HF layout or HF cache models--ORG--NAME), a
  // config.json inside one, or a .gguf file. Errors name the file and the problem: NotFound
  // (missing config/weights/tensor), Corruption (truncated or malformed file, a tensor of the
  // wrong shape), NotSupported (unknown architecture, quantisation type or rope scaling).
  static Result<std::unique_ptr<Model>> Load(const std::string& path,
                                             const LoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const;
  // nullptr when the checkpoint has no tokenizer or LoadOptions::load_tokenizer was false.
  const Tokenizer* tokenizer() const;
  // The path the weights were read from (directory or .gguf file).
  const std::string& source() const;
  // "safetensors" or "gguf".
  const std::string& format() const;
  // Ids that end a generation by default: config eos ids plus the tokenizer's stop_ids(),
  // sorted, without duplicates.
  const std::vector<int32_t>& default_stop_ids() const;

  // Every weight, in a stable order (embeddings, then per layer, then norm and head).
  std::vector<TensorDesc> Tensors() const;
  // The immutable base tensor `hf_name` as f32 (row-major), valid for the Model's lifetime;
  // nullptr when there is no such tensor or when it is held in another type (see BaseWeight
  // and BaseTensorF32). When `shape` is non-null it receives the shape (whenever the tensor
  // exists).
  const float* BaseTensor(std::string_view hf_name, std::vector<int64_t>* shape = nullptr) const;
  // The base tensor as held (its type and bytes); false when there is no such tensor.
  bool BaseWeight(std::string_view hf_name, WeightView* out) const;
  // Writes the base tensor's values as f32 (dequantised; numel floats) into out. NotFound for an
  // unknown name.
  Status BaseTensorF32(std::string_view hf_name, float* out) const;
  // The tensor as stored in a safetensors checkpoint (which stays mapped): its dtype and bytes,
  // whatever type the model holds it in. False for a GGUF checkpoint or an unknown name. (Fine-
  // tune deltas are made against the checkpoint's stored words.)
  bool CheckpointTensor(std::string_view hf_name, DType* dtype,
                        std::span<const uint8_t>* bytes) const;
  // Human-readable summary of the weights held: per type, tensors and bytes, e.g.
  // "q4_1: 210 tensors, 66.4 MB; q8_0: 1 tensor, 30.1 MB; f32: 61 tensors, 0.1 MB".
  std::string WeightSummary() const;
  // Bytes of all base weights as held.
  size_t WeightBytes() const;
  // LoadOptions::weights as given ("stored", "f32", "q8_0", ...).
  const std::string& weights_mode() const;
  // "" when every matrix is f32, f16 or bf16 (logits equal the f32 path's); otherwise the
  // integer weight types in use, e.g. "q4_1+q8_0": results computed with them differ from the
  // f32 path's, so caches must key them apart.
  std::string NumericsId() const;
  // The name of the backend the forward passes run on: "cpu", "cuda" (LoadOptions::backend).
  const char* backend_name() const;
  // Weight matrices whose base the backend holds resident in its own memory (gem/backend.h,
  // Backend::weight_alloc): placed there once by Load() and released with the model. 0 for the
  // CPU backend (it reads the host weights in place) and for matrices a backend does not take
  // (the CUDA backend: quantised types; any weight whose upload failed: read from host memory).
  size_t resident_weights() const;
  // Overrides (SetTensorOverride) currently held resident: each is copied to the backend's memory
  // when it is set (a candidate switch re-uploads its changed tensors) and freed when cleared.
  size_t resident_overrides() const;

  // Until cleared, forward passes read `data` (caller-owned, same shape as the base tensor,
  // f32 row-major; must outlive its use) instead of the base tensor `hf_name`. Setting an
  // override again replaces it. On a backend with resident weights a matrix override is also
  // copied into the backend's memory here, and forward passes read that copy: changing `data`
  // afterwards needs another SetTensorOverride to be seen (`data` must still outlive its use:
  // an op whose device work fails is recomputed on the CPU from it). NotFound when the model has no
  // such tensor. data == nullptr is InvalidArgument.
  Status SetTensorOverride(std::string_view hf_name, const float* data);
  // The same with a tensor of any weight type, row-major (a matrix: shape[0] rows of
  // WeightRowBytes(type, shape[1]) bytes). For types the backend keeps in its own layout the
  // Model packs a copy (so `data` may be reused as soon as this returns); other types are read
  // from `data` in place, as above. InvalidArgument for a 1-D tensor of a type other than f32, or
  // a row width that is not a multiple of the type's block.
  Status SetTensorOverride(std::string_view hf_name, WeightType type, const void* data);
  // Drops the override of one tensor (no-op when there is none); NotFound for an unknown name.
  Status ClearTensorOverride(std::string_view hf_name);
  // Drops every override: the model is its base again.
  void ClearTensorOverrides();
  // Number of tensors currently overridden.
  size_t num_overrides() const;

  // Installs `hook` (caller-owned, must outlive its installation); nullptr removes it.
  void SetLinearHook(const LinearHook* hook);
  const LinearHook* linear_hook() const;

  // Threads for forward passes (0 = all hardware threads). Results do not depend on it.
  void SetThreads(int threads);
  int threads() const;

  // Runs one sequence from an empty cache and returns the logits of every position
  // (ids.size() x vocab_size, row-major). For checks against reference implementations.
  // InvalidArgument for an empty sequence or an id outside [0, vocab_size).
  Result<std::vector<float>> Logits(std::span<const int32_t> ids, int32_t adapter_slot = -1);

  struct Impl;  // libgem/src/engine/model_impl.h
  Impl* impl() { return impl_.get(); }
  const Impl* impl() const { return impl_.get(); }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gem

#endif  // GEM_MODEL_H_
