// Copyright the gem authors. Safetensors: read Hugging Face .safetensors files without copying.
//
// A .safetensors file is an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...,
//   "__metadata__": {"k": "v"}}), then the tensor bytes; offsets are relative to the byte after
// the header. A sharded checkpoint adds model.safetensors.index.json
// ({"weight_map": {"name": "model-00001-of-00002.safetensors", ...}}).
//
// Files are memory-mapped read-only; tensor bytes are views into the mapping and stay valid as
// long as the owning SafetensorsFile / SafetensorsSet lives.
//
// Failure: Open() validates the whole header before returning: truncated files, a header that is
// not JSON, unknown dtypes, negative or overflowing shapes, offsets outside the data section and
// byte spans that disagree with dtype x shape all give Status::Corruption (or IOError when the
// file cannot be read) whose message starts with the file's path. Nothing in this API aborts on
// bad input.
//
// Thread-safety: after Open() returns, all const methods may be called concurrently.
#ifndef GEM_SAFETENSORS_H_
#define GEM_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem {

// Element types of tensors in checkpoint files. Values are not persisted.
enum class DType : uint8_t {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
  kF8E4M3,
  kF8E5M2,
};

// "F32", "BF16", ... (the safetensors spelling).
const char* DTypeName(DType dtype);
// Bytes per element.
size_t DTypeSize(DType dtype);
// True for the types ConvertToF32 understands: F64, F32, F16, BF16.
bool DTypeIsFloat(DType dtype);

// Converts `count` elements of type `dtype` at `src` (any alignment) to f32 in `dst`.
// InvalidArgument for dtypes that are not F64/F32/F16/BF16.
Status ConvertToF32(DType dtype, const void* src, size_t count, float* dst);

// IEEE half and bfloat16 to float (exact).
float HalfToFloat(uint16_t h);
float BF16ToFloat(uint16_t b);
// Round-to-nearest-even float to bfloat16 / half (for tests and tools).
uint16_t FloatToBF16(float f);
uint16_t FloatToHalf(float f);

// A read-only memory-mapped file. Empty files map to an empty span.
class MappedFile {
 public:
  // Maps `path`. IOError naming the path when it cannot be opened or mapped.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Tells the kernel that the whole pages inside [p, p + n) (a span of this mapping) will not be
  // read again soon, so they leave this process's resident set (after their bytes were copied).
  // Reading them again is still valid: they fault back in from the file.
  void ReleasePages(const uint8_t* p, size_t n) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order)
  uint64_t offset = 0;         // absolute byte offset in the file
  uint64_t nbytes = 0;         // == numel() * DTypeSize(dtype)

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// One .safetensors file.
class SafetensorsFile {
 public:
  // Maps and validates `path` (see the file comment for the errors).
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  // All tensors, in header order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorInfo* Find(std::string_view name) const;
  // The "__metadata__" string map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The raw bytes of a tensor of this file. REQUIRES: `t` came from this file.
  std::span<const uint8_t> Bytes(const TensorInfo& t) const {
    return {file_->data() + t.offset, static_cast<size_t>(t.nbytes)};
  }
  // Converts a tensor of this file to f32 into `dst` (t.numel() floats).
  Status ReadF32(const TensorInfo& t, float* dst) const;
  // The file's mapping (for in-place use of tensor bytes).
  const MappedFile* mapping() const { return file_.get(); }
  // Convenience: the tensor `name` as a new f32 vector; NotFound naming file and tensor.
  Result<std::vector<float>> ReadF32(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  std::unique_ptr<MappedFile> file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint: one file, or the shards listed by an index.
class SafetensorsSet {
 public:
  // `path` may be: a .safetensors file; a model.safetensors.index.json; or a directory holding
  // model.safetensors or model.safetensors.index.json (the index wins when both exist). Every
  // shard is opened and validated; a tensor listed in the index but missing from its shard, or a
  // tensor present in two shards, is Corruption naming both.
  static Result<std::unique_ptr<SafetensorsSet>> Open(const std::string& path);

  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };
  // Names in sorted order.
  std::vector<std::string> Names() const;
  // nullptr-file entry when absent.
  Entry Find(std::string_view name) const;
  size_t size() const { return entries_.size(); }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Convenience: the tensor as f32, NotFound naming the checkpoint and tensor when absent.
  Result<std::vector<float>> ReadF32(std::string_view name) const;
  // What Open() was given (for messages).
  const std::string& source() const { return source_; }

 private:
  SafetensorsSet() = default;
  std::string source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Writing .safetensors files (gem-delta rebuild, tree registration of delta checkpoints).
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t nbytes() const;  // numel x DTypeSize(dtype)
};

// Supplies the bytes of tensor `index` of the specs given to WriteSafetensors, exactly
// specs[index].nbytes() of them. An error stops the write and is returned as is.
using TensorBytesFn = std::function<Status(size_t index, std::vector<uint8_t>* bytes)>;

// Writes one .safetensors file at `path` holding `specs` in the given order, asking `bytes_of`
// for one tensor at a time (so memory stays at one tensor's worth whatever the model size). The
// header is padded with spaces to a multiple of 8 bytes, as the Hugging Face writer does;
// `metadata` becomes "__metadata__" (omitted when empty). Written to `path`.tmp and renamed into
// place. InvalidArgument for duplicate names or a wrong byte count; IOError naming the path.
Status WriteSafetensors(const std::string& path, const std::vector<TensorSpec>& specs,
                        const TensorBytesFn& bytes_of,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace gem

#endif  // GEM_SAFETENSORS_H_
