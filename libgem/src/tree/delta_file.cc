// Copyright the gem authors. Reading delta files (docs/DELTA_FORMAT.md) and applying them.
//
// A delta file is untrusted input like a checkpoint: Open() validates everything once (including
// the data section's SHA-256, so a flipped bit is caught before any weight is produced), and
// Apply() is then decompression plus one memory-bound pass. Version 2 blobs are independent
// frames: Apply() hands them to the worker pool, and each worker decodes a frame into a buffer
// that stays in its cache and applies it at once, so the bytes are read from memory once.
#include <cstring>

#include "engine/thread_pool.h"
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

// Bytes an int8 or sign blob must hold (xor/raw blobs are checked frame by frame).
uint64_t ExpectedBytes(const DeltaTensor& t) {
  const uint64_t n = static_cast<uint64_t>(t.numel());
  size_t rows, cols;
  RowsCols(t.shape, &rows, &cols);
  if (t.encoding == "int8") return rows * 4 + n;
  return rows * 4 + rows * ops::sign_words_per_row(cols) * 4;  // sign
}

bool IsWords(const DeltaTensor& t) { return t.encoding == "xor" || t.encoding == "ulp"; }

// Bytes per element of an "xor", "ulp" or "raw" blob once decoded (byte planes for the first
// two).
size_t DecodedElementBytes(const DeltaTensor& t) {
  return IsWords(t) ? ops::word_bytes(tree_internal::WordKindOf(t.dtype)) : DTypeSize(t.dtype);
}

// Framed blobs: zstd frames ("ulp": a zstd frame and plane 0 as it is).
bool IsZstd(const DeltaTensor& t) { return IsWords(t) || t.encoding == "raw"; }

// Visits the sparse high bytes of an "ulp" frame of m words of wb bytes (docs/DELTA_FORMAT.md,
// version 3): visit(i, bytes 1..wb-1 of word i shifted into place). Corruption when the frame
// is malformed (shorter than its low plane, a partial entry, indices not increasing or >= m).
template <typename Visit>
Status ForEachUlpHigh(std::span<const uint8_t> frame, size_t m, size_t wb, Visit visit) {
  const size_t entry = 2 + (wb - 1);
  if (frame.size() < m || (frame.size() - m) % entry != 0) {
    return Status::Corruption("", "ulp frame of " + std::to_string(frame.size()) +
                                      " bytes is not a low plane of " + std::to_string(m) +
                                      " bytes and whole high-byte entries");
  }
  size_t next = 0;  // the smallest index the next entry may have
  for (size_t at = m; at < frame.size(); at += entry) {
    const size_t i = frame[at] | size_t{frame[at + 1]} << 8;
    if (i < next || i >= m) {
      return Status::Corruption("", "ulp frame: high-byte index " + std::to_string(i) +
                                        " out of order or past the frame's " + std::to_string(m) +
                                        " elements");
    }
    next = i + 1;
    uint32_t high = 0;
    for (size_t p = 1; p < wb; ++p) high |= uint32_t{frame[at + 1 + p]} << (8 * p);
    visit(i, high);
  }
  return Status::OK();
}

// Collects the first error of a parallel loop.
class FirstError {
 public:
  void Set(Status s) {
    if (s.ok()) return;
    std::lock_guard<std::mutex> l(mu_);
    if (status_.ok()) status_ = std::move(s);
  }
  Status Get() {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;  // guarded by mu_
};

}  // namespace

// The zstd frames of one "xor" or "raw" blob: frame f holds elements [f * elems, ...) and its
// bytes are blob[start[f], start[f + 1]).
struct DeltaFile::Frames {
  uint64_t elems = 0;
  std::vector<uint64_t> start;
  size_t count() const { return start.empty() ? 0 : start.size() - 1; }
};

// What Prefetch() decoded: per tensor, the concatenation of its decoded frames.
struct DeltaFile::Decoded {
  std::vector<std::vector<uint8_t>> bytes;  // per tensors_ entry; empty: not decoded
  uint64_t total = 0;
};

DeltaFile::DeltaFile() = default;
DeltaFile::~DeltaFile() = default;

uint64_t DeltaFile::file_bytes() const { return file_->size(); }

