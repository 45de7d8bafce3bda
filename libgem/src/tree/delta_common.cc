// Copyright the gem authors. Helpers shared by the delta writer and reader.
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "kernel_math/word_math.h"
#include "tree/delta_internal.h"

namespace gem {

const char* DeltaFormName(DeltaForm form) {
  switch (form) {
    case DeltaForm::kXor:
      return "xor";
    case DeltaForm::kInt8:
      return "int8";
    case DeltaForm::kSign:
      return "sign";
  }
  return "?";
}

Result<DeltaForm> ParseDeltaForm(std::string_view name) {
  if (name == "xor") return DeltaForm::kXor;
  if (name == "int8") return DeltaForm::kInt8;
  if (name == "sign") return DeltaForm::kSign;
  return Status::InvalidArgument("unknown delta form '" + std::string(name) +
                                 "' (expected xor, int8 or sign)");
}

namespace tree_internal {

void StartWeightsDigest(Hasher* h) { h->Field(std::string_view("gem-weights-v1")); }

void HashTensor(Hasher* h, std::string_view name, DType dtype, const std::vector<int64_t>& shape,
                std::span<const uint8_t> bytes) {
  h->Field(name);
  h->Field(std::string_view(DTypeName(dtype)));
  h->Field(static_cast<uint64_t>(shape.size()));
  for (int64_t d : shape) h->Field(static_cast<uint64_t>(d));
  h->Field(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

int WordKindOf(DType dtype) {
  switch (dtype) {
    case DType::kBF16:
      return ops::kWordBF16;
    case DType::kF16:
      return ops::kWordF16;
    case DType::kF32:
      return ops::kWordF32;
    default:
      return -1;
  }
}

Result<DType> DTypeFromName(std::string_view name) {
  for (DType d : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16}) {
    if (name == DTypeName(d)) return d;
  }
  return Status::InvalidArgument("unsupported dtype '" + std::string(name) + "'");
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// One context per thread: creating a context costs more than compressing a small frame, and a
// tensor of a large model is hundreds of frames.
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdContexts& Contexts() {
  thread_local ZstdContexts ctx;
  return ctx;
}

}  // namespace

Result<std::string> ZstdCompress(const void* src, size_t n, int level, bool checksum) {
  ZSTD_CCtx* cctx = Contexts().c;
  if (cctx == nullptr) return Status::ResourceExhausted("zstd: cannot create a context");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(n), '\0');
  const size_t got = ZSTD_compress2(cctx, out.data(), out.size(), src, n);
  if (ZSTD_isError(got)) return Status::Internal("zstd compress: ", ZSTD_getErrorName(got));
  out.resize(got);
  return out;
}

Status ZstdDecompress(std::span<const uint8_t> src, size_t expected, uint8_t* dst,
                      std::string_view what) {
  const unsigned long long size = ZSTD_getFrameContentSize(src.data(), src.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size != expected) {
    return Status::Corruption(
        what, "zstd frame does not hold the expected " + std::to_string(expected) + " bytes");
  }
  ZSTD_DCtx* dctx = Contexts().d;
  if (dctx == nullptr) return Status::ResourceExhausted("zstd: cannot create a context");
  const size_t got = ZSTD_decompressDCtx(dctx, dst, expected, src.data(), src.size());
  if (ZSTD_isError(got)) return Status::Corruption(what, ZSTD_getErrorName(got));
  if (got != expected) return Status::Corruption(what, "zstd frame decompressed short");
  return Status::OK();
}

nlohmann::json ErrorToJson(const DeltaError& e) {
  return {{"max_abs", e.max_abs},
          {"rel_frobenius", e.rel_frobenius},
          {"rel_frobenius_of_delta", e.rel_frobenius_of_delta}};
}

DeltaError ErrorFromJson(const nlohmann::json& j) {
  DeltaError e;
  if (j.is_object()) {
    e.max_abs = j.value("max_abs", 0.0);
    e.rel_frobenius = j.value("rel_frobenius", 0.0);
    e.rel_frobenius_of_delta = j.value("rel_frobenius_of_delta", 0.0);
  }
  return e;
}

DeltaError ErrorAccum::Get() const {
  DeltaError e;
  e.max_abs = max_abs;
  e.rel_frobenius = ft2 > 0 ? std::sqrt(err2 / ft2) : 0;
  e.rel_frobenius_of_delta = d2 > 0 ? std::sqrt(err2 / d2) : 0;
  return e;
}

}  // namespace tree_internal
}  // namespace gem
