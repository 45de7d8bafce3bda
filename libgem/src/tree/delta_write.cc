// Copyright the gem authors. Encoding a fine-tune against its base (docs/DELTA_FORMAT.md).
//
// Blobs are streamed to a side file as they are encoded, so memory stays at one tensor's worth
// whatever the model size; the header (which needs every blob's offset) is written last, in
// front of a copy of the side file, and the result renamed into place. The "xor" and "raw"
// blobs are independent zstd frames (format version 2), compressed on several threads.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "engine/thread_pool.h"
#include "gem/delta.h"
#include "kernel_math/delta_math.h"
#include "tree/delta_internal.h"
#include "tree/ops/delta_ops.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using tree_internal::ErrorAccum;

constexpr const char* kHint = " (maybe the wrong base model?)";

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<std::vector<float>> ToF32(const SafetensorsSet::Entry& e) {
  std::vector<float> out(static_cast<size_t>(e.info->numel()));
  GEM_RETURN_IF_ERROR(e.file->ReadF32(*e.info, out.data()));
  return out;
}

// The data section being written: blobs appended at 64-byte aligned offsets, hashed as written.
class DataWriter {
 public:
  explicit DataWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {}
  bool ok() const { return static_cast<bool>(out_); }
  uint64_t Append(const void* data, size_t n) {
    const uint64_t at = size_;
    Write(data, n);
    static const char kZeros[tree_internal::kAlign] = {};
    const uint64_t pad = tree_internal::AlignUp(size_) - size_;
    Write(kZeros, pad);
    return at;
  }
  uint64_t size() const { return size_; }
  Digest Finish() {
    out_.close();
    return hasher_.Finish();
  }
  const std::string& path() const { return path_; }

 private:
  void Write(const void* data, size_t n) {
    if (n == 0) return;
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    hasher_.Update(std::string_view(static_cast<const char*>(data), n));
    size_ += n;
  }
  std::string path_;
  std::ofstream out_;
  Hasher hasher_;
  uint64_t size_ = 0;
};

// Rows x cols view of a tensor for the per-row lossy forms.
void RowsCols(const std::vector<int64_t>& shape, size_t* rows, size_t* cols) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  *rows = shape.empty() ? 1 : static_cast<size_t>(shape[0]);
  *cols = *rows ? n / *rows : 0;
}

// One frame of an "ulp" blob (docs/DELTA_FORMAT.md, version 3) from the m zigzag words' byte
// planes: plane 0 as it is, then for each word with a non-zero high part its u16 index in the
// frame and its bytes 1..wb-1. REQUIRES m <= 65536.
std::string UlpFrame(const uint8_t* planes, size_t m, size_t wb) {
  std::string frame(reinterpret_cast<const char*>(planes), m);
  for (size_t i = 0; i < m; ++i) {
    bool high = false;
    for (size_t p = 1; p < wb; ++p) high |= planes[p * m + i] != 0;
    if (!high) continue;
    frame.push_back(static_cast<char>(i & 0xff));
    frame.push_back(static_cast<char>(i >> 8));
    for (size_t p = 1; p < wb; ++p) frame.push_back(static_cast<char>(planes[p * m + i]));
  }
  return frame;
}

// A framed blob (docs/DELTA_FORMAT.md, version 2): u64 sizes of the frames, then the frames.
// Frame f holds elements [f * frame_elements, ...): `fill(first, m, dst)` writes their
// `elem_bytes * m` decoded bytes, which are compressed into one zstd frame.
// `ulp_frames` ("ulp" blobs, version 3): `fill` writes the zigzag words' byte planes and the
// frame is UlpFrame() of them instead of a zstd frame.
Result<std::string> FramedBlob(size_t n, size_t elem_bytes, const DeltaWriteOptions& options,
                               const std::function<void(size_t, size_t, uint8_t*)>& fill,
                               bool ulp_frames = false) {
  const size_t fe = options.frame_elements;
  const size_t count = (n + fe - 1) / fe;
  std::vector<std::string> frames(count);
  std::vector<Status> errors(count);
  ParallelParts(static_cast<int>(count), tree_internal::ResolveThreads(options.threads),
                [&](int part) {
                  const size_t f = static_cast<size_t>(part);
                  const size_t first = f * fe;
                  const size_t m = std::min(fe, n - first);
                  thread_local std::vector<uint8_t> bytes;
                  bytes.resize(m * elem_bytes);
                  fill(first, m, bytes.data());
                  if (ulp_frames) {
                    frames[f] = UlpFrame(bytes.data(), m, elem_bytes);
                    return;
                  }
                  auto z = tree_internal::ZstdCompress(bytes.data(), bytes.size(),
                                                       options.zstd_level, /*checksum=*/false);
                  if (z.ok()) {
                    frames[f] = std::move(z).value();
                  } else {
                    errors[f] = z.status();
                  }
                });
  std::string blob(count * 8, '\0');
  for (size_t f = 0; f < count; ++f) {
    GEM_RETURN_IF_ERROR(errors[f]);
    const uint64_t size = frames[f].size();
    for (int b = 0; b < 8; ++b) blob[f * 8 + b] = static_cast<char>(size >> (8 * b));
  }
  for (const std::string& frame : frames) blob += frame;
  return blob;
}

