// Copyright the gem authors. Delta checkpoints: writing, reading and rebuilding
// (gem/delta_checkpoint.h, docs/DELTA_FORMAT.md).
//
// A checkpoint is trusted no more than a downloaded model: its delta names the base it was made
// against and the digest of the weights it rebuilds, and both are checked before it counts.
#include "gem/delta_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gem/tree.h"
#include "tree/delta_internal.h"
#include "tree/tree_internal.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kHint = " (maybe the wrong base model?)";

// Weights and their indexes: never copied beside a delta, never copied from a base.
bool IsWeightsFile(const std::string& name) {
  for (const char* ext : {".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack",
                          ".ckpt", ".gemdelta", ".tmp"}) {
    const size_t n = std::strlen(ext);
    if (name.size() >= n && name.compare(name.size() - n, n, ext) == 0) return true;
  }
  return name.find(".safetensors.index.json") != std::string::npos ||
         name.find(".bin.index.json") != std::string::npos;
}

// The small files at the top level of `dir`, sorted by name.
std::vector<std::string> SmallFiles(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    if (!IsWeightsFile(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool SameBytes(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  return std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(fb), std::istreambuf_iterator<char>());
}

Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::IOError(to, "cannot copy " + from + ": " + ec.message());
  return Status::OK();
}

// The fine-tune's specs in name order: the delta's stored tensors, the base's for the rest.
std::vector<TensorSpec> RebuiltSpecs(const SafetensorsSet& base, const DeltaFile& delta) {
  std::vector<TensorSpec> specs;
  for (const std::string& name : base.Names()) {
    const DeltaTensor* t = delta.Find(name);
    const TensorInfo* b = base.Find(name).info;
    specs.push_back({name, t != nullptr ? t->dtype : b->dtype, b->shape});
  }
  return specs;
}

Status RebuiltBytes(const SafetensorsSet& base, const DeltaFile& delta, const std::string& name,
                    std::vector<uint8_t>* out) {
  const SafetensorsSet::Entry b = base.Find(name);
  const auto base_bytes = b.file->Bytes(*b.info);
  if (const DeltaTensor* t = delta.Find(name)) return delta.ReconstructRaw(*t, base_bytes, out);
  out->assign(base_bytes.begin(), base_bytes.end());
  return Status::OK();
}

// The digest of the rebuilt weights, streaming one tensor at a time.
Result<Digest> RebuiltDigest(const SafetensorsSet& base, const DeltaFile& delta) {
  Hasher h;
  tree_internal::StartWeightsDigest(&h);
  std::vector<uint8_t> bytes;
  for (const TensorSpec& s : RebuiltSpecs(base, delta)) {
    GEM_RETURN_IF_ERROR(RebuiltBytes(base, delta, s.name, &bytes));
    tree_internal::HashTensor(&h, s.name, s.dtype, s.shape, bytes);
  }
  return h.Finish();
}

Result<std::unique_ptr<SafetensorsSet>> OpenBase(const std::string& base_dir, json* config) {
  auto cfg = tree_internal::ReadConfig(base_dir);
  if (!cfg.ok()) return cfg.status().WithContext("base");
  *config = std::move(cfg).value();
  auto base = SafetensorsSet::Open(base_dir);
  if (!base.ok()) return base.status().WithContext("base");
  return base;
}

}  // namespace

