// Copyright the gem authors. Fine-tune deltas: a full fine-tune stored as its difference from the
// resident base, in one of three forms (docs/DELTA_FORMAT.md is the byte-level specification):
//
//   kXor   lossless. Per tensor, the XOR of the fine-tune's and the base's stored words (bf16,
//          f16 or f32 as in the checkpoints), split into byte planes and compressed with zstd.
//          Base (+) delta reproduces the fine-tune's stored words bit for bit.
//   kInt8  lossy. Per row r of a 2-D tensor, delta ~= scale[r] * q with q in [-127, 127].
//   kSign  lossy, 1 bit per weight (BitDelta): delta ~= +/- scale[r], scale[r] = mean |delta|.
//
// Tensors the fine-tune leaves unchanged are not stored. The lossy forms keep 1-D tensors (norm
// weights, biases) exactly, as the fine-tune's own words, zstd-compressed. The base is never
// modified: Apply() writes the fine-tune's value of one tensor into a caller-owned buffer, which
// the engine then uses in place of the base tensor (its tensor override).
//
// Format version 2 (written today) stores each zstd-compressed tensor as independent frames of
// a fixed number of elements, so that Apply() decodes them on several threads, each frame
// applied while it is still in the cache; Prefetch() decodes a whole file ahead of its Apply()
// calls (the engine evaluator does it for the next candidate while the current one runs).
// Version 1 files (one zstd frame per tensor) are still read.
//
// Thread-safety: WriteDelta is reentrant. A DeltaFile's content is immutable after Open(); its
// const methods may be called concurrently, also while one thread runs Prefetch() or
// ReleasePrefetched() (which must not run concurrently with each other).
#ifndef GEM_DELTA_H_
#define GEM_DELTA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/digest.h"
#include "gem/safetensors.h"
#include "gem/status.h"

