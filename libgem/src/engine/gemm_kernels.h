// Copyright the gem authors. The CPU matmul kernels per weight type, and the activation formats
// they read. Internal to the engine (gemm.cc dispatches; tests/engine/gemm_test.cc checks every
// kernel against the portable one).
//
// As in ggml, each weight type names the form its activations take ("vec_dot_type"):
//   * f32, f16, bf16 weights read f32 activations; the weight is converted exactly and the dot
//     product is accumulated in the same order as the f32 kernel, so results are bit-identical
//     to running the f32 copy of the weights (for one ISA);
//   * q8_0, q4_0, q4_1, q5_0, q5_1 read integer activations in blocks of 32 (ActQ8);
//   * q4_k, q6_k read integer activations in blocks of 256 with 16-element sums (ActQ8K).
// The quantised types are packed in groups of 16 rows (IsPacked) and their kernels run the same
// integer sums and f32 operations on every ISA.
// Activations are quantised per row and per block, so a row's result never depends on the other
// rows. Unlike ggml's Q8_0 / Q8_K (8 bits), a block is quantised to 15 bits (|a| <= 16256) held
// as two int8 planes a = 128 h + l (|h| <= 127, -64 <= l <= 63): the integer kernels run the
// same u8 x s8 dot products (vpdpbusd, vpmaddubsw) twice, one per plane. With 8-bit activations
// the logits of SmolLM2-135M Q4_1 moved enough (a few percent) to change transformers' greedy ids
// in 3 of its 4 reference cases; with 15 bits they stay within about 1e-3 of the f32 path's.
//
// Every kernel computes each output y[i, j] as one dot product whose arithmetic (integer block
// sums, which are exact, then a fixed sequence of f32 operations) depends only on row i of x and
// row j of w: never on m, the tile a row lands in, the column range or the thread. For the
// packed 32-element types that sequence is also the same on every ISA.
#ifndef GEM_ENGINE_GEMM_KERNELS_H_
#define GEM_ENGINE_GEMM_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gem/weight_types.h"

namespace gem::gemm {

enum class ActFormat : uint8_t { kF32, kQ8, kQ8K };
ActFormat ActFormatOf(WeightType type);

// ActQ8: blocks of 32, one row of k elements (k a multiple of 32), laid out as
//   int8  h[k], l[k]    the two planes of a = round-to-nearest-even(x / d), |a| <= 16256
//   int32 sum[k / 32]   sum of the block's a (the offset term of q4_0/q5_0/q8_0)
//   f32   d[k / 32]     block scale: amax / 16256
//   f32   s[k / 32]     d * sum: the q4_1/q5_1 min term
// ActQ8K: blocks of 256: int8 h[k], l[k]; int16 bsum_h[k / 16], bsum_l[k / 16] (sums of 16 h,
// 16 l); f32 d[k / 256].
struct ActLayout {
  size_t row_bytes = 0;  // a row, padded to 64 bytes
  size_t l_off = 0, sum_off = 0, d_off = 0, s_off = 0, bsums_off = 0, bsums_l_off = 0;
};
ActLayout LayoutQ8(int k);
ActLayout LayoutQ8K(int k);
// Quantises rows [0, m) of x (m x k) into out (m * layout.row_bytes bytes).
void QuantizeActQ8(const float* x, int m, int k, uint8_t* out);
void QuantizeActQ8K(const float* x, int m, int k, uint8_t* out);

// The CPU backend's own layout for the quantised types (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k,
// q6_k): rows in groups of 16, interleaved per block (gemm_q32.cc and gemm_qk.cc describe it).
// Same bytes as the row-major ggml layout, plus zero rows up to a multiple of 16.
bool IsPacked(WeightType type);
size_t PackedBytes(WeightType type, int64_t rows, int64_t cols);
// Row-major ggml rows (n x k) -> the packed layout (PackedBytes(type, n, k) bytes at out).
void PackRows(WeightType type, const void* rows, int64_t n, int64_t k, void* out);
// Row r of a packed matrix back in ggml's row layout (WeightRowBytes(type, k) bytes).
void UnpackPackedRow(WeightType type, const void* packed, int64_t k, int64_t r, void* out);
// The K-quant halves of the two above (gemm_qk.cc).
void PackRowsK(WeightType type, const void* rows, int64_t n, int64_t k, void* out);
void UnpackPackedRowK(WeightType type, const void* packed, int64_t k, int64_t r, void* out);

// One kernel call: y[i * ldy + j] (+)= dot(act row i, weight row j), i in [0, m), j in [n0, n1).
struct Args {
  const uint8_t* act;  // f32 rows (k floats each) or quantised rows
  size_t act_stride;   // bytes between activation rows
  const uint8_t* w;    // weight row 0 (the packed types: the whole packed matrix)
  size_t w_stride;     // bytes between weight rows (row-major types)
  float* y;
  int ldy;
  int m, n0, n1, k;
  bool accumulate;
};
using KernelFn = void (*)(const Args&);

// The instruction sets with kernels, best first. A table has a kernel for every weight type.
enum class Isa : uint8_t { kAvx512, kAvx2, kGeneric };
const char* IsaName(Isa isa);
bool IsaSupported(Isa isa);
// The ISA in use: the best supported one, unless ForceIsa() chose another.
Isa ActiveIsa();
// Tests and benches: use `isa` from now on (false, and no change, when the CPU lacks it).
bool ForceIsa(Isa isa);
KernelFn Kernel(Isa isa, WeightType type);

// Per-ISA tables (gemm_float.cc, gemm_q32.cc, gemm_qk.cc).
KernelFn FloatKernel(Isa isa, WeightType type);
KernelFn Q32Kernel(Isa isa, WeightType type);
KernelFn QKKernel(Isa isa, WeightType type);

}  // namespace gem::gemm

#endif  // GEM_ENGINE_GEMM_KERNELS_H_
