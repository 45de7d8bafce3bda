// Copyright the gem authors. Backend: the table of ops the transformer is written against.
//
// As in ggml (src/ggml-backend-impl.h), a backend is a struct of function pointers; the model
// code calls only these, so a CUDA backend (kernels/, later) slots in by filling the same table.
// Activations are f32, row-major; weight matrices are typed (Weight: f32, f16, bf16 or a ggml
// block quantisation, gem/weight_types.h), as a ggml tensor carries its type. Activations, the
// KV cache and 1-D weights are host memory; a weight matrix is host memory too (Weight::data) and,
// where the backend holds it resident (the weight_alloc entry, ggml's backend buffers), also a
// copy in the backend's own memory (Weight::resident) that matmul/get_rows read instead. Ops
// never fail on valid shapes; shape checks belong to the caller (the model checks at load).
//
// Thread-safety: a backend's ops may be called from one thread at a time per BackendContext;
// the ops themselves may use `ctx->threads` worker threads. weight_alloc/weight_free may be called
// from any thread (a backend serialises them with its ops itself).
#ifndef GEM_BACKEND_H_
#define GEM_BACKEND_H_

#include <cstddef>
#include <cstdint>

#include "gem/weight_types.h"

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

// A weight matrix: `rows` x `cols` elements of `type` (a PyTorch Linear weight: rows =
// out_features, cols = in_features). Row-major, each row WeightRowBytes(type, cols) bytes, unless
// `packed`: then in the backend's own layout for the type (Backend::pack_weight). The descriptor
// does not own `data`.
//
// `resident`: the backend's own copy of the same bytes (a handle from Backend::weight_alloc, opaque
// to everyone else), or nullptr. When set, the backend's matmul/get_rows read the copy and never
// `data`, except to recompute on the CPU an op whose device work failed (so `data` stays valid
// and equal to the copy while the handle is in use). The descriptor does not own the handle
// either: whoever called weight_alloc frees it (the Model: at its destruction, or when the
// override it belongs to is replaced or cleared).
struct Weight {
  WeightType type = WeightType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  bool packed = false;
  void* resident = nullptr;
};

// One product of a matmul call: y[m x w->rows] = x[m x w->cols] * w^T (accumulate: y += ...).
struct MatmulJob {
  const Weight* w;
  float* y;
  bool accumulate;
};

struct Backend {
  const char* name;  // "cpu"

  // The backend's own layout for matrices of a type, as ggml's buffer types repack weights for
  // their kernels. packed_bytes: 0 when the backend reads the row-major layout as it is (then
  // weights can stay in the checkpoint's memory mapping); else the bytes of a rows x cols matrix
  // in its layout, which pack_weight fills from row-major data and unpack_row reads back (row r,
  // WeightRowBytes(type, cols) bytes, bit for bit what was packed).
  size_t (*packed_bytes)(WeightType type, int64_t rows, int64_t cols);
  void (*pack_weight)(WeightType type, const void* row_major, int64_t rows, int64_t cols,
                      void* out);
  void (*unpack_row)(const Weight& w, int64_t r, void* out);

  // For each job, y = x w^T (see MatmulJob). All jobs share x and its width (w->cols), so a
  // backend prepares x once (the CPU backend quantises it per block for the integer types) and
  // runs the jobs as one parallel step (q/k/v of a layer, gate/up). Per row, the result depends
  // only on that row of x and on w: never on m, the other rows or the thread count.
  void (*matmul)(const BackendContext* ctx, const float* x, int m, const MatmulJob* jobs,
                 int num_jobs);
  // y[i, :] = row ids[i] of w as f32 (an embedding lookup), for i < m. Dequantised values equal
  // DequantizeRow's.
  void (*get_rows)(const BackendContext* ctx, const Weight& w, const int32_t* ids, int m, float* y);
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

  // Resident weights (ggml's backend buffers: a tensor placed in the backend's memory once).
  // Optional: both nullptr in a backend whose ops read weight matrices where they lie in host
  // memory (the CPU backend: zero copies, Weight::resident stays nullptr).
  //
  // weight_alloc: copies matrix `w` (w.data, in w's type and layout; w.resident ignored) into the
  // backend's memory and returns its handle, to be set as Weight::resident; it returns once the
  // copy is complete (the host bytes may change afterwards). nullptr when the backend does not
  // hold this weight: a type or layout it does not keep resident (the CUDA backend: quantised or
  // packed), or the allocation or copy failed (out of device memory, no device). nullptr is not an
  // error for the caller: its ops then read w.data as before. The caller owns the handle.
  void* (*weight_alloc)(const Weight& w);
  // Releases a handle from weight_alloc (nullptr: no-op). No op may be running with it.
  void (*weight_free)(void* handle);
};

// The CPU backend: AVX-512 (VNNI) / AVX2 register-tiled kernels per weight type whose per-element
// arithmetic is fixed (so a row's result never depends on the other rows of the batch, the tiling
// or the thread count), vectorised attention, plain loops elsewhere; a persistent worker pool.
const Backend* CpuBackend();
// The CPU backend's matmul kernels on this machine: "avx512+vnni", "avx512", "avx2", "generic".
const char* CpuKernelName();

}  // namespace gem

#endif  // GEM_BACKEND_H_
