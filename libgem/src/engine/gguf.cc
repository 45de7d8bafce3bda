// Copyright the gem authors. GGUF reader: header, metadata and tensor infos, all bounds-checked.
#include "gem/gguf.h"

#include <cstring>

namespace gem {
namespace {

constexpr uint64_t kMaxString = 1ull << 26;  // no sane key, value or token is 64 MiB long
constexpr int kMaxDims = 8;

// GGUF metadata value types.
enum : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// A cursor that refuses to read past the end; the first failure sticks, with its reason.
class Reader {
 public:
  Reader(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  bool ok() const { return err_.empty(); }
  const std::string& error() const { return err_; }
  uint64_t pos() const { return pos_; }
  void Fail(std::string why) {
    if (err_.empty()) err_ = std::move(why);
  }
  bool Bytes(void* out, uint64_t n, const char* what) {
    if (!ok()) return false;
    if (n > size_ - pos_) {
      Fail(std::string("truncated while reading ") + what + " at byte " + std::to_string(pos_));
      return false;
    }
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  T Get(const char* what) {
    T v{};
    Bytes(&v, sizeof(T), what);
    return v;
  }
  std::string String(const char* what) {
    uint64_t n = Get<uint64_t>(what);
    if (!ok()) return {};
    if (n > kMaxString || n > size_ - pos_) {
      Fail(std::string("truncated or oversized string (") + std::to_string(n) + " bytes) in " +
           what + " at byte " + std::to_string(pos_));
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  uint64_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string err_;
};

uint64_t ScalarSize(uint32_t type) {
  switch (type) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

// Reads a scalar of `type` as a double (for arrays) and into *v (for scalars).
void ReadScalar(Reader& r, uint32_t type, GgufValue* v, const char* what) {
  switch (type) {
    case kU8:
      v->kind = GgufValue::Kind::kUInt;
      v->u = r.Get<uint8_t>(what);
      break;
    case kI8:
      v->kind = GgufValue::Kind::kInt;
      v->i = r.Get<int8_t>(what);
      break;
    case kU16:
      v->kind = GgufValue::Kind::kUInt;
      v->u = r.Get<uint16_t>(what);
      break;
    case kI16:
      v->kind = GgufValue::Kind::kInt;
      v->i = r.Get<int16_t>(what);
      break;
    case kU32:
      v->kind = GgufValue::Kind::kUInt;
      v->u = r.Get<uint32_t>(what);
      break;
    case kI32:
      v->kind = GgufValue::Kind::kInt;
      v->i = r.Get<int32_t>(what);
      break;
    case kU64:
      v->kind = GgufValue::Kind::kUInt;
      v->u = r.Get<uint64_t>(what);
      break;
    case kI64:
      v->kind = GgufValue::Kind::kInt;
      v->i = r.Get<int64_t>(what);
      break;
    case kF32:
      v->kind = GgufValue::Kind::kFloat;
      v->f = r.Get<float>(what);
      break;
    case kF64:
      v->kind = GgufValue::Kind::kFloat;
      v->f = r.Get<double>(what);
      break;
    case kBool:
      v->kind = GgufValue::Kind::kBool;
      v->b = r.Get<uint8_t>(what) != 0;
      break;
    default:
      r.Fail(std::string("unknown value type ") + std::to_string(type) + " in " + what);
  }
  if (v->kind == GgufValue::Kind::kUInt) {
    v->i = static_cast<int64_t>(v->u);
    v->f = static_cast<double>(v->u);
  } else if (v->kind == GgufValue::Kind::kInt) {
    v->u = static_cast<uint64_t>(v->i);
    v->f = static_cast<double>(v->i);
  } else if (v->kind == GgufValue::Kind::kBool) {
    v->i = v->b;
    v->f = v->b;
  }
}

void ReadValue(Reader& r, uint32_t type, GgufValue* v, const std::string& key) {
  const char* what = key.c_str();
  if (type == kString) {
    v->kind = GgufValue::Kind::kString;
    v->s = r.String(what);
  } else if (type == kArray) {
    v->kind = GgufValue::Kind::kArray;
    v->elem_type = r.Get<uint32_t>(what);
    uint64_t n = r.Get<uint64_t>(what);
    if (!r.ok()) return;
    if (v->elem_type == kString) {
      // Each string takes at least its 8-byte length: bound n before reserving.
      if (n > r.remaining() / 8) {
        r.Fail("array '" + key + "' claims " + std::to_string(n) + " strings, file too short");
        return;
      }
      v->strings.reserve(n);
      for (uint64_t k = 0; k < n && r.ok(); ++k) v->strings.push_back(r.String(what));
    } else {
      uint64_t sz = ScalarSize(v->elem_type);
      if (sz == 0) {
        r.Fail("array '" + key + "' has unsupported element type " + std::to_string(v->elem_type));
        return;
      }
      if (n > r.remaining() / sz) {
        r.Fail("array '" + key + "' claims " + std::to_string(n) + " elements, file too short");
        return;
      }
      v->numbers.reserve(n);
      GgufValue e;
      for (uint64_t k = 0; k < n && r.ok(); ++k) {
        ReadScalar(r, v->elem_type, &e, what);
        v->numbers.push_back(e.f);
      }
    }
  } else {
    ReadScalar(r, type, v, what);
  }
}

}  // namespace

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<GgufFile> g(new GgufFile());
  g->file_ = std::move(mapped).value();
  Reader r(g->file_->data(), g->file_->size());
  char magic[4] = {};
  r.Bytes(magic, 4, "magic");
  if (!r.ok() || std::memcmp(magic, "GGUF", 4) != 0) {
    return Status::Corruption(path, "not a GGUF file (bad magic)");
  }
  g->version_ = r.Get<uint32_t>("version");
  if (r.ok() && (g->version_ < 2 || g->version_ > 3)) {
    return Status::NotSupported(
        path, "GGUF version " + std::to_string(g->version_) + " (supported: 2, 3)");
  }
  uint64_t n_tensors = r.Get<uint64_t>("tensor count");
  uint64_t n_kv = r.Get<uint64_t>("metadata count");
  if (!r.ok()) return Status::Corruption(path, r.error());
  if (n_kv > r.remaining() / 12 || n_tensors > r.remaining() / 24) {
    return Status::Corruption(path, "header claims " + std::to_string(n_kv) + " keys and " +
                                        std::to_string(n_tensors) +
                                        " tensors, more than the file can hold");
  }
  for (uint64_t k = 0; k < n_kv && r.ok(); ++k) {
    std::string key = r.String("metadata key");
    uint32_t type = r.Get<uint32_t>("metadata type");
    if (!r.ok()) break;
    GgufValue v;
    ReadValue(r, type, &v, key);
    g->metadata_[key] = std::move(v);
  }
  if (!r.ok()) return Status::Corruption(path, r.error());

  for (uint64_t t = 0; t < n_tensors && r.ok(); ++t) {
    GgufTensorInfo info;
    info.name = r.String("tensor name");
    uint32_t n_dims = r.Get<uint32_t>("tensor dims");
    if (!r.ok()) break;
    if (n_dims == 0 || n_dims > kMaxDims) {
      return Status::Corruption(
          path, "tensor '" + info.name + "' has " + std::to_string(n_dims) + " dimensions");
    }
    // Each dimension and their product stay below 2^40 elements, so numel() never overflows.
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = r.Get<uint64_t>("tensor dim");
      if (dim > (1ull << 40) || (dim != 0 && elements > (1ull << 40) / dim)) {
        return Status::Corruption(path, "tensor '" + info.name + "' has an absurd dimension");
      }
      elements *= dim;
      info.dims.push_back(static_cast<int64_t>(dim));
    }
    info.type = r.Get<uint32_t>("tensor type");
    info.offset = r.Get<uint64_t>("tensor offset");
    if (!r.ok()) break;
    info.nbytes = GgmlRowBytes(info.type, static_cast<uint64_t>(info.numel()));
    if (info.nbytes == 0 && info.numel() != 0) {
      return Status::Corruption(path, "tensor '" + info.name + "': unknown type " +
                                          GgmlTypeName(info.type) +
                                          " or element count not a multiple of its block");
    }
    g->tensors_.push_back(std::move(info));
  }
  if (!r.ok()) return Status::Corruption(path, r.error());

  uint64_t alignment = static_cast<uint64_t>(g->GetInt("general.alignment", 32));
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return Status::Corruption(
        path, "general.alignment " + std::to_string(alignment) + " is not a power of two");
  }
  uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  uint64_t size = g->file_->size();
  for (size_t i = 0; i < g->tensors_.size(); ++i) {
    GgufTensorInfo& t = g->tensors_[i];
    if (t.offset % alignment != 0) {
      return Status::Corruption(path, "tensor '" + t.name + "' offset is not aligned");
    }
    if (data_start > size || t.offset > size - data_start ||
        t.nbytes > size - data_start - t.offset) {
      return Status::Corruption(path, "tensor '" + t.name + "' (" + std::to_string(t.nbytes) +
                                          " bytes at data offset " + std::to_string(t.offset) +
                                          ") lies beyond the end of the file (truncated?)");
    }
    t.offset += data_start;
    if (!g->index_.emplace(t.name, i).second) {
      return Status::Corruption(path, "tensor '" + t.name + "' appears twice");
    }
  }
  return g;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

int64_t GgufFile::GetInt(std::string_view key, int64_t def) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return def;
  switch (v->kind) {
    case GgufValue::Kind::kInt:
    case GgufValue::Kind::kUInt:
    case GgufValue::Kind::kBool:
      return v->i;
    default:
      return def;
  }
}

double GgufFile::GetFloat(std::string_view key, double def) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->kind == GgufValue::Kind::kString || v->kind == GgufValue::Kind::kArray) {
    return def;
  }
  return v->f;
}

std::string GgufFile::GetString(std::string_view key, std::string_view def) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->kind != GgufValue::Kind::kString) return std::string(def);
  return v->s;
}

bool GgufFile::GetBool(std::string_view key, bool def) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->kind == GgufValue::Kind::kString || v->kind == GgufValue::Kind::kArray) {
    return def;
  }
  return v->i != 0;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status GgufFile::ReadF32(const GgufTensorInfo& t, float* dst) const {
  Status s = DequantizeGgml(t.type, file_->data() + t.offset, static_cast<size_t>(t.numel()), dst);
  if (!s.ok()) return s.WithContext(path() + ": tensor '" + t.name + "'");
  return s;
}

}  // namespace gem
