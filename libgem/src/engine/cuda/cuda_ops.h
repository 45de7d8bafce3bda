// Copyright the gem authors. The CUDA backend's ops on a CudaContext: the kernels of this folder
// behind the contracts of gem/backend.h, with what the table's host-side arguments need (token
// ids, positions, RoPE frequencies and attention descriptors are HOST arrays, staged to the
// device here; activations, weights and caches are device memory).
//
// Every op records its CUDA error in the context and does nothing once the context has failed
// (CudaContext::Sync reports it). Weight types are gem::ops::WeightType (f32, f16, bf16); the
// backend dequantises other types to f32 when it uploads them.
//
// Thread-safety: as the context (one thread at a time).
#ifndef GEM_ENGINE_CUDA_CUDA_OPS_H_
#define GEM_ENGINE_CUDA_CUDA_OPS_H_

#include <cstddef>
#include <cstdint>

#include "engine/cuda/cuda_context.h"
#include "gem/backend.h"

namespace gem::cuda {

// y[m x n] (+)= x[m x k] * w[n x k]^T, w of `wtype`.
void Matmul(CudaContext* c, const float* x, int m, int wtype, const void* w, int n, int k, float* y,
            bool accumulate);
// y[i, :] = table[host_ids[i], :] as f32; table [vocab x hidden] of `wtype`.
void GetRows(CudaContext* c, int wtype, const void* table, int vocab, int hidden,
             const int32_t* host_ids, int m, float* y);
void AddBias(CudaContext* c, float* y, const float* b, int m, int n);
void RmsNorm(CudaContext* c, const float* x, const float* w, float* y, int m, int n, float eps);
// host_pos: m positions; host_inv_freq: head_dim / 2 constants (uploaded once per pointer).
void Rope(CudaContext* c, float* x, int m, int heads, int head_dim, const int32_t* host_pos,
          const float* host_inv_freq);
void SiluMul(CudaContext* c, const float* gate, const float* up, float* y, size_t n);
void Add(CudaContext* c, float* y, const float* x, size_t n);
// host_seqs: num_seqs descriptors in host memory whose pointers are device pointers.
void Attention(CudaContext* c, const AttentionSeq* host_seqs, int num_seqs, int num_heads,
               int num_kv_heads, int head_dim, float scale, int window);
// host_ids[r] = greedy arg-max of logits row r (waits for the device).
void Argmax(CudaContext* c, const float* logits, int rows, int vocab, int32_t* host_ids);

}  // namespace gem::cuda

#endif  // GEM_ENGINE_CUDA_CUDA_OPS_H_
