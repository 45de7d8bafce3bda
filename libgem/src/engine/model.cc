// Copyright the gem authors. Model: loading entry point, the weight registry, overrides, hooks.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "engine/model_impl.h"
#include "gem/file.h"

namespace gem {
namespace {

namespace fs = std::filesystem;

// Resolves the HF cache layout models--ORG--NAME to one snapshot directory: the revision named
// by refs/main when present, else the only (or most recently modified) snapshot.
Result<std::string> ResolveHfCache(const fs::path& root) {
  fs::path snapshots = root / "snapshots";
  std::error_code ec;
  std::ifstream ref(root / "refs" / "main");
  std::string rev;
  if (ref && std::getline(ref, rev) && !rev.empty() && fs::is_directory(snapshots / rev, ec)) {
    return (snapshots / rev).string();
  }
  fs::path best;
  fs::file_time_type best_time{};
  for (const auto& e : fs::directory_iterator(snapshots, ec)) {
    if (!e.is_directory()) continue;
    auto t = e.last_write_time(ec);
    if (best.empty() || t > best_time) {
      best = e.path();
      best_time = t;
    }
  }
  if (best.empty()) {
    return Status::NotFound(root.string(), "Hugging Face cache folder without snapshots/");
  }
  return best.string();
}

bool IsGgufFile(const std::string& path) {
  int fd = -1;
  uint64_t size = 0;
  if (!OpenRegularFile(path, &fd, &size).ok()) return false;  // a FIFO must not block us
  char magic[4] = {};
  bool gguf = ::read(fd, magic, 4) == 4 && std::equal(magic, magic + 4, "GGUF");
  ::close(fd);
  return gguf;
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Model::Impl::~Impl() {
  if (backend == nullptr || backend->weight_free == nullptr) return;
  for (auto& w : weights) {
    backend->weight_free(w->override_resident);
    backend->weight_free(w->base.resident);
  }
}

void UploadResidentWeights(Model::Impl* impl) {
  if (impl->backend->weight_alloc == nullptr) return;
  for (auto& w : impl->weights) {
    if (w->shape.size() != 2) continue;  // 1-D tensors are read by host-side ops
    w->base.resident = impl->backend->weight_alloc(w->base);
    w->active = w->base;
  }
}

namespace {

// Drops the resident copy of `e`'s override, if any (the base's copy stays).
void FreeOverrideResident(Model::Impl* impl, WeightEntry* e) {
  if (e->override_resident == nullptr) return;
  impl->backend->weight_free(e->override_resident);
  e->override_resident = nullptr;
}

// Places the override now in e->active in the backend's memory (a backend with resident weights):
// the changed tensor reaches the device once per switch, not at every matmul.
void UploadOverride(Model::Impl* impl, WeightEntry* e) {
  FreeOverrideResident(impl, e);
  e->active.resident = nullptr;
  if (impl->backend->weight_alloc == nullptr || e->shape.size() != 2) return;
  e->override_resident = impl->backend->weight_alloc(e->active);
  e->active.resident = e->override_resident;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::Load(const std::string& path_in, const LoadOptions& options) {
  std::error_code ec;
  fs::path path(path_in);
  if (!fs::exists(path, ec)) return Status::NotFound(path_in, "no such file or directory");
  auto impl = std::make_unique<Impl>();
  impl->backend = options.backend != nullptr ? options.backend : CpuBackend();
  impl->weights_mode = options.weights;
  auto policy = ParseWeightPolicy(options.weights);
  if (!policy.ok()) return policy.status();
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(path / "config.json", ec) && fs::is_directory(path / "snapshots", ec)) {
      auto snap = ResolveHfCache(path);
      if (!snap.ok()) return snap.status();
      path = *snap;
    }
    if (!fs::exists(path / "config.json", ec)) {
      // A directory holding exactly one .gguf file is accepted too.
      std::vector<fs::path> ggufs;
      for (const auto& e : fs::directory_iterator(path, ec)) {
        if (e.path().extension() == ".gguf") ggufs.push_back(e.path());
      }
      if (ggufs.size() == 1) {
        path = ggufs[0];
      } else {
        return Status::NotFound(path.string(),
                                "no config.json (not a Hugging Face model "
                                "directory) and no single .gguf file");
      }
    }
  } else if (path.filename() == "config.json") {
    path = path.parent_path();
  }
  Status s;
  if (fs::is_directory(path, ec)) {
    impl->format = "safetensors";
    impl->source = path.string();
    s = LoadHfDirectory(path.string(), options, *policy, impl.get());
  } else {
    if (!IsGgufFile(path.string())) {
      return Status::InvalidArgument(path.string(),
                                     "not a GGUF file, model directory or config.json");
    }
    impl->format = "gguf";
    impl->source = path.string();
    s = LoadGguf(path.string(), options, *policy, impl.get());
  }
  if (!s.ok()) return s;
  UploadResidentWeights(impl.get());
  std::vector<int32_t> stops = impl->config.eos_ids;
  if (impl->tokenizer) {
    for (int32_t id : impl->tokenizer->stop_ids()) stops.push_back(id);
  }
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  impl->default_stop_ids = std::move(stops);
  std::unique_ptr<Model> model(new Model(std::move(impl)));
  model->SetThreads(options.threads);
  return model;
}

Result<WeightPolicy> ParseWeightPolicy(const std::string& mode) {
  WeightPolicy p;
  if (mode == "stored" || mode.empty()) return p;
  if (mode == "f32") {
    p.to_f32 = true;
    return p;
  }
  auto t = ParseWeightType(mode);
  if (!t.ok()) {
    return Status::InvalidArgument("LoadOptions::weights '" + mode + "'",
                                   "expected stored, f32 or a weight type (f16, bf16, q8_0, "
                                   "q4_0, q4_1, q5_0, q5_1, q4_k, q6_k)");
  }
  p.quantize = true;
  p.type = *t;
  return p;
}

namespace {

// The row that destination row r of a q/k matrix takes: llama.cpp's converter reorders the rows
// of each head from HF's [half, i] (rotate_half RoPE) to [i, half] (interleaved RoPE).
int64_t UnpermutedSource(int64_t r, int64_t rows, int heads) {
  const int64_t hd = rows / heads, half = hd / 2;
  const int64_t h = r / hd, within = r % hd, s = within / half, i = within % half;
  return h * hd + 2 * i + s;
}

bool IsFloatType(WeightType t) {
  return t == WeightType::kF32 || t == WeightType::kF16 || t == WeightType::kBF16;
}

}  // namespace

WeightEntry* AddOwnedWeight(Model::Impl* impl, const TensorDesc& desc, WeightType type,
                            std::vector<uint8_t> owned, bool packed) {
  auto e = std::make_unique<WeightEntry>();
  e->name = desc.name;
  e->shape = desc.shape;
  e->owned = std::move(owned);
  e->base.type = type;
  e->base.data = e->owned.data();
  e->base.rows = desc.shape.size() == 2 ? desc.shape[0] : 1;
  e->base.cols = desc.shape.back();
  e->base.packed = packed;
  e->active = e->base;
  WeightEntry* raw = e.get();
  impl->by_name[e->name] = raw;
  impl->weights.push_back(std::move(e));
  return raw;
}

Status AddWeight(Model::Impl* impl, const TensorDesc& desc, WeightType type, const uint8_t* bytes,
                 const WeightPolicy& policy, const MappedFile* mapping, int unpermute_heads) {
  const bool matrix = desc.shape.size() == 2;
  const int64_t rows = matrix ? desc.shape[0] : 1, cols = desc.shape.back();
  const size_t src_row = WeightRowBytes(type, cols);
  if (src_row == 0) {
    return Status::Corruption(desc.name, std::string("row of ") + std::to_string(cols) +
                                             " elements is not a whole number of " +
                                             WeightTypeName(type) + " blocks");
  }
  // The type the tensor will be held in.
  WeightType held = type;
  if (!matrix || policy.to_f32) {
    held = WeightType::kF32;
  } else if (policy.quantize && IsFloatType(type) && WeightRowBytes(policy.type, cols) != 0) {
    held = policy.type;
  }
  // The backend's own layout (the CPU backend packs the quantised types).
  const size_t packed_bytes = matrix ? impl->backend->packed_bytes(held, rows, cols) : 0;
  const size_t align = held == WeightType::kF32 ? 4 : (IsFloatType(held) ? 2 : 1);
  if (held == type && unpermute_heads == 0 && mapping != nullptr && packed_bytes == 0 &&
      reinterpret_cast<uintptr_t>(bytes) % align == 0) {
    // In place: pages shared with the page cache, read on first use.
    auto e = std::make_unique<WeightEntry>();
    e->name = desc.name;
    e->shape = desc.shape;
    e->base = Weight{type, bytes, rows, cols, false};
    e->active = e->base;
    impl->by_name[e->name] = e.get();
    impl->weights.push_back(std::move(e));
    return Status::OK();
  }
  // Row-major bytes of the held type: the source itself, or converted / reordered rows.
  const size_t dst_row = WeightRowBytes(held, cols);
  std::vector<uint8_t> row_major;
  const bool pack_from_source = packed_bytes > 0 && held == type && unpermute_heads == 0;
  if (!pack_from_source) {
    row_major.resize(dst_row * rows);
    std::vector<float> tmp(held == type ? 0 : static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t from = unpermute_heads > 0 ? UnpermutedSource(r, rows, unpermute_heads) : r;
      const uint8_t* src = bytes + src_row * from;
      uint8_t* dst = row_major.data() + dst_row * r;
      if (held == type) {
        std::memcpy(dst, src, dst_row);
      } else if (held == WeightType::kF32) {
        DequantizeRow(type, src, cols, reinterpret_cast<float*>(dst));
      } else {
        DequantizeRow(type, src, cols, tmp.data());
        QuantizeRow(held, tmp.data(), cols, dst);
      }
    }
  }
  std::vector<uint8_t> owned;
  if (packed_bytes > 0) {
    owned.resize(packed_bytes);
    impl->backend->pack_weight(held, pack_from_source ? bytes : row_major.data(), rows, cols,
                               owned.data());
  } else {
    owned = std::move(row_major);
  }
  if (mapping != nullptr) mapping->ReleasePages(bytes, src_row * rows);
  AddOwnedWeight(impl, desc, held, std::move(owned), packed_bytes > 0);
  return Status::OK();
}

void WireWeights(Model::Impl* m) {
  auto get = [m](const std::string& n) -> WeightEntry* {
    auto it = m->by_name.find(n);
    return it == m->by_name.end() ? nullptr : it->second;
  };
  m->embed = get("model.embed_tokens.weight");
  m->final_norm = get("model.norm.weight");
  m->lm_head = m->config.tie_word_embeddings ? nullptr : get("lm_head.weight");
  m->layers.assign(m->config.num_layers, {});
  for (int l = 0; l < m->config.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& w = m->layers[l];
    w.in_norm = get(p + "input_layernorm.weight");
    w.q = get(p + "self_attn.q_proj.weight");
    w.k = get(p + "self_attn.k_proj.weight");
    w.v = get(p + "self_attn.v_proj.weight");
    w.o = get(p + "self_attn.o_proj.weight");
    w.q_bias = get(p + "self_attn.q_proj.bias");
    w.k_bias = get(p + "self_attn.k_proj.bias");
    w.v_bias = get(p + "self_attn.v_proj.bias");
    w.post_norm = get(p + "post_attention_layernorm.weight");
    w.gate = get(p + "mlp.gate_proj.weight");
    w.up = get(p + "mlp.up_proj.weight");
    w.down = get(p + "mlp.down_proj.weight");
  }
  m->inv_freq = RopeInvFreq(m->config);
}

const ModelConfig& Model::config() const { return impl_->config; }
const Tokenizer* Model::tokenizer() const { return impl_->tokenizer.get(); }
const std::string& Model::source() const { return impl_->source; }
const std::string& Model::format() const { return impl_->format; }
const std::vector<int32_t>& Model::default_stop_ids() const { return impl_->default_stop_ids; }

std::vector<TensorDesc> Model::Tensors() const {
  std::vector<TensorDesc> out;
  out.reserve(impl_->weights.size());
  for (const auto& w : impl_->weights) out.push_back({w->name, w->shape});
  return out;
}

const float* Model::BaseTensor(std::string_view name, std::vector<int64_t>* shape) const {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) return nullptr;
  if (shape != nullptr) *shape = it->second->shape;
  const Weight& b = it->second->base;
  return b.type == WeightType::kF32 ? static_cast<const float*>(b.data) : nullptr;
}

bool Model::BaseWeight(std::string_view name, WeightView* out) const {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) return false;
  const WeightEntry& e = *it->second;
  out->type = e.base.type;
  out->shape = e.shape;
  out->data = e.base.packed ? nullptr : e.base.data;
  out->bytes = e.bytes();
  return true;
}

Status Model::BaseTensorF32(std::string_view name, float* out) const {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) {
    return Status::NotFound(impl_->source, "no tensor '" + std::string(name) + "'");
  }
  const Weight& b = it->second->base;
  std::vector<uint8_t> row(WeightRowBytes(b.type, b.cols));
  for (int64_t r = 0; r < b.rows; ++r) {
    impl_->backend->unpack_row(b, r, row.data());
    DequantizeRow(b.type, row.data(), b.cols, out + r * b.cols);
  }
  return Status::OK();
}