namespace gem {

// Persisted in delta files and tree records: do not renumber.
enum class DeltaForm : uint8_t { kXor = 1, kInt8 = 2, kSign = 3 };

// "xor", "int8", "sign" (the spelling in files, manifests and file names).
const char* DeltaFormName(DeltaForm form);
// InvalidArgument naming `name` when it is not one of the spellings above.
Result<DeltaForm> ParseDeltaForm(std::string_view name);

// Reconstruction error of a lossy form against the fine-tune (all zero for kXor), measured on the
// f32 values the engine computes with: max |w_hat - w_ft|, ||w_hat - w_ft|| / ||w_ft|| and
// ||w_hat - w_ft|| / ||w_ft - w_base|| (Frobenius norms; 0 when the denominator is 0).
struct DeltaError {
  double max_abs = 0;
  double rel_frobenius = 0;
  double rel_frobenius_of_delta = 0;
};

// One stored tensor of a delta file.
struct DeltaTensor {
  std::string name;
  DType dtype = DType::kBF16;       // the fine-tune's stored dtype
  DType base_dtype = DType::kBF16;  // the base's stored dtype
  std::vector<int64_t> shape;
  // How the blob encodes the tensor: "xor" (XOR byte planes, zstd), "ulp" (zigzag ulp steps:
  // low bytes as they are, high bytes listed; version 3), "raw" (the fine-tune's own words,
  // zstd; used when dtypes differ or for 1-D tensors of lossy forms), "int8", "sign".
  std::string encoding;
  // Whether the encoding rebuilds the fine-tune's words exactly ("xor", "ulp", "raw").
  bool exact() const { return encoding == "xor" || encoding == "ulp" || encoding == "raw"; }
  uint64_t offset = 0;  // blob offset within the data section
  uint64_t size = 0;    // blob bytes
  DeltaError error;     // this tensor's reconstruction error

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// What WriteDelta produced.
struct DeltaStats {
  DeltaForm form = DeltaForm::kXor;
  std::string path;
  uint64_t file_bytes = 0;      // the whole delta file
  uint64_t finetune_bytes = 0;  // the fine-tune's tensor bytes as stored in its checkpoint
  size_t tensors_total = 0;     // tensors in the fine-tune
  size_t tensors_stored = 0;    // tensors that differ from the base (stored in the file)
  DeltaError error;             // over all stored tensors
  uint32_t format_version = 0;  // the file's format version (docs/DELTA_FORMAT.md, "Versions")
  // file_bytes / finetune_bytes.
  double size_fraction() const {
    return finetune_bytes ? static_cast<double>(file_bytes) / finetune_bytes : 0;
  }
};

struct DeltaWriteOptions {
  int zstd_level = 3;  // 1..19; 3 is zstd's default, fast enough for an 8B model at registration
  // Digests recorded in the header (the caller computed them, e.g. with WeightsDigest()).
  Digest model_digest;
  Digest base_digest;
  // Also store (as "raw") a tensor whose dtype differs from the base's while its values are
  // equal. The engine cannot see such a change, so registration leaves it out; a delta
  // checkpoint (gem/delta_checkpoint.h) keeps it, so that the fine-tune's file is rebuilt with
  // every tensor in its own dtype.
  bool keep_dtype_changes = false;
  // Elements per zstd frame of the "xor" and "raw" encodings (docs/DELTA_FORMAT.md, version 2).
  // 65536 (128 KiB of bf16 planes) keeps a frame in a core's L2 cache while it is applied and
  // costs under 0.1% of size against one frame per tensor. > 0.
  uint32_t frame_elements = 65536;
  // Threads compressing the frames of one tensor; 0: the machine's hardware threads. The file's
  // bytes do not depend on it. Default 1: gemd registers trees beside running evaluations,
  // and the threads would come from the engine's worker pool (gem-delta make uses 0).
  int threads = 1;
  // Lossless form: a tensor most of whose words change by a few ulps is stored "ulp" (version
  // 3: the low bytes of the steps as they are, the rare high bytes as a sparse list; no entropy
  // decode, so it applies at about memory speed, for ~1.4x the bytes of "xor" on such tensors).
  // Other tensors, every tensor when false or when frame_elements > 65536, are stored "xor"
  // (zstd-coded planes: smallest). Files without a "ulp" tensor are version 2.
  bool fast_apply = true;
};

struct DeltaReadOptions {
  // Threads that decode and apply the frames of one tensor (Apply, ReconstructRaw); 0: the
  // machine's hardware threads. Results do not depend on it. They come from the engine's worker
  // pool (one parallel job at a time per process).
  int threads = 0;
};

// The content digest of a checkpoint's weights: SHA-256 over the tensors in name order, each as
// Field(name), Field(dtype name), Field(rank), Field(each dim), Field(stored bytes). Independent
// of sharding and of header order; two checkpoints with the same weights have the same digest.
Digest WeightsDigest(const SafetensorsSet& weights);

// Encodes `finetune` against `base` in `form` and writes the file at `path` (atomically: a
// temporary file renamed into place). REQUIRES: the two have the same tensor names and shapes
// (CheckSameTensors) and float dtypes. IOError naming the path on write failure.
Result<DeltaStats> WriteDelta(const SafetensorsSet& base, const SafetensorsSet& finetune,
                              DeltaForm form, const std::string& path,
                              const DeltaWriteOptions& options = {});

// InvalidArgument naming the first mismatch when `finetune` does not have exactly the tensor
// names and shapes of `base`, or has a tensor that is not F32/F16/BF16/F64, with the hint
// "(maybe the wrong base model?)".
Status CheckSameTensors(const SafetensorsSet& base, const SafetensorsSet& finetune);

class DeltaFile {
 public:
  // Maps and validates `path`: magic, version (1 or 2), header JSON, every blob inside the data
  // section, every frame table (version 2), and the SHA-256 of the data section against the
  // header's. Corruption naming the path otherwise; NotSupported for another version.
  static Result<std::unique_ptr<DeltaFile>> Open(const std::string& path,
                                                 const DeltaReadOptions& options = {});
  ~DeltaFile();
  DeltaFile(const DeltaFile&) = delete;
  DeltaFile& operator=(const DeltaFile&) = delete;

