// Copyright the gem authors. Reading delta files (docs/DELTA_FORMAT.md) and applying them.
//
// A delta file is untrusted input like a checkpoint: Open() validates everything once (including
// the data section's SHA-256, so a flipped bit is caught before any weight is produced), and
// Apply() is then decompression plus one memory-bound pass.
#include <cstring>

#include "gem/delta.h"
#include "kernel_math/delta_math.h"
#include "tree/delta_internal.h"
#include "tree/ops/delta_ops.h"

namespace gem {
namespace {

using json = nlohmann::json;

Status Bad(const std::string& path, const std::string& what) {
  return Status::Corruption(path, what);
}

void RowsCols(const std::vector<int64_t>& shape, size_t* rows, size_t* cols) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  *rows = shape.empty() ? 1 : static_cast<size_t>(shape[0]);
  *cols = *rows ? n / *rows : 0;
}

// Bytes a blob of this encoding must hold (or must decompress to, for xor/raw).
uint64_t ExpectedBytes(const DeltaTensor& t) {
  const uint64_t n = static_cast<uint64_t>(t.numel());
  size_t rows, cols;
  RowsCols(t.shape, &rows, &cols);
  if (t.encoding == "xor") return n * ops::word_bytes(tree_internal::WordKindOf(t.dtype));
  if (t.encoding == "raw") return n * DTypeSize(t.dtype);
  if (t.encoding == "int8") return rows * 4 + n;
  return rows * 4 + rows * ops::sign_words_per_row(cols) * 4;  // sign
}

}  // namespace

DeltaFile::~DeltaFile() = default;

uint64_t DeltaFile::file_bytes() const { return file_->size(); }

