// Copyright the gem authors. .safetensors files and sharded checkpoints.
//
// Every check here exists because a checkpoint on disk is untrusted input: a downloaded file may
// be truncated, an index may name a shard that was never fetched. Validation happens once, in
// Open(), so that later reads are plain pointer arithmetic.
#include "gem/safetensors.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gem/file.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool ParseDType(const std::string& s, DType* out) {
  static const std::pair<const char*, DType> kNames[] = {
      {"F64", DType::kF64},   {"F32", DType::kF32},        {"F16", DType::kF16},
      {"BF16", DType::kBF16}, {"I64", DType::kI64},        {"I32", DType::kI32},
      {"I16", DType::kI16},   {"I8", DType::kI8},          {"U8", DType::kU8},
      {"BOOL", DType::kBool}, {"F8_E4M3", DType::kF8E4M3}, {"F8_E5M2", DType::kF8E5M2},
  };
  for (const auto& [name, dt] : kNames) {
    if (s == name) {
      *out = dt;
      return true;
    }
  }
  return false;
}

Status Bad(const std::string& path, const std::string& what) {
  return Status::Corruption(path, what);
}

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->file_ = std::move(mapped).value();
  const uint8_t* data = f->file_->data();
  const uint64_t size = f->file_->size();
  if (size < 8) {
    return Bad(path, "truncated: " + std::to_string(size) +
                         " bytes, too short for the 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | data[i];
  if (header_len > size - 8) {
    return Bad(path, "truncated header: header length " + std::to_string(header_len) +
                         " but only " + std::to_string(size - 8) + " bytes follow");
  }
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  std::string_view text(reinterpret_cast<const char*>(data + 8), header_len);
  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return Bad(path, "header is not valid JSON");
  if (!header.is_object()) return Bad(path, "header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return Bad(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (m.value().is_string()) f->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!v.is_object()) return Bad(path, where + "entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) return Bad(path, where + "missing dtype");
    if (sh == v.end() || !sh->is_array()) return Bad(path, where + "missing shape");
    if (off == v.end() || !off->is_array() || off->size() != 2) {
      return Bad(path, where + "data_offsets must be [begin, end]");
    }
    TensorInfo t;
    t.name = name;
    if (!ParseDType(dt->get<std::string>(), &t.dtype)) {
      return Bad(path, where + "unknown dtype '" + dt->get<std::string>() + "'");
    }
    uint64_t numel = 1;
    for (const json& d : *sh) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return Bad(path, where + "shape has a non-integer or negative dimension");
      }
      uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / dim) {
        return Bad(path, where + "shape overflows");
      }
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    for (const json& o : *off) {
      if (!o.is_number_integer() || o.get<int64_t>() < 0) {
        return Bad(path, where + "data_offsets are not non-negative integers");
      }
    }
    uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return Bad(path, where + "data_offsets [" + std::to_string(begin) + ", " +
                           std::to_string(end) + "] outside the data section of " +
                           std::to_string(data_size) + " bytes (file truncated?)");
    }
    uint64_t want = numel * DTypeSize(t.dtype);
    if (end - begin != want) {
      return Bad(path, where + "byte span " + std::to_string(end - begin) +
                           " != " + std::to_string(want) + " expected for " + DTypeName(t.dtype) +
                           " of " + std::to_string(numel) + " elements");
    }
    t.offset = data_start + begin;
    t.nbytes = want;
    f->tensors_.push_back(std::move(t));
  }
  // Header order is not preserved by nlohmann's object (sorted), so order by file offset, which
  // is the writer's order.
  std::stable_sort(f->tensors_.begin(), f->tensors_.end(),
                   [](const TensorInfo& a, const TensorInfo& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

const TensorInfo* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::ReadF32(const TensorInfo& t, float* dst) const {
  Status s = ConvertToF32(t.dtype, file_->data() + t.offset, static_cast<size_t>(t.numel()), dst);
  if (!s.ok()) return s.WithContext(path() + ": tensor '" + t.name + "'");
  return s;
}

Result<std::vector<float>> SafetensorsFile::ReadF32(std::string_view name) const {
  const TensorInfo* t = Find(name);
  if (t == nullptr) return Status::NotFound(path(), "no tensor '" + std::string(name) + "'");
  std::vector<float> out(static_cast<size_t>(t->numel()));
  GEM_RETURN_IF_ERROR(ReadF32(*t, out.data()));
  return out;
}

Result<std::unique_ptr<SafetensorsSet>> SafetensorsSet::Open(const std::string& path) {
  std::error_code ec;
  std::string index_path, single_path;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    if (fs::exists(dir / "model.safetensors.index.json", ec)) {
      index_path = (dir / "model.safetensors.index.json").string();
    } else if (fs::exists(dir / "model.safetensors", ec)) {
      single_path = (dir / "model.safetensors").string();
    } else {
      return Status::NotFound(path, "no model.safetensors or model.safetensors.index.json");
    }
  } else if (path.size() >= 5 && path.substr(path.size() - 5) == ".json") {
    index_path = path;
  } else {
    single_path = path;
  }

  std::unique_ptr<SafetensorsSet> set(new SafetensorsSet());
  set->source_ = path;
  if (!single_path.empty()) {
    auto f = SafetensorsFile::Open(single_path);
    if (!f.ok()) return f.status();
    set->files_.push_back(std::move(f).value());
    for (const TensorInfo& t : set->files_[0]->tensors()) {
      set->entries_[t.name] = Entry{set->files_[0].get(), &t};
    }
    return set;
  }

  std::string text;
  GEM_RETURN_IF_ERROR(ReadRegularFile(index_path, kMaxJsonFileBytes, &text));
  json index = json::parse(text, nullptr, false);
  if (index.is_discarded() || !index.is_object()) {
    return Status::Corruption(index_path, "not a JSON object");
  }
  auto wm = index.find("weight_map");
  if (wm == index.end() || !wm->is_object()) {
    return Status::Corruption(index_path, "missing \"weight_map\" object");
  }
  fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, const SafetensorsFile*> shards;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it.value().is_string()) {
      return Status::Corruption(index_path, "weight_map['" + it.key() + "'] is not a string");
    }
    std::string shard = it.value().get<std::string>();
    if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos) {
      return Status::Corruption(index_path, "shard name '" + shard + "' is not a plain file name");
    }
    if (!shards.count(shard)) {
      auto f = SafetensorsFile::Open((dir / shard).string());
      if (!f.ok()) return f.status().WithContext(index_path);
      shards[shard] = f->get();
      set->files_.push_back(std::move(f).value());
    }
  }
  // Every tensor comes from the shard the index names; a tensor in two shards is ambiguous.
  for (const auto& file : set->files_) {
    for (const TensorInfo& t : file->tensors()) {
      auto [it, fresh] = set->entries_.emplace(t.name, Entry{file.get(), &t});
      if (!fresh) {
        return Status::Corruption(index_path, "tensor '" + t.name + "' is in both " +
                                                  it->second.file->path() + " and " + file->path());
      }
    }
  }
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    auto e = set->entries_.find(it.key());
    std::string shard_path = (dir / it.value().get<std::string>()).string();
    if (e == set->entries_.end() || e->second.file->path() != shard_path) {
      return Status::Corruption(index_path,
                                "tensor '" + it.key() + "' is not in its shard " + shard_path);
    }
  }
  return set;
}

std::vector<std::string> SafetensorsSet::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, e] : entries_) names.push_back(name);
  return names;
}

SafetensorsSet::Entry SafetensorsSet::Find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? Entry{nullptr, nullptr} : it->second;
}

Result<std::vector<float>> SafetensorsSet::ReadF32(std::string_view name) const {
  Entry e = Find(name);
  if (e.file == nullptr) return Status::NotFound(source_, "no tensor '" + std::string(name) + "'");
  std::vector<float> out(static_cast<size_t>(e.info->numel()));
  GEM_RETURN_IF_ERROR(e.file->ReadF32(*e.info, out.data()));
  return out;
}

}  // namespace gem