// Whether a tensor is stored "ulp": at least half of its words change (then the low byte of
// their steps is close to random, and entropy coding gains little for a slow decode) and at
// most 1/8 of them step by 256 ulps or more (the sparse list of high bytes stays small).
bool PreferUlp(std::span<const uint8_t> ft, std::span<const uint8_t> base, int kind) {
  const int wb = ops::word_bytes(kind);
  const size_t n = ft.size() / static_cast<size_t>(wb);
  size_t changed = 0, high = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t fw = 0, bw = 0;
    std::memcpy(&fw, ft.data() + i * wb, wb);  // little-endian host, as the format
    std::memcpy(&bw, base.data() + i * wb, wb);
    changed += fw != bw;
    high += ops::ulp_encode_word(bw, fw, wb) > 0xff;
  }
  return 2 * changed >= n && 8 * high <= n;
}

void Accumulate(const std::vector<float>& recon, const std::vector<float>& ft,
                const std::vector<float>& base, ErrorAccum* acc) {
  for (size_t i = 0; i < ft.size(); ++i) acc->Add(recon[i], ft[i], base[i]);
}

}  // namespace

Digest WeightsDigest(const SafetensorsSet& weights) {
  Hasher h;
  tree_internal::StartWeightsDigest(&h);
  for (const std::string& name : weights.Names()) {
    const SafetensorsSet::Entry e = weights.Find(name);
    tree_internal::HashTensor(&h, name, e.info->dtype, e.info->shape, e.file->Bytes(*e.info));
  }
  return h.Finish();
}

Status CheckSameTensors(const SafetensorsSet& base, const SafetensorsSet& finetune) {
  for (const std::string& name : finetune.Names()) {
    const SafetensorsSet::Entry f = finetune.Find(name);
    const SafetensorsSet::Entry b = base.Find(name);
    if (b.file == nullptr) {
      return Status::InvalidArgument("tensor '" + name + "' is not in the base" + kHint);
    }
    if (f.info->shape != b.info->shape) {
      return Status::InvalidArgument("tensor '" + name + "' has shape " +
                                     ShapeString(f.info->shape) + " but the base has " +
                                     ShapeString(b.info->shape) + kHint);
    }
    if (!DTypeIsFloat(f.info->dtype) || !DTypeIsFloat(b.info->dtype)) {
      return Status::InvalidArgument("tensor '" + name + "' is " + DTypeName(f.info->dtype) +
                                     " (base " + DTypeName(b.info->dtype) +
                                     "): only float weights can be deltas");
    }
  }
  for (const std::string& name : base.Names()) {
    if (finetune.Find(name).file == nullptr) {
      return Status::InvalidArgument("tensor '" + name + "' of the base is missing" + kHint);
    }
  }
  return Status::OK();
}

