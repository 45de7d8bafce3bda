// Copyright the gem authors. CPU twins of the CUDA row ops (engine/cuda/embed.cu, rms_norm.cu,
// rope.cu, silu_mul.cu, argmax.cu); element math and reduction orders in engine_math.h.
#include <cstddef>

#include "engine/ops/twins.h"

namespace gem::ops {

void EmbedTwin(const void* table, int wtype, const int32_t* ids, int rows, int hidden, float* x) {
  for (int r = 0; r < rows; ++r) {
    const size_t src = static_cast<size_t>(ids[r]) * hidden;
    for (int j = 0; j < hidden; ++j) {
      x[static_cast<size_t>(r) * hidden + j] = weight_to_f32(table, src + j, wtype);
    }
  }
}

void RmsNormTwin(const float* x, const float* w, float* y, int m, int n, float eps) {
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * n;
    float* yr = y + static_cast<size_t>(i) * n;
    double part[kNormThreads];
    for (int t = 0; t < kNormThreads; ++t) {
      double s = 0;
      for (int j = t; j < n; j += kNormThreads) s += static_cast<double>(xr[j]) * xr[j];
      part[t] = s;
    }
    for (int off = kNormThreads / 2; off > 0; off /= 2) {
      for (int t = 0; t < off; ++t) part[t] += part[t + off];
    }
    const float inv = rms_norm_inv(part[0], n, eps);
    for (int j = 0; j < n; ++j) yr[j] = rms_norm_elem(xr[j], w[j], inv);
  }
}

void RopeTwin(float* x, int m, int heads, int head_dim, const int32_t* pos, const float* inv_freq) {
  const int half = head_dim / 2;
  for (int i = 0; i < m; ++i) {
    for (int f = 0; f < half; ++f) {
      float c, s;
      rope_cos_sin(pos[i], inv_freq[f], &c, &s);
      for (int h = 0; h < heads; ++h) {
        float* v = x + (static_cast<size_t>(i) * heads + h) * head_dim;
        rope_rotate(&v[f], &v[f + half], c, s);
      }
    }
  }
}

void SiluMulTwin(const float* gate, const float* up, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = silu_mul_elem(gate[i], up[i]);
}

void ArgmaxTwin(const float* logits, int rows, int vocab, int32_t* ids) {
  for (int r = 0; r < rows; ++r) {
    const float* v = logits + static_cast<size_t>(r) * vocab;
    if (v[0] != v[0]) {  // a NaN at index 0 is never replaced
      ids[r] = 0;
      continue;
    }
    float best = 0.0f;
    int bi = -1;
    for (int i = 0; i < vocab; ++i) {
      if (argmax_better(v[i], i, best, bi)) {
        best = v[i];
        bi = i;
      }
    }
    ids[r] = bi;
  }
}

}  // namespace gem::ops