  DeltaForm form() const { return form_; }
  uint32_t version() const { return version_; }  // the file's format version (1 or 2)
  const std::string& path() const { return path_; }
  const Digest& model_digest() const { return model_digest_; }
  const Digest& base_digest() const { return base_digest_; }
  // Stored (changed) tensors, in name order.
  const std::vector<DeltaTensor>& tensors() const { return tensors_; }
  const DeltaTensor* Find(std::string_view name) const;
  // Tensors in the fine-tune (stored + unchanged).
  size_t tensors_total() const { return tensors_total_; }
  // The fine-tune's tensor bytes as stored in its checkpoint.
  uint64_t finetune_bytes() const { return finetune_bytes_; }
  // The file's size in bytes.
  uint64_t file_bytes() const;
  const DeltaError& error() const { return error_; }
  // The figures above as the DeltaStats WriteDelta returns for this file.
  DeltaStats Stats() const;

  // Writes the fine-tune's value of `t` as f32 into out[0..t.numel()), given the base tensor as
  // f32 (the values its stored words convert to). out may alias base. `t` is one of tensors().
  // Decodes the tensor's frames on the read options' threads, unless Prefetch() already did
  // (then only the element pass runs). Corruption when a frame does not decompress to its
  // expected size.
  Status Apply(const DeltaTensor& t, const float* base, float* out) const;

  // kXor only: the fine-tune's stored bytes of `t` from the base's stored bytes (as in its
  // checkpoint), bit for bit. InvalidArgument when base_raw has the wrong size or the form is
  // lossy. Uses the prefetched planes when Prefetch decoded `t`, like Apply; `out` is resized
  // (its capacity reused: typed bases reconstruct into the same buffer per candidate).
  Status ReconstructRaw(const DeltaTensor& t, std::span<const uint8_t> base_raw,
                        std::vector<uint8_t>* out) const;

  // Bytes the zstd-compressed tensors decode to: what a full Prefetch() holds.
  uint64_t decoded_bytes() const { return decoded_bytes_; }
  // Decodes the zstd-compressed tensors, in order, into memory owned by this object, skipping a
  // tensor that would take the total past max_bytes, on the calling thread only (it is meant to
  // run beside other work), so that later Apply() calls of those tensors are only the element
  // pass (the others decode as usual). Does nothing when already prefetched. Corruption as
  // Apply (nothing is kept then).
  Status Prefetch(uint64_t max_bytes = UINT64_MAX);
  // Frees what Prefetch() decoded (Apply() decodes again afterwards).
  void ReleasePrefetched();
  bool prefetched() const;            // prefetched_bytes() > 0
  uint64_t prefetched_bytes() const;  // what Prefetch() holds now

 private:
  struct Frames;
  struct Decoded;
  DeltaFile();
  std::span<const uint8_t> Blob(const DeltaTensor& t) const;
  size_t IndexOf(const DeltaTensor& t) const;
  Status ParseFrames(size_t index);
  // Decodes frame f of tensors_[index] into dst (the frame's decoded bytes).
  Status DecodeFrame(size_t index, size_t f, uint8_t* dst) const;

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;
  uint32_t version_ = 0;
  int threads_ = 1;
  uint64_t frame_elements_ = 0;  // version 2
  std::vector<Frames> frames_;   // per tensors_ entry; empty for int8/sign
  uint64_t decoded_bytes_ = 0;
  mutable std::mutex mu_;
  std::shared_ptr<const Decoded> decoded_;  // guarded by mu_; null unless prefetched
  DeltaForm form_ = DeltaForm::kXor;
  Digest model_digest_, base_digest_;
  std::vector<DeltaTensor> tensors_;
  size_t tensors_total_ = 0;
  uint64_t finetune_bytes_ = 0;
  DeltaError error_;
};

}  // namespace gem

#endif  // GEM_DELTA_H_