namespace tree_internal {

Status OpenDeltaCheckpoint(const json& base_config, const SafetensorsSet& base,
                           const Digest& base_digest, const std::string& dir,
                           std::unique_ptr<DeltaFile>* delta) {
  auto config = ReadConfig(dir);
  if (!config.ok()) return config.status();
  GEM_RETURN_IF_ERROR(CheckArchitecture(base_config, *config).WithContext(dir));
  GEM_RETURN_IF_ERROR(CheckHyperParameters(base_config, *config).WithContext(dir));
  const std::string path = dir + "/" + kDeltaCheckpointFile;
  auto d = DeltaFile::Open(path);
  if (!d.ok()) return d.status();
  const DeltaFile& f = **d;
  if (f.form() != DeltaForm::kXor) {
    return Status::InvalidArgument(path, std::string("is a lossy (") + DeltaFormName(f.form()) +
                                             ") delta: a delta checkpoint must be the lossless "
                                             "xor form, from which the fine-tune is rebuilt");
  }
  if (f.base_digest() != base_digest) {
    return Status::InvalidArgument(path, "was made against the base with weights digest " +
                                             f.base_digest().ShortHex() + ", not this base (" +
                                             base_digest.ShortHex() + ")" + kHint);
  }
  if (f.tensors_total() != base.size()) {
    return Status::Corruption(path, "says the fine-tune has " + std::to_string(f.tensors_total()) +
                                        " tensors but the base has " + std::to_string(base.size()));
  }
  for (const DeltaTensor& t : f.tensors()) {
    const SafetensorsSet::Entry b = base.Find(t.name);
    if (b.file == nullptr) {
      return Status::Corruption(path, "stores tensor '" + t.name + "', which the base lacks");
    }
    if (t.shape != b.info->shape || t.base_dtype != b.info->dtype) {
      return Status::Corruption(path,
                                "tensor '" + t.name + "' does not have the base's shape and dtype");
    }
  }
  *delta = std::move(d).value();
  return Status::OK();
}

Status RebuildWeights(const SafetensorsSet& base, const DeltaFile& delta, const std::string& path) {
  const std::vector<TensorSpec> specs = RebuiltSpecs(base, delta);
  Hasher h;
  StartWeightsDigest(&h);
  GEM_RETURN_IF_ERROR(WriteSafetensors(
      path, specs,
      [&](size_t i, std::vector<uint8_t>* bytes) {
        GEM_RETURN_IF_ERROR(RebuiltBytes(base, delta, specs[i].name, bytes));
        HashTensor(&h, specs[i].name, specs[i].dtype, specs[i].shape, *bytes);
        return Status::OK();
      },
      {{"format", "pt"}}));  // transformers refuses safetensors without a known "format"
  const Digest got = h.Finish();
  if (got != delta.model_digest()) {
    std::error_code ec;
    fs::remove(path, ec);
    return Status::Corruption(delta.path(), "rebuilds weights with digest " + got.ShortHex() +
                                                ", not the " + delta.model_digest().ShortHex() +
                                                " it names");
  }
  return Status::OK();
}

}  // namespace tree_internal

bool IsDeltaCheckpoint(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir + "/" + kDeltaCheckpointFile, ec) &&
         !fs::exists(dir + "/model.safetensors", ec) &&
         !fs::exists(dir + "/model.safetensors.index.json", ec);
}