Result<DeltaStats> WriteDelta(const SafetensorsSet& base, const SafetensorsSet& finetune,
                              DeltaForm form, const std::string& path,
                              const DeltaWriteOptions& options) {
  GEM_RETURN_IF_ERROR(CheckSameTensors(base, finetune));
  if (options.frame_elements == 0) {
    return Status::InvalidArgument(path, "frame_elements must be positive");
  }
  const std::string data_path = path + ".data.tmp";
  const std::string tmp_path = path + ".tmp";
  DataWriter data(data_path);
  if (!data.ok()) return Status::IOError(data_path, "cannot create");

  DeltaStats stats;
  stats.form = form;
  stats.path = path;
  ErrorAccum total;
  json tensors = json::array();
  // Version 3 only when a tensor is stored "ulp": a file without one stays readable by
  // version 2 readers.
  uint32_t version = 2;

  for (const std::string& name : finetune.Names()) {
    const SafetensorsSet::Entry f = finetune.Find(name);
    const SafetensorsSet::Entry b = base.Find(name);
    const auto f_bytes = f.file->Bytes(*f.info);
    const auto b_bytes = b.file->Bytes(*b.info);
    stats.finetune_bytes += f_bytes.size();
    ++stats.tensors_total;
    const bool same_dtype = f.info->dtype == b.info->dtype;
    if (same_dtype && std::memcmp(f_bytes.data(), b_bytes.data(), f_bytes.size()) == 0) continue;

    const size_t n = static_cast<size_t>(f.info->numel());
    std::vector<float> ft_f32, base_f32;
    if (!same_dtype || form != DeltaForm::kXor) {
      auto ft_r = ToF32(f);
      if (!ft_r.ok()) return ft_r.status();
      auto base_r = ToF32(b);
      if (!base_r.ok()) return base_r.status();
      ft_f32 = std::move(ft_r).value();
      base_f32 = std::move(base_r).value();
      // A dtype change alone (same values) is not a change the engine can see.
      if (!same_dtype && !options.keep_dtype_changes &&
          std::memcmp(ft_f32.data(), base_f32.data(), n * sizeof(float)) == 0) {
        continue;
      }
    }

    DeltaTensor t;
    t.name = name;
    t.dtype = f.info->dtype;
    t.base_dtype = b.info->dtype;
    t.shape = f.info->shape;
    ErrorAccum acc;
    std::string blob;
    const int kind = tree_internal::WordKindOf(t.dtype);
    const bool lossy_2d = form != DeltaForm::kXor && t.shape.size() >= 2;

    if (!lossy_2d && same_dtype && kind >= 0 && form == DeltaForm::kXor && options.fast_apply &&
        options.frame_elements <= 65536 && PreferUlp(f_bytes, b_bytes, kind)) {
      // Zigzag ulp steps: the low bytes (near random when most words move) as they are and the
      // rare high bytes as a sparse list, so applying costs a read, not an entropy decode
      // (docs/DELTA_FORMAT.md).
      const int wb = ops::word_bytes(kind);
      auto z = FramedBlob(
          n, static_cast<size_t>(wb), options,
          [&](size_t first, size_t m, uint8_t* planes) {
            const uint8_t* fb = f_bytes.data() + first * wb;
            const uint8_t* bb = b_bytes.data() + first * wb;
            for (size_t i = 0; i < m; ++i) {
              uint32_t fw = 0, bw = 0;
              for (int p = wb - 1; p >= 0; --p) {
                fw = fw << 8 | fb[i * wb + p];
                bw = bw << 8 | bb[i * wb + p];
              }
              const uint32_t zw = ops::ulp_encode_word(bw, fw, wb);
              for (int p = 0; p < wb; ++p) planes[p * m + i] = static_cast<uint8_t>(zw >> (8 * p));
            }
          },
          /*ulp_frames=*/true);
      if (!z.ok()) return z.status();
      blob = std::move(z).value();
      t.encoding = "ulp";
      version = tree_internal::kDeltaVersion;
    } else if (!lossy_2d && same_dtype && kind >= 0 && form == DeltaForm::kXor) {
      // XOR words as byte planes, per frame: plane p holds byte p of every word of the frame.
      const size_t wb = static_cast<size_t>(ops::word_bytes(kind));
      auto z = FramedBlob(n, wb, options, [&](size_t first, size_t m, uint8_t* planes) {
        const uint8_t* fb = f_bytes.data() + first * wb;
        const uint8_t* bb = b_bytes.data() + first * wb;
        for (size_t i = 0; i < m; ++i) {
          for (size_t p = 0; p < wb; ++p) planes[p * m + i] = fb[i * wb + p] ^ bb[i * wb + p];
        }
      });
      if (!z.ok()) return z.status();
      blob = std::move(z).value();
      t.encoding = "xor";
    } else if (!lossy_2d) {
      // Exact: the fine-tune's own words (dtype change, F64, or a 1-D tensor of a lossy form).
      const size_t eb = DTypeSize(t.dtype);
      auto z = FramedBlob(n, eb, options, [&](size_t first, size_t m, uint8_t* dst) {
        std::memcpy(dst, f_bytes.data() + first * eb, m * eb);
      });
      if (!z.ok()) return z.status();
      blob = std::move(z).value();
      t.encoding = "raw";
    } else {
      size_t rows, cols;
      RowsCols(t.shape, &rows, &cols);
      std::vector<float> scales(rows);
      std::vector<float> recon(n);
      if (form == DeltaForm::kInt8) {
        std::vector<int8_t> q(n);
        for (size_t r = 0; r < rows; ++r) {
          float m = 0;
          for (size_t c = 0; c < cols; ++c) {
            m = std::max(m, std::fabs(ft_f32[r * cols + c] - base_f32[r * cols + c]));
          }
          scales[r] = m / 127.0f;
          for (size_t c = 0; c < cols; ++c) {
            const size_t i = r * cols + c;
            q[i] = ops::int8_quantize_elem(ft_f32[i] - base_f32[i], scales[r]);
          }
        }
        ops::Int8Apply(base_f32.data(), q.data(), scales.data(), rows, cols, recon.data());
        blob.assign(reinterpret_cast<const char*>(scales.data()), rows * sizeof(float));
        blob.append(reinterpret_cast<const char*>(q.data()), n);
        t.encoding = "int8";
      } else {
        const size_t wpr = ops::sign_words_per_row(cols);
        std::vector<uint32_t> bits(rows * wpr, 0);
        for (size_t r = 0; r < rows; ++r) {
          double sum = 0;
          for (size_t c = 0; c < cols; ++c) {
            const size_t i = r * cols + c;
            const float d = ft_f32[i] - base_f32[i];
            sum += std::fabs(d);
            if (d > 0) bits[r * wpr + (c >> 5)] |= 1u << (c & 31);
          }
          // BitDelta's initial scale: the mean magnitude (it then distils the scale on data;
          // we keep the closed form so registration needs no data).
          scales[r] = cols ? static_cast<float>(sum / cols) : 0.0f;
        }
        ops::SignApply(base_f32.data(), bits.data(), scales.data(), rows, cols, recon.data());
        blob.assign(reinterpret_cast<const char*>(scales.data()), rows * sizeof(float));
        blob.append(reinterpret_cast<const char*>(bits.data()), bits.size() * sizeof(uint32_t));
        t.encoding = "sign";
      }
      Accumulate(recon, ft_f32, base_f32, &acc);
    }
    if (t.exact()) {
      // Exact encodings: zero error, but the norms still count towards the relative figures.
      if (!ft_f32.empty()) Accumulate(ft_f32, ft_f32, base_f32, &acc);
    }
    t.offset = data.Append(blob.data(), blob.size());
    t.size = blob.size();
    t.error = acc.Get();
    total.Merge(acc);
    ++stats.tensors_stored;
    tensors.push_back({{"name", t.name},
                       {"dtype", DTypeName(t.dtype)},
                       {"base_dtype", DTypeName(t.base_dtype)},
                       {"shape", t.shape},
                       {"encoding", t.encoding},
                       {"offset", t.offset},
                       {"size", t.size},
                       {"error", tree_internal::ErrorToJson(t.error)}});
    if (!data.ok()) return Status::IOError(data_path, "write failed (disk full?)");
  }
  const uint64_t data_bytes = data.size();
  const Digest data_digest = data.Finish();
  stats.error = total.Get();

  json header = {{"format", "gem-delta"},
                 {"version", version},
                 {"form", DeltaFormName(form)},
                 {"frame_elements", options.frame_elements},
                 {"model_digest", options.model_digest.Hex()},
                 {"base_digest", options.base_digest.Hex()},
                 {"tensors_total", stats.tensors_total},
                 {"finetune_bytes", stats.finetune_bytes},
                 {"data_bytes", data_bytes},
                 {"data_sha256", data_digest.Hex()},
                 {"error", tree_internal::ErrorToJson(stats.error)},
                 {"tensors", std::move(tensors)}};
  const std::string text = header.dump();
  {
    std::ofstream out(tmp_path, std::ios::binary);
    if (!out) return Status::IOError(tmp_path, "cannot create");
    uint8_t prefix[tree_internal::kPrefixBytes] = {};
    std::memcpy(prefix, tree_internal::kDeltaMagic, 8);
    const uint64_t hlen = text.size();
    for (int i = 0; i < 4; ++i) prefix[8 + i] = static_cast<uint8_t>(version >> (8 * i));
    for (int i = 0; i < 8; ++i) prefix[16 + i] = static_cast<uint8_t>(hlen >> (8 * i));
    out.write(reinterpret_cast<const char*>(prefix), sizeof(prefix));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    const uint64_t used = tree_internal::kPrefixBytes + text.size();
    const std::string pad(tree_internal::AlignUp(used) - used, '\0');
    out.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    std::ifstream in(data_path, std::ios::binary);
    if (data_bytes > 0) out << in.rdbuf();
    out.close();
    if (!out) return Status::IOError(tmp_path, "write failed (disk full?)");
  }
  std::error_code ec;
  fs::remove(data_path, ec);
  fs::rename(tmp_path, path, ec);
  if (ec) return Status::IOError(path, "cannot rename into place: " + ec.message());
  stats.file_bytes = fs::file_size(path, ec);
  stats.format_version = version;
  return stats;
}

}  // namespace gem
