// Copyright the gem authors. CPU twins of the CUDA backend's op kernels
// (libgem/src/engine/cuda/*.cu): same arguments as the kernels' entry points, host memory, the
// same element math in the same order (kernel_math/engine_math.h). They are the reference the GPU
// check compares each kernel with, and the CPU tests compare them with the CPU backend
// (tests/engine/op_twins_test.cc), which closes the loop: kernel == twin ~= CPU backend.
//
// Pure functions; thread-safe for distinct outputs. Shapes are the caller's to check (the
// kernels' entry points reject bad ones with cudaErrorInvalidValue).
#ifndef GEM_ENGINE_OPS_TWINS_H_
#define GEM_ENGINE_OPS_TWINS_H_

#include <cstddef>
#include <cstdint>

#include "kernel_math/engine_math.h"
#include "gem/backend.h"

namespace gem::ops {

// x[r, :] = table[ids[r], :] as f32 for r < rows; table is [vocab, hidden] of `wtype`.
// REQUIRES: 0 <= ids[r] < vocab.
void EmbedTwin(const void* table, int wtype, const int32_t* ids, int rows, int hidden, float* x);

// y[m x n] (+)= x[m x k] * w[n x k]^T, w of `wtype`, in the 16-lane order of engine_math.h.
void MatmulTwin(const float* x, const void* w, int wtype, float* y, int m, int n, int k,
                bool accumulate);

// y = x * rsqrt(mean(x^2) + eps) * w per row, sum of squares in kNormThreads double partials.
void RmsNormTwin(const float* x, const float* w, float* y, int m, int n, float eps);

// Rotate-half RoPE in place: x is m rows of heads x head_dim; row i at position pos[i].
void RopeTwin(float* x, int m, int heads, int head_dim, const int32_t* pos, const float* inv_freq);

// y = silu(gate) * up over n elements (y may alias gate or up).
void SiluMulTwin(const float* gate, const float* up, float* y, size_t n);

// Causal GQA attention of gem/backend.h's contract, per (row, head) in engine_math.h's order.
void AttentionTwin(const AttentionSeq* seqs, int num_seqs, int num_heads, int num_kv_heads,
                   int head_dim, float scale, int window);

// ids[r] = arg-max of logits row r (vocab entries), Generate's rule (engine_math.h).
void ArgmaxTwin(const float* logits, int rows, int vocab, int32_t* ids);

}  // namespace gem::ops

#endif  // GEM_ENGINE_OPS_TWINS_H_