bool Model::CheckpointTensor(std::string_view name, DType* dtype,
                             std::span<const uint8_t>* bytes) const {
  if (impl_->safetensors == nullptr) return false;
  auto e = impl_->safetensors->Find(name);
  if (e.file == nullptr) return false;
  *dtype = e.info->dtype;
  *bytes = e.file->Bytes(*e.info);
  return true;
}

std::string Model::WeightSummary() const {
  std::map<int, std::pair<int, size_t>> by_type;  // type -> tensors, bytes
  for (const auto& w : impl_->weights) {
    auto& t = by_type[static_cast<int>(w->base.type)];
    ++t.first;
    t.second += w->bytes();
  }
  std::string out;
  // Largest share first.
  std::vector<std::pair<int, std::pair<int, size_t>>> v(by_type.begin(), by_type.end());
  std::sort(v.begin(), v.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  for (const auto& [type, tb] : v) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s%s: %d tensor%s, %.1f MB", out.empty() ? "" : "; ",
                  WeightTypeName(static_cast<WeightType>(type)), tb.first, tb.first == 1 ? "" : "s",
                  tb.second / 1e6);
    out += buf;
  }
  return out;
}

size_t Model::WeightBytes() const {
  size_t n = 0;
  for (const auto& w : impl_->weights) n += w->bytes();
  return n;
}

