// Copyright the gem authors. CPU twin of the CUDA attention (engine/cuda/attention.cu): per
// (row, head) the scores, the max, the sum of exponentials in kAttnThreads partials and a
// halving tree, and the weighted sum of values, in engine_math.h's order.
#include <cstddef>
#include <vector>

#include "engine/ops/twins.h"

namespace gem::ops {

void AttentionTwin(const AttentionSeq* seqs, int num_seqs, int num_heads, int num_kv_heads,
                   int head_dim, float scale, int window) {
  const int group = num_heads / num_kv_heads;
  const int q_stride = num_heads * head_dim, kv_stride = num_kv_heads * head_dim;
  std::vector<float> e;
  for (int s = 0; s < num_seqs; ++s) {
    const AttentionSeq& sq = seqs[s];
    e.resize(sq.kv_len);
    for (int r = 0; r < sq.rows; ++r) {
      const int p = sq.kv_len - sq.rows + r;
      const int lo = attn_first(p, window);
      for (int h = 0; h < num_heads; ++h) {
        const float* q = sq.q + static_cast<size_t>(r) * q_stride + h * head_dim;
        const float* k = sq.k + (h / group) * head_dim;
        const float* v = sq.v + (h / group) * head_dim;
        float mx = -INFINITY;
        for (int j = lo; j <= p; ++j) {
          e[j] = attn_score(q, k + static_cast<size_t>(j) * kv_stride, head_dim, scale);
          mx = fmaxf(mx, e[j]);
        }
        float part[kAttnThreads];
        for (int t = 0; t < kAttnThreads; ++t) {
          float acc = 0.0f;
          for (int j = lo + t; j <= p; j += kAttnThreads) {
            e[j] = exp_f32(e[j] - mx);
            acc = add_rn(acc, e[j]);
          }
          part[t] = acc;
        }
        for (int off = kAttnThreads / 2; off > 0; off /= 2) {
          for (int t = 0; t < off; ++t) part[t] = add_rn(part[t], part[t + off]);
        }
        const float inv = 1.0f / part[0];
        float* out = sq.out + static_cast<size_t>(r) * q_stride + h * head_dim;
        for (int d = 0; d < head_dim; ++d) {
          float acc = 0.0f;
          for (int j = lo; j <= p; ++j) {
            acc = add_rn(acc, mul_rn(mul_rn(e[j], inv), v[static_cast<size_t>(j) * kv_stride + d]));
          }
          out[d] = acc;
        }
      }
    }
  }
}

}  // namespace gem::ops