Result<std::unique_ptr<DeltaFile>> DeltaFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<DeltaFile> d(new DeltaFile());
  d->path_ = path;
  d->file_ = std::move(mapped).value();
  const uint8_t* p = d->file_->data();
  const uint64_t size = d->file_->size();
  if (size < tree_internal::kPrefixBytes) return Bad(path, "truncated: no delta file header");
  if (std::memcmp(p, tree_internal::kDeltaMagic, 8) != 0) {
    return Bad(path, "not a gem delta file (bad magic)");
  }
  uint32_t version = 0;
  for (int i = 3; i >= 0; --i) version = version << 8 | p[8 + i];
  if (version != tree_internal::kDeltaVersion) {
    return Status::NotSupported(
        path, "delta format version " + std::to_string(version) + " (this build reads version 1)");
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = hlen << 8 | p[16 + i];
  if (hlen > size - tree_internal::kPrefixBytes) return Bad(path, "truncated header");
  json h =
      json::parse(std::string_view(reinterpret_cast<const char*>(p + 24), hlen), nullptr, false);
  if (h.is_discarded() || !h.is_object()) return Bad(path, "header is not a JSON object");
  d->data_start_ = tree_internal::AlignUp(tree_internal::kPrefixBytes + hlen);
  try {
    if (h.at("format").get<std::string>() != "gem-delta")
      return Bad(path, "format is not gem-delta");
    auto form = ParseDeltaForm(h.at("form").get<std::string>());
    if (!form.ok()) return form.status().WithContext(path);
    d->form_ = *form;
    auto md = Digest::FromHex(h.at("model_digest").get<std::string>());
    auto bd = Digest::FromHex(h.at("base_digest").get<std::string>());
    auto dd = Digest::FromHex(h.at("data_sha256").get<std::string>());
    if (!md.ok() || !bd.ok() || !dd.ok()) return Bad(path, "bad digest in header");
    d->model_digest_ = *md;
    d->base_digest_ = *bd;
    d->tensors_total_ = h.at("tensors_total").get<size_t>();
    d->finetune_bytes_ = h.value("finetune_bytes", uint64_t{0});
    d->error_ = tree_internal::ErrorFromJson(h.value("error", json()));
    const uint64_t data_bytes = h.at("data_bytes").get<uint64_t>();
    if (d->data_start_ > size || data_bytes != size - d->data_start_) {
      return Bad(path, "truncated: header says " + std::to_string(data_bytes) +
                           " data bytes, file holds " +
                           std::to_string(size > d->data_start_ ? size - d->data_start_ : 0));
    }
    Hasher hasher;
    hasher.Update(std::span<const uint8_t>(p + d->data_start_, data_bytes));
    if (hasher.Finish() != *dd) return Bad(path, "data section does not match its SHA-256");
    for (const json& jt : h.at("tensors")) {
      DeltaTensor t;
      t.name = jt.at("name").get<std::string>();
      auto dt = tree_internal::DTypeFromName(jt.at("dtype").get<std::string>());
      auto bdt = tree_internal::DTypeFromName(jt.at("base_dtype").get<std::string>());
      if (!dt.ok() || !bdt.ok()) return Bad(path, "tensor '" + t.name + "': bad dtype");
      t.dtype = *dt;
      t.base_dtype = *bdt;
      t.shape = jt.at("shape").get<std::vector<int64_t>>();
      for (int64_t dim : t.shape) {
        if (dim < 0 || dim > (int64_t{1} << 40))
          return Bad(path, "tensor '" + t.name + "': bad shape");
      }
      t.encoding = jt.at("encoding").get<std::string>();
      t.offset = jt.at("offset").get<uint64_t>();
      t.size = jt.at("size").get<uint64_t>();
      t.error = tree_internal::ErrorFromJson(jt.value("error", json()));
      const std::string where = "tensor '" + t.name + "': ";
      if (t.encoding != "xor" && t.encoding != "raw" && t.encoding != "int8" &&
          t.encoding != "sign") {
        return Bad(path, where + "unknown encoding '" + t.encoding + "'");
      }
      if (t.encoding == "xor" &&
          (t.dtype != t.base_dtype || tree_internal::WordKindOf(t.dtype) < 0)) {
        return Bad(path, where + "xor encoding needs equal word dtypes");
      }
      if (t.offset > data_bytes || t.size > data_bytes - t.offset) {
        return Bad(path, where + "blob lies outside the data section");
      }
      if ((t.encoding == "int8" || t.encoding == "sign") &&
          (t.shape.size() < 2 || t.size != ExpectedBytes(t))) {
        return Bad(path, where + "blob size " + std::to_string(t.size) + " does not match shape");
      }
      d->tensors_.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    return Bad(path, std::string("malformed header: ") + e.what());
  }
  std::sort(d->tensors_.begin(), d->tensors_.end(),
            [](const DeltaTensor& a, const DeltaTensor& b) { return a.name < b.name; });
  return d;
}

const DeltaTensor* DeltaFile::Find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const DeltaTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::span<const uint8_t> DeltaFile::Blob(const DeltaTensor& t) const {
  return {file_->data() + data_start_ + t.offset, static_cast<size_t>(t.size)};
}

Status DeltaFile::Apply(const DeltaTensor& t, const float* base, float* out) const {
  const size_t n = static_cast<size_t>(t.numel());
  const std::string what = path_ + ": tensor '" + t.name + "'";
  const auto blob = Blob(t);
  if (t.encoding == "xor" || t.encoding == "raw") {
    // Reused across calls: a fresh buffer per tensor would page-fault on every apply.
    thread_local std::vector<uint8_t> buf;
    buf.resize(ExpectedBytes(t));
    GEM_RETURN_IF_ERROR(tree_internal::ZstdDecompress(blob, buf.size(), buf.data(), what));
    if (t.encoding == "raw") return ConvertToF32(t.dtype, buf.data(), n, out);
    ops::XorApply(base, buf.data(), n, tree_internal::WordKindOf(t.dtype), out);
    return Status::OK();
  }
  size_t rows, cols;
  RowsCols(t.shape, &rows, &cols);
  const float* scales = reinterpret_cast<const float*>(blob.data());
  if (t.encoding == "int8") {
    ops::Int8Apply(base, reinterpret_cast<const int8_t*>(blob.data() + rows * 4), scales, rows,
                   cols, out);
  } else {
    ops::SignApply(base, reinterpret_cast<const uint32_t*>(blob.data() + rows * 4), scales, rows,
                   cols, out);
  }
  return Status::OK();
}

DeltaStats DeltaFile::Stats() const {
  DeltaStats s;
  s.form = form_;
  s.path = path_;
  s.file_bytes = file_bytes();
  s.finetune_bytes = finetune_bytes_;
  s.tensors_total = tensors_total_;
  s.tensors_stored = tensors_.size();
  s.error = error_;
  return s;
}

Status DeltaFile::ReconstructRaw(const DeltaTensor& t, std::span<const uint8_t> base_raw,
                                 std::vector<uint8_t>* out) const {
  const std::string what = path_ + ": tensor '" + t.name + "'";
  if (t.encoding != "xor" && t.encoding != "raw") {
    return Status::InvalidArgument(what, "is stored lossy (" + t.encoding + ")");
  }
  out->assign(static_cast<size_t>(t.numel()) * DTypeSize(t.dtype), 0);
  if (t.encoding == "raw") {
    return tree_internal::ZstdDecompress(Blob(t), out->size(), out->data(), what);
  }
  if (base_raw.size() != out->size()) {
    return Status::InvalidArgument(what, "base bytes have the wrong size");
  }
  std::vector<uint8_t> planes(out->size());
  GEM_RETURN_IF_ERROR(tree_internal::ZstdDecompress(Blob(t), planes.size(), planes.data(), what));
  const size_t n = static_cast<size_t>(t.numel());
  const int wb = static_cast<int>(DTypeSize(t.dtype));
  for (size_t i = 0; i < n; ++i) {
    for (int p = 0; p < wb; ++p) (*out)[i * wb + p] = base_raw[i * wb + p] ^ planes[p * n + i];
  }
  return Status::OK();
}

}  // namespace gem