Result<std::unique_ptr<DeltaFile>> DeltaFile::Open(const std::string& path,
                                                   const DeltaReadOptions& options) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<DeltaFile> d(new DeltaFile());
  d->path_ = path;
  d->threads_ = tree_internal::ResolveThreads(options.threads);
  d->file_ = std::move(mapped).value();
  const uint8_t* p = d->file_->data();
  const uint64_t size = d->file_->size();
  if (size < tree_internal::kPrefixBytes) return Bad(path, "truncated: no delta file header");
  if (std::memcmp(p, tree_internal::kDeltaMagic, 8) != 0) {
    return Bad(path, "not a gem delta file (bad magic)");
  }
  uint32_t version = 0;
  for (int i = 3; i >= 0; --i) version = version << 8 | p[8 + i];
  if (version < tree_internal::kDeltaVersionOldest || version > tree_internal::kDeltaVersion) {
    return Status::NotSupported(path, "delta format version " + std::to_string(version) +
                                          " (this build reads versions 1 to 3)");
  }
  d->version_ = version;
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
    if (h.at("version").get<uint32_t>() != version) {
      return Bad(path, "header version differs from the file's version " + std::to_string(version));
    }
    if (version >= 2) {
      d->frame_elements_ = h.at("frame_elements").get<uint64_t>();
      if (d->frame_elements_ == 0 || d->frame_elements_ > (uint64_t{1} << 32)) {
        return Bad(path,
                   "frame_elements " + std::to_string(d->frame_elements_) + " outside [1, 2^32]");
      }
    }
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
          t.encoding != "sign" && !(t.encoding == "ulp" && version >= 3)) {
        return Bad(path, where + "unknown encoding '" + t.encoding + "'");
      }
      if (IsWords(t) && (t.dtype != t.base_dtype || tree_internal::WordKindOf(t.dtype) < 0)) {
        return Bad(path, where + t.encoding + " encoding needs equal word dtypes");
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
  d->frames_.resize(d->tensors_.size());
  for (size_t i = 0; i < d->tensors_.size(); ++i) {
    GEM_RETURN_IF_ERROR(d->ParseFrames(i));
    if (IsZstd(d->tensors_[i])) {
      d->decoded_bytes_ +=
          static_cast<uint64_t>(d->tensors_[i].numel()) * DecodedElementBytes(d->tensors_[i]);
    }
  }
  return d;
}

Status DeltaFile::ParseFrames(size_t index) {
  const DeltaTensor& t = tensors_[index];
  if (!IsZstd(t)) return Status::OK();
  Frames& fr = frames_[index];
  const uint64_t n = static_cast<uint64_t>(t.numel());
  if (version_ == 1) {  // the whole blob is one frame
    fr.elems = n;
    fr.start = {0, t.size};
    return Status::OK();
  }
  // Version 2: a table of u64 frame sizes, then the frames.
  const std::string where = "tensor '" + t.name + "': ";
  fr.elems = frame_elements_;
  const uint64_t count = (n + fr.elems - 1) / fr.elems;
  if (count > t.size / 8) {
    return Bad(path_, where + "blob of " + std::to_string(t.size) +
                          " bytes cannot hold a table of " + std::to_string(count) + " frames");
  }
  const auto blob = Blob(t);
  fr.start.resize(count + 1);
  fr.start[0] = count * 8;
  for (uint64_t f = 0; f < count; ++f) {
    uint64_t size = 0;
    for (int b = 7; b >= 0; --b) size = size << 8 | blob[f * 8 + b];
    if (size > t.size - fr.start[f]) {
      return Bad(path_, where + "frame " + std::to_string(f) + " lies outside its blob");
    }
    fr.start[f + 1] = fr.start[f] + size;
  }
  if (fr.start[count] != t.size) {
    return Bad(path_, where + "frames hold " + std::to_string(fr.start[count]) +
                          " bytes, the blob " + std::to_string(t.size));
  }
  return Status::OK();
}

size_t DeltaFile::IndexOf(const DeltaTensor& t) const {
  if (&t >= tensors_.data() && &t < tensors_.data() + tensors_.size()) {
    return static_cast<size_t>(&t - tensors_.data());
  }
  const DeltaTensor* found = Find(t.name);
  return found ? static_cast<size_t>(found - tensors_.data()) : tensors_.size();
}

