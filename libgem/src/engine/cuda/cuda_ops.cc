// Copyright the gem authors. The CUDA backend's ops (cuda_ops.h).
#include "engine/cuda/cuda_ops.h"

#include "engine/cuda/add.cuh"
#include "engine/cuda/argmax.cuh"
#include "engine/cuda/attention.cuh"
#include "engine/cuda/embed.cuh"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/silu_mul.cuh"

namespace gem::cuda {
namespace {

// Staging slots: one per kind of host array an op may stage.
enum Slot : int { kIds = 0, kPos = 1, kSeqs = 2 };

}  // namespace

void Matmul(CudaContext* c, const float* x, int m, int wtype, const void* w, int n, int k, float* y,
            bool accumulate) {
  if (!c->Use()) return;
  c->Record(gem_cuda_matmul(x, w, wtype, y, m, n, k, accumulate, c->stream()));
}

void GetRows(CudaContext* c, int wtype, const void* table, int vocab, int hidden,
             const int32_t* host_ids, int m, float* y) {
  if (m <= 0 || !c->Use()) return;
  const auto* ids = static_cast<const int32_t*>(c->Stage(kIds, host_ids, m * sizeof(int32_t)));
  if (ids == nullptr) return;
  c->Record(gem_cuda_embed(table, wtype, vocab, ids, m, hidden, y, c->stream()));
}

void AddBias(CudaContext* c, float* y, const float* b, int m, int n) {
  if (!c->Use()) return;
  c->Record(gem_cuda_add_bias(y, b, m, n, c->stream()));
}

void RmsNorm(CudaContext* c, const float* x, const float* w, float* y, int m, int n, float eps) {
  if (!c->Use()) return;
  c->Record(gem_cuda_rms_norm(x, w, y, m, n, eps, c->stream()));
}

void Rope(CudaContext* c, float* x, int m, int heads, int head_dim, const int32_t* host_pos,
          const float* host_inv_freq) {
  if (m <= 0 || !c->Use()) return;
  const auto* pos = static_cast<const int32_t*>(c->Stage(kPos, host_pos, m * sizeof(int32_t)));
  const float* inv = c->Constant(host_inv_freq, head_dim / 2);
  if (pos == nullptr || inv == nullptr) return;
  c->Record(gem_cuda_rope(x, m, heads, head_dim, pos, inv, c->stream()));
}

void SiluMul(CudaContext* c, const float* gate, const float* up, float* y, size_t n) {
  if (!c->Use()) return;
  c->Record(gem_cuda_silu_mul(gate, up, y, n, c->stream()));
}

void Add(CudaContext* c, float* y, const float* x, size_t n) {
  if (!c->Use()) return;
  c->Record(gem_cuda_add(y, x, n, c->stream()));
}

void Attention(CudaContext* c, const AttentionSeq* host_seqs, int num_seqs, int num_heads,
               int num_kv_heads, int head_dim, float scale, int window) {
  if (num_seqs <= 0 || !c->Use()) return;
  int rows = 0;
  for (int s = 0; s < num_seqs; ++s) rows += host_seqs[s].rows;
  const auto* seqs =
      static_cast<const AttentionSeq*>(c->Stage(kSeqs, host_seqs, num_seqs * sizeof(AttentionSeq)));
  if (seqs == nullptr) return;
  c->Record(gem_cuda_attention(seqs, num_seqs, rows, num_heads, num_kv_heads, head_dim, scale,
                               window, c->stream()));
}

void Argmax(CudaContext* c, const float* logits, int rows, int vocab, int32_t* host_ids) {
  if (rows <= 0 || !c->Use()) return;
  auto* ids = static_cast<int32_t*>(c->Alloc(rows * sizeof(int32_t)));
  if (ids == nullptr) return;
  c->Record(gem_cuda_argmax(logits, rows, vocab, ids, c->stream()));
  c->Download(host_ids, ids, rows * sizeof(int32_t));
  c->Free(ids);
}

}  // namespace gem::cuda
