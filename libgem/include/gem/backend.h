// Copyright the gem authors. Backend: the table of ops the transformer is written against.
//
// As in ggml (src/ggml-backend-impl.h), a backend is a struct of function pointers; the model
// code calls only these, so a CUDA backend (kernels/, later) slots in by filling the same table.
// All tensors are f32, row-major, in the backend's memory (host memory for the CPU backend).
// Ops never fail on valid shapes; shape checks belong to the caller (the model checks at load).
//
// Thread-safety: a backend's ops may be called from one thread at a time per BackendContext;
// the ops themselves may use `ctx->threads` worker threads.
#ifndef GEM_BACKEND_H_
#define GEM_BACKEND_H_

#include <cstddef>
#include <cstdint>

namespace gem {

struct BackendContext {
  int threads = 1;  // worker threads an op may use (>= 1)
};

// One sequence's part of a batched attention call.
struct AttentionSeq {
  const float* q;  // rows x (num_heads * head_dim), already rotated
  float* out;      // rows x (num_heads * head_dim)
  const float* k;  // cache: kv_len x (num_kv_heads * head_dim), rotated
  const float* v;  // cache: kv_len x (num_kv_heads * head_dim)
  int rows;        // new rows of this sequence (their positions are kv_len-rows .. kv_len-1)
  int kv_len;      // cached positions including the new rows
};

struct Backend {
  const char* name;  // "cpu"

  // y[m x n] = x[m x k] * w[n x k]^T (accumulate: y += ...). w is a PyTorch Linear weight.
  void (*matmul)(const BackendContext* ctx, const float* x, const float* w, float* y, int m, int n,
                 int k, bool accumulate);
  // y[i, :] += b for each of m rows of n.
  void (*add_bias)(const BackendContext* ctx, float* y, const float* b, int m, int n);
  // y = x * rsqrt(mean(x^2) + eps) * w, per row (x may equal y).
  void (*rms_norm)(const BackendContext* ctx, const float* x, const float* w, float* y, int m,
                   int n, float eps);
  // Rotates x (m rows of heads x head_dim) in place, Hugging Face "rotate_half" layout: pairs
  // (i, i + head_dim/2) rotate by angle pos[row] * inv_freq[i].
  void (*rope)(const BackendContext* ctx, float* x, int m, int heads, int head_dim,
               const int32_t* pos, const float* inv_freq);
  // y = silu(gate) * up, elementwise over n.
  void (*silu_mul)(const BackendContext* ctx, const float* gate, const float* up, float* y,
                   size_t n);
  // y += x, elementwise over n.
  void (*add)(const BackendContext* ctx, float* y, const float* x, size_t n);
  // Causal grouped-query attention for a batch of sequences: for each sequence, head h of each
  // new row attends to the cached positions up to its own (and, when window > 0, at most
  // `window` positions back, its own included) through kv head h / (num_heads / num_kv_heads),
  // softmax(q k^T * scale) v.
  void (*attention)(const BackendContext* ctx, const AttentionSeq* seqs, int num_seqs,
                    int num_heads, int num_kv_heads, int head_dim, float scale, int window);
};

// The CPU backend: an AVX-512 / AVX2 register-tiled GEMM whose per-element summation order is
// fixed (so a row's result never depends on the other rows of the batch, the tiling or the
// thread count), vectorised attention, plain loops elsewhere; a persistent worker pool.
const Backend* CpuBackend();

}  // namespace gem

#endif  // GEM_BACKEND_H_
