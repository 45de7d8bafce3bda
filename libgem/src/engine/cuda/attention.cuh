// Copyright the gem authors. Causal grouped-query attention over each sequence's own cache, the
// contract of gem/backend.h's `attention`: for each sequence, head h of each new row attends to
// the cached positions up to its own (and, when window > 0, at most `window` back, its own
// included) through kv head h / (num_heads / num_kv_heads): softmax(q k^T * scale) v.
//
// `seqs` is a DEVICE array of num_seqs gem::AttentionSeq whose pointers are device pointers;
// total_rows is the sum of their `rows`. REQUIRES: head_dim <= 256, num_heads a multiple of
// num_kv_heads.
#pragma once
#include <cuda_runtime.h>

namespace gem {
struct AttentionSeq;
}

cudaError_t gem_cuda_attention(const gem::AttentionSeq* seqs, int num_seqs, int total_rows,
                               int num_heads, int num_kv_heads, int head_dim, float scale,
                               int window, cudaStream_t stream);