const std::string& Model::weights_mode() const { return impl_->weights_mode; }

const char* Model::backend_name() const { return impl_->backend->name; }

std::string Model::NumericsId() const {
  std::vector<int> types;
  for (const auto& w : impl_->weights) {
    if (WeightTypeIsQuantized(w->base.type)) types.push_back(static_cast<int>(w->base.type));
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string id;
  for (int t : types) {
    id += (id.empty() ? "" : "+") + std::string(WeightTypeName(static_cast<WeightType>(t)));
  }
  return id;
}

Status Model::SetTensorOverride(std::string_view name, const float* data) {
  return SetTensorOverride(name, WeightType::kF32, data);
}

Status Model::SetTensorOverride(std::string_view name, WeightType type, const void* data) {
  if (data == nullptr) {
    return Status::InvalidArgument("SetTensorOverride",
                                   "null data for '" + std::string(name) + "'");
  }
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) {
    return Status::NotFound(impl_->source, "no tensor '" + std::string(name) + "' to override");
  }
  WeightEntry* e = it->second;
  if (e->shape.size() != 2 && type != WeightType::kF32) {
    return Status::InvalidArgument(
        "SetTensorOverride",
        "'" + std::string(name) + "' is 1-D and must be f32, not " + WeightTypeName(type));
  }
  if (WeightRowBytes(type, e->base.cols) == 0) {
    return Status::InvalidArgument(
        "SetTensorOverride", "'" + std::string(name) + "' rows of " + std::to_string(e->base.cols) +
                                 " are not whole " + WeightTypeName(type) + " blocks");
  }
  const size_t packed_bytes =
      e->shape.size() == 2 ? impl_->backend->packed_bytes(type, e->base.rows, e->base.cols) : 0;
  if (type == WeightType::kF32 || packed_bytes == 0) {
    e->active = Weight{type, data, e->base.rows, e->base.cols, false};
    UploadOverride(impl_.get(), e);
    return Status::OK();
  }
  // The backend reads this type in its own layout: pack a copy, kept until the next override of
  // this tensor replaces it (its storage is reused).
  std::vector<uint8_t>& buf = impl_->override_storage[e->name];
  buf.resize(packed_bytes);
  impl_->backend->pack_weight(type, data, e->base.rows, e->base.cols, buf.data());
  e->active = Weight{type, buf.data(), e->base.rows, e->base.cols, true};
  UploadOverride(impl_.get(), e);
  return Status::OK();
}

