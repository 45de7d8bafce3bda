// Copyright the gem authors. Model: loading entry point, the weight registry, overrides, hooks.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

Result<std::unique_ptr<Model>> Model::Load(const std::string& path_in, const LoadOptions& options) {
  std::error_code ec;
  fs::path path(path_in);
  if (!fs::exists(path, ec)) return Status::NotFound(path_in, "no such file or directory");
  auto impl = std::make_unique<Impl>();
  impl->backend = CpuBackend();
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
    s = LoadHfDirectory(path.string(), options, impl.get());
  } else {
    if (!IsGgufFile(path.string())) {
      return Status::InvalidArgument(path.string(),
                                     "not a GGUF file, model directory or config.json");
    }
    impl->format = "gguf";
    impl->source = path.string();
    s = LoadGguf(path.string(), options, impl.get());
  }
  if (!s.ok()) return s;
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

WeightEntry* AddWeight(Model::Impl* impl, const TensorDesc& desc, std::vector<float> owned,
                       const float* mapped) {
  auto e = std::make_unique<WeightEntry>();
  e->name = desc.name;
  e->shape = desc.shape;
  e->owned = std::move(owned);
  e->base = mapped != nullptr ? mapped : e->owned.data();
  e->active = e->base;
  WeightEntry* raw = e.get();
  impl->by_name[e->name] = raw;
  impl->weights.push_back(std::move(e));
  return raw;
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
  return it->second->base;
}

Status Model::SetTensorOverride(std::string_view name, const float* data) {
  if (data == nullptr) {
    return Status::InvalidArgument("SetTensorOverride",
                                   "null data for '" + std::string(name) + "'");
  }
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) {
    return Status::NotFound(impl_->source, "no tensor '" + std::string(name) + "' to override");
  }
  it->second->active = data;
  return Status::OK();
}

Status Model::ClearTensorOverride(std::string_view name) {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) {
    return Status::NotFound(impl_->source, "no tensor '" + std::string(name) + "'");
  }
  it->second->active = it->second->base;
  return Status::OK();
}

void Model::ClearTensorOverrides() {
  for (auto& w : impl_->weights) w->active = w->base;
}

size_t Model::num_overrides() const {
  size_t n = 0;
  for (const auto& w : impl_->weights) n += w->active != w->base;
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