Status DeltaFile::DecodeFrame(size_t index, size_t f, uint8_t* dst) const {
  const DeltaTensor& t = tensors_[index];
  const Frames& fr = frames_[index];
  const uint64_t n = static_cast<uint64_t>(t.numel());
  const uint64_t first = f * fr.elems;
  const uint64_t m = std::min(fr.elems, n - first);
  const auto blob = Blob(t).subspan(fr.start[f], fr.start[f + 1] - fr.start[f]);
  Status s;
  if (t.encoding == "ulp") {
    // Into byte planes like "xor": plane 0 copied, the high planes zero but the listed bytes.
    const size_t wb = DecodedElementBytes(t);
    std::memset(dst + m, 0, m * (wb - 1));
    s = ForEachUlpHigh(blob, m, wb, [&](size_t i, uint32_t high) {
      for (size_t p = 1; p < wb; ++p) dst[p * m + i] = static_cast<uint8_t>(high >> (8 * p));
    });
    if (s.ok() && m > 0) std::memcpy(dst, blob.data(), m);
  } else {
    s = tree_internal::ZstdDecompress(blob, m * DecodedElementBytes(t), dst, "");
  }
  if (s.ok()) return s;
  return s.WithContext(path_ + ": tensor '" + t.name + "' frame " + std::to_string(f));
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
  const size_t index = IndexOf(t);
  if (index == tensors_.size()) {
    return Status::InvalidArgument(path_, "tensor '" + t.name + "' is not in this delta");
  }
  const auto blob = Blob(t);
  if (IsZstd(t)) {
    std::shared_ptr<const Decoded> decoded;
    {
      std::lock_guard<std::mutex> l(mu_);
      decoded = decoded_;
    }
    if (decoded && decoded->bytes[index].empty()) decoded.reset();  // not within the budget
    const Frames& fr = frames_[index];
    const size_t n = static_cast<size_t>(t.numel());
    const size_t eb = DecodedElementBytes(t);
    const int kind = tree_internal::WordKindOf(t.dtype);
    FirstError error;
    // Frame f: decode (unless prefetched) into a per-thread buffer, then apply while it is hot.
    ParallelParts(static_cast<int>(fr.count()), threads_, [&](int part) {
      const size_t f = static_cast<size_t>(part);
      const size_t first = f * fr.elems;
      const size_t m = std::min<size_t>(fr.elems, n - first);
      const uint8_t* bytes;
      if (decoded) {
        bytes = decoded->bytes[index].data() + first * eb;
      } else if (t.encoding == "ulp") {
        // Nothing to decode: one pass over the low bytes where they lie in the file, then the
        // few listed elements (with high bytes) set again, while the frame's base is still in
        // the cache. The entries are checked before anything is written.
        const auto frame = blob.subspan(fr.start[f], fr.start[f + 1] - fr.start[f]);
        const uint8_t* lo = frame.data();
        const float* b = base + first;
        float* o = out + first;
        thread_local std::vector<std::pair<size_t, float>> listed;
        listed.clear();
        // In place (out == base) the listed values must come from the base before it is
        // overwritten; otherwise only the entries are checked here.
        const bool in_place = out == base;
        Status s = ForEachUlpHigh(frame, m, eb, [&](size_t i, uint32_t high) {
          if (in_place) listed.emplace_back(i, ops::ulp_apply_elem(b[i], lo[i] | high, kind));
        });
        if (!s.ok()) {
          return error.Set(
              s.WithContext(path_ + ": tensor '" + t.name + "' frame " + std::to_string(f)));
        }
        ops::UlpApplyLow(b, lo, m, kind, o);
        if (in_place) {
          for (const auto& [i, v] : listed) o[i] = v;
        } else {
          (void)ForEachUlpHigh(frame, m, eb, [&](size_t i, uint32_t high) {
            o[i] = ops::ulp_apply_elem(b[i], lo[i] | high, kind);
          });
        }
        return;
      } else {
        // Reused across calls: a fresh buffer per frame would page-fault on every apply.
        thread_local std::vector<uint8_t> buf;
        buf.resize(m * eb);
        Status s = DecodeFrame(index, f, buf.data());
        if (!s.ok()) return error.Set(std::move(s));
        bytes = buf.data();
      }
      if (t.encoding == "raw") {
        error.Set(ConvertToF32(t.dtype, bytes, m, out + first));
      } else if (t.encoding == "ulp") {
        ops::UlpApply(base + first, bytes, bytes + m, m, kind, out + first);
      } else {
        ops::XorApply(base + first, bytes, m, kind, out + first);
      }
    });
    return error.Get();
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
  s.format_version = version_;
  return s;
}

Status DeltaFile::ReconstructRaw(const DeltaTensor& t, std::span<const uint8_t> base_raw,
                                 std::vector<uint8_t>* out) const {
  const std::string what = path_ + ": tensor '" + t.name + "'";
  if (!IsZstd(t)) {
    return Status::InvalidArgument(what, "is stored lossy (" + t.encoding + ")");
  }
  const size_t index = IndexOf(t);
  if (index == tensors_.size()) return Status::InvalidArgument(what, "is not in this delta");
  // Every byte is written below: resize keeps a reused buffer's pages (no zero fill).
  out->resize(static_cast<size_t>(t.numel()) * DTypeSize(t.dtype));
  if (IsWords(t) && base_raw.size() != out->size()) {
    return Status::InvalidArgument(what, "base bytes have the wrong size");
  }
  // The same frame loop as Apply (typed bases reconstruct through here): prefetched planes when
  // Prefetch decoded this tensor, else each frame decoded on a worker while the words are hot.
  std::shared_ptr<const Decoded> decoded;
  {
    std::lock_guard<std::mutex> l(mu_);
    decoded = decoded_;
  }
  if (decoded && decoded->bytes[index].empty()) decoded.reset();  // not within the budget
  const Frames& fr = frames_[index];
  const size_t n = static_cast<size_t>(t.numel());
  const int wb = static_cast<int>(DTypeSize(t.dtype));
  FirstError error;
  ParallelParts(static_cast<int>(fr.count()), threads_, [&](int part) {
    const size_t f = static_cast<size_t>(part);
    const size_t first = f * fr.elems;
    const size_t m = std::min<size_t>(fr.elems, n - first);
    uint8_t* dst = out->data() + first * wb;
    const uint8_t* planes;
    if (decoded) {
      planes = decoded->bytes[index].data() + first * wb;
    } else {
      if (t.encoding == "raw") return error.Set(DecodeFrame(index, f, dst));
      thread_local std::vector<uint8_t> buf;
      buf.resize(m * wb);
      Status s = DecodeFrame(index, f, buf.data());
      if (!s.ok()) return error.Set(std::move(s));
      planes = buf.data();
    }
    if (t.encoding == "raw") {
      std::memcpy(dst, planes, m * wb);
      return;
    }
    const uint8_t* b = base_raw.data() + first * wb;
    if (t.encoding == "ulp") {  // words through memcpy: the base's bytes need not be aligned
      for (size_t i = 0; i < m; ++i) {
        uint32_t bw = 0, z = planes[i];
        std::memcpy(&bw, b + i * wb, wb);  // little-endian host (as the whole format assumes)
        for (int p = 1; p < wb; ++p) z |= uint32_t{planes[p * m + i]} << (8 * p);
        const uint32_t w = ops::ulp_decode_word(bw, z, wb);
        std::memcpy(dst + i * wb, &w, wb);
      }
      return;
    }
    if (wb == 2) {  // bf16/f16 words: the planes are the low then the high bytes
      const uint8_t* lo = planes;
      const uint8_t* hi = planes + m;
      for (size_t i = 0; i < m; ++i) {
        dst[2 * i] = b[2 * i] ^ lo[i];
        dst[2 * i + 1] = b[2 * i + 1] ^ hi[i];
      }
      return;
    }
    for (size_t i = 0; i < m; ++i) {
      for (int p = 0; p < wb; ++p) dst[i * wb + p] = b[i * wb + p] ^ planes[p * m + i];
    }
  });
  return error.Get();
}

Status DeltaFile::Prefetch(uint64_t max_bytes) {
  if (prefetched()) return Status::OK();
  auto decoded = std::make_shared<Decoded>();
  decoded->bytes.resize(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const DeltaTensor& t = tensors_[i];
    if (!IsZstd(t)) continue;
    const size_t eb = DecodedElementBytes(t);
    const uint64_t size = static_cast<uint64_t>(t.numel()) * eb;
    if (size == 0 || size > max_bytes - decoded->total) continue;  // Apply decodes it then
    decoded->total += size;
    std::vector<uint8_t>& bytes = decoded->bytes[i];
    bytes.resize(size);
    for (size_t f = 0; f < frames_[i].count(); ++f) {
      GEM_RETURN_IF_ERROR(DecodeFrame(i, f, bytes.data() + f * frames_[i].elems * eb));
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  decoded_ = std::move(decoded);
  return Status::OK();
}

void DeltaFile::ReleasePrefetched() {
  std::shared_ptr<const Decoded> old;
  std::lock_guard<std::mutex> l(mu_);
  old.swap(decoded_);
}

bool DeltaFile::prefetched() const { return prefetched_bytes() > 0; }

uint64_t DeltaFile::prefetched_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return decoded_ ? decoded_->total : 0;
}

}  // namespace gem
