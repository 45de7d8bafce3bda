// Copyright the gem authors. Weight types: the element types a model's weight matrices are kept
// in (their stored type: f32, f16, bf16, or a ggml block quantisation) and their block formats.
//
// A weight matrix is row-major, PyTorch Linear order ([out_features, in_features]); each row is
// an independent sequence of blocks along in_features (ggml's layout: quantisation blocks never
// span rows). Block formats are ggml's (ggml-common.h), byte for byte:
//
//   type  elems bytes  block                                           value of element e
//   f32       1     4  float                                           x
//   f16       1     2  IEEE half                                       exact conversion
//   bf16      1     2  bfloat16                                        exact conversion
//   q8_0     32    34  {f16 d; i8 q[32]}                               d*q[e]
//   q4_0     32    18  {f16 d; u8 qs[16]}                              d*(nib(e)-8)
//   q4_1     32    20  {f16 d, m; u8 qs[16]}                           d*nib(e) + m
//   q5_0     32    22  {f16 d; u8 qh[4]; u8 qs[16]}                    d*((nib(e) | bit(e)<<4) -
//   16) q5_1     32    24  {f16 d, m; u8 qh[4]; u8 qs[16]}                 d*(nib(e) | bit(e)<<4) +
//   m q4_k    256   144  {f16 d, dmin; u8 scales[12]; u8 qs[128]}        (d*sc[s])*q - dmin*mn[s]
//   q6_k    256   210  {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}   (d*sc[e/16])*(q-32)
//
// nib(e): the low nibble of qs[e] for e < 16, the high nibble of qs[e-16] otherwise; bit(e): bit e
// of the little-endian u32 qh. Q4_K has 8 sub-blocks of 32 with 6-bit scales and mins packed in
// 12 bytes; Q6_K has 16 sub-blocks of 16 (docs/ENGINE.md spells out the packings).
//
// Dequantisation computes exactly what gguf-py's numpy code computes (one f32 operation at a time,
// no fused multiply-add), so values equal transformers' GGUF loader's bit for bit
// (tests/engine/quant_blocks_test.cc checks every type against a gguf-py fixture).
//
// Quantisation (QuantizeRow) is our own reference quantiser: used to re-quantise a fine-tune's
// changed tensors onto a quantised base, and by LoadOptions::weights to quantise a checkpoint at
// load. It is deterministic and row-local, not tuned like llama.cpp's quantize tool (which
// searches scales to minimise error); docs/ENGINE.md gives its error.
//
// Thread-safety: all functions are pure.
#ifndef GEM_WEIGHT_TYPES_H_
#define GEM_WEIGHT_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gem/status.h"

namespace gem {

// Not persisted: values may change (files use the ggml or safetensors codes).
enum class WeightType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ4_K,
  kQ6_K,
};
inline constexpr int kNumWeightTypes = 10;

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k".
const char* WeightTypeName(WeightType type);
// Parses the spellings above (case-insensitive). InvalidArgument naming the accepted ones.
Result<WeightType> ParseWeightType(std::string_view name);
// Elements per block (1 for f32/f16/bf16) and bytes per block.
int WeightTypeBlock(WeightType type);
int WeightTypeBlockBytes(WeightType type);
// True for the ggml block quantisations (not f32/f16/bf16).
bool WeightTypeIsQuantized(WeightType type);
// Bytes of one row of `cols` elements; 0 when cols is not a multiple of the block size.
size_t WeightRowBytes(WeightType type, int64_t cols);

// Dequantises `n` elements (a whole number of blocks) at `src` into dst. REQUIRES: n is a
// multiple of WeightTypeBlock(type) and src holds WeightRowBytes(type, n) bytes.
void DequantizeRow(WeightType type, const void* src, int64_t n, float* dst);
// Quantises `n` floats (a whole number of blocks) into dst (WeightRowBytes(type, n) bytes).
// f32 copies; f16 and bf16 round to nearest even. REQUIRES as DequantizeRow.
void QuantizeRow(WeightType type, const float* src, int64_t n, void* dst);

}  // namespace gem

#endif  // GEM_WEIGHT_TYPES_H_