Result<DeltaCheckpointInfo> WriteDeltaCheckpoint(const std::string& base_dir,
                                                 const std::string& finetune_dir,
                                                 const std::string& out_dir, int zstd_level) {
  json base_config;
  auto base = OpenBase(base_dir, &base_config);
  if (!base.ok()) return base.status();
  std::error_code ec;
  if (fs::exists(out_dir, ec) && fs::equivalent(out_dir, finetune_dir, ec)) {
    return Status::InvalidArgument(out_dir,
                                   "is the fine-tune's own directory: write the delta "
                                   "checkpoint to another one");
  }
  if (fs::exists(out_dir + "/model.safetensors", ec) ||
      fs::exists(out_dir + "/model.safetensors.index.json", ec)) {
    return Status::InvalidArgument(out_dir,
                                   "already holds model weights (model.safetensors), "
                                   "which would hide the delta: choose an empty "
                                   "directory");
  }
  if (fs::exists(finetune_dir + "/adapter_config.json", ec)) {
    return Status::InvalidArgument(finetune_dir,
                                   "is a LoRA adapter, not a full fine-tune (adapters are small "
                                   "already: a tree names them as they are)");
  }
  std::unique_ptr<SafetensorsSet> ft;
  GEM_RETURN_IF_ERROR(
      tree_internal::CheckFits(base_config, **base, finetune_dir, &ft).WithContext("fine-tune"));
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError(out_dir, "cannot create: " + ec.message());

  DeltaCheckpointInfo info;
  info.model_digest = WeightsDigest(*ft);
  info.base_digest = WeightsDigest(**base);
  DeltaWriteOptions wo;
  wo.zstd_level = zstd_level;
  wo.model_digest = info.model_digest;
  wo.base_digest = info.base_digest;
  wo.keep_dtype_changes = true;  // every tensor comes back in the fine-tune's own dtype
  wo.threads = 0;                // a command-line tool: zstd level 19 on every core
  // Stored and shipped, applied once at rebuild: the smallest encoding ("xor"), not "ulp".
  wo.fast_apply = false;
  const std::string delta_path = out_dir + "/" + kDeltaCheckpointFile;
  auto stats = WriteDelta(**base, *ft, DeltaForm::kXor, delta_path, wo);
  if (!stats.ok()) return stats.status();
  info.delta = *stats;
  auto written = DeltaFile::Open(delta_path);
  if (!written.ok()) return written.status();
  auto rebuilt = RebuiltDigest(**base, **written);
  if (!rebuilt.ok() || *rebuilt != info.model_digest) {
    fs::remove(delta_path, ec);
    return Status::Internal(finetune_dir, "the delta written does not rebuild the fine-tune " +
                                              (rebuilt.ok() ? std::string("(digest differs)")
                                                            : rebuilt.status().ToString()));
  }

  for (const std::string& name : SmallFiles(finetune_dir)) {
    const std::string from = finetune_dir + "/" + name;
    if (name != "config.json" && SameBytes(from, base_dir + "/" + name)) continue;
    GEM_RETURN_IF_ERROR(CopyFile(from, out_dir + "/" + name));
    info.files.push_back(name);
  }
  return info;
}

Result<DeltaCheckpointInfo> ReadDeltaCheckpoint(const std::string& dir) {
  if (!IsDeltaCheckpoint(dir)) {
    return Status::NotFound(dir, std::string("not a delta checkpoint (no ") + kDeltaCheckpointFile +
                                     ", or it holds safetensors weights)");
  }
  auto d = DeltaFile::Open(dir + "/" + kDeltaCheckpointFile);
  if (!d.ok()) return d.status();
  DeltaCheckpointInfo info;
  info.model_digest = (*d)->model_digest();
  info.base_digest = (*d)->base_digest();
  info.delta = (*d)->Stats();
  info.files = SmallFiles(dir);
  return info;
}

Result<Digest> RebuildDeltaCheckpoint(const std::string& base_dir,
                                      const std::string& checkpoint_dir,
                                      const std::string& out_dir) {
  json base_config;
  auto base = OpenBase(base_dir, &base_config);
  if (!base.ok()) return base.status();
  if (!IsDeltaCheckpoint(checkpoint_dir)) {
    return Status::NotFound(checkpoint_dir, std::string("not a delta checkpoint (no ") +
                                                kDeltaCheckpointFile +
                                                ", or it holds safetensors weights)");
  }
  std::unique_ptr<DeltaFile> delta;
  GEM_RETURN_IF_ERROR(tree_internal::OpenDeltaCheckpoint(base_config, **base, WeightsDigest(**base),
                                                         checkpoint_dir, &delta));
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError(out_dir, "cannot create: " + ec.message());
  GEM_RETURN_IF_ERROR(
      tree_internal::RebuildWeights(**base, *delta, out_dir + "/model.safetensors"));
  const std::vector<std::string> own = SmallFiles(checkpoint_dir);
  for (const std::string& name : own) {
    GEM_RETURN_IF_ERROR(CopyFile(checkpoint_dir + "/" + name, out_dir + "/" + name));
  }
  for (const std::string& name : SmallFiles(base_dir)) {
    if (std::binary_search(own.begin(), own.end(), name)) continue;
    GEM_RETURN_IF_ERROR(CopyFile(base_dir + "/" + name, out_dir + "/" + name));
  }
  return delta->model_digest();
}

}  // namespace gem
