// Copyright the gem authors. GGUF: llama.cpp's single-file checkpoint format.
//
// Layout (GGUF v2/v3, little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count;
// metadata key/values (typed: integers, floats, bools, strings, arrays of those); tensor infos
// (name, dims innermost-first, ggml type, offset); padding to general.alignment (default 32);
// tensor data. The file is memory-mapped; Open() validates every field and bound before it
// returns, so a truncated or malformed file gives Status::Corruption naming the file and the
// problem, never a crash.
//
// Dequantisation to f32 is supported for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and
// Q6_K (the block formats of ggml-common.h, gem/weight_types.h); other types are listed but
// ReadF32 returns NotSupported naming the type.
//
// Thread-safety: immutable after Open(); const methods may be called concurrently.
#ifndef GEM_GGUF_H_
#define GEM_GGUF_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/safetensors.h"
#include "gem/status.h"
#include "gem/weight_types.h"

namespace gem {

// ggml tensor types (values are ggml's; persisted in files: do not change).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};
// "F32", "Q4_1", ... or "type<N>" for types we do not name.
std::string GgmlTypeName(uint32_t type);

// The engine's weight type for a ggml type; NotSupported naming the type (and the supported
// ones) for types the engine has no kernels for (Q2_K, Q3_K, Q5_K, Q8_1, Q8_K, ...).
Result<WeightType> WeightTypeOfGgml(uint32_t type);

// Dequantises `count` elements of ggml type `type` at `src` into `dst`. REQUIRES: count is a
// multiple of the type's block size and src holds GgmlRowBytes(type, count) bytes.
// NotSupported for types WeightTypeOfGgml rejects.
Status DequantizeGgml(uint32_t type, const void* src, size_t count, float* dst);
// Bytes of `count` elements of `type`; 0 for unknown types or a count that is not a multiple of
// the block size.
uint64_t GgmlRowBytes(uint32_t type, uint64_t count);

// One metadata value. Scalars are widened (integers to int64/uint64, floats to double); arrays of
// numbers or bools are kept as doubles (exact for the int32 token types and f32 scores GGUF
// holds), arrays of strings as strings.
struct GgufValue {
  enum class Kind : uint8_t { kInt, kUInt, kFloat, kBool, kString, kArray };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string s;
  uint32_t elem_type = 0;            // arrays: GGUF value type of the elements
  std::vector<double> numbers;       // arrays of numbers/bools
  std::vector<std::string> strings;  // arrays of strings
};

struct GgufTensorInfo {
  std::string name;
  uint32_t type = 0;          // GgmlType value
  std::vector<int64_t> dims;  // GGUF order: dims[0] is the innermost (contiguous) one
  uint64_t offset = 0;        // absolute byte offset in the file
  uint64_t nbytes = 0;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  // PyTorch-order shape (dims reversed).
  std::vector<int64_t> shape() const { return {dims.rbegin(), dims.rend()}; }
};

class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* Find(std::string_view key) const;
  // Typed lookups: the value when present with a compatible type, else `def`.
  int64_t GetInt(std::string_view key, int64_t def) const;
  double GetFloat(std::string_view key, double def) const;
  std::string GetString(std::string_view key, std::string_view def = {}) const;
  bool GetBool(std::string_view key, bool def) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;
  // Dequantises tensor `t` of this file into dst (t.numel() floats). NotSupported for a type we
  // cannot dequantise (message names file, tensor and type).
  Status ReadF32(const GgufTensorInfo& t, float* dst) const;
  // The stored bytes of tensor `t` (t.nbytes of them), inside the mapping. REQUIRES: `t` came
  // from this file.
  const uint8_t* TensorBytes(const GgufTensorInfo& t) const { return file_->data() + t.offset; }
  const MappedFile* mapping() const { return file_.get(); }

 private:
  GgufFile() = default;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace gem

#endif  // GEM_GGUF_H_