Status Model::ClearTensorOverride(std::string_view name) {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) {
    return Status::NotFound(impl_->source, "no tensor '" + std::string(name) + "'");
  }
  FreeOverrideResident(impl_.get(), it->second);
  it->second->active = it->second->base;
  return Status::OK();
}

void Model::ClearTensorOverrides() {
  for (auto& w : impl_->weights) {
    FreeOverrideResident(impl_.get(), w.get());
    w->active = w->base;
  }
}

size_t Model::resident_weights() const {
  size_t n = 0;
  for (const auto& w : impl_->weights) n += w->base.resident != nullptr;
  return n;
}

size_t Model::resident_overrides() const {
  size_t n = 0;
  for (const auto& w : impl_->weights) n += w->override_resident != nullptr;
  return n;
}

size_t Model::num_overrides() const {
  size_t n = 0;
  for (const auto& w : impl_->weights) n += w->active.data != w->base.data;
  return n;
}

void Model::SetLinearHook(const LinearHook* hook) { impl_->hook = hook; }
const LinearHook* Model::linear_hook() const { return impl_->hook; }

void Model::SetThreads(int threads) {
  impl_->threads_requested = threads;
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  impl_->ctx.threads = std::max(1, n);
}

int Model::threads() const { return impl_->ctx.threads; }

Result<std::vector<float>> Model::Logits(std::span<const int32_t> ids, int32_t adapter_slot) {
  if (ids.empty()) return Status::InvalidArgument("Logits", "empty sequence");
  for (int32_t id : ids) {
    if (id < 0 || id >= impl_->config.vocab_size) {
      return Status::InvalidArgument("Logits",
                                     "token id " + std::to_string(id) + " outside [0, vocab_size)");
    }
  }
  SeqCache cache;
  std::vector<BatchSeq> seqs(1);
  seqs[0].cache = &cache;
  seqs[0].tokens = ids.data();
  seqs[0].n = static_cast<int>(ids.size());
  seqs[0].adapter_slot = adapter_slot;
  seqs[0].logits = 2;
  std::vector<float> logits;
  GEM_RETURN_IF_ERROR(ForwardBatch(impl_.get(), seqs, &logits));
  return logits;
}

}  // namespace gem
