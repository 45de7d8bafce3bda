// Copyright the gem authors. CPU twin of the CUDA matmul (engine/cuda/matmul.cu): each output
// element is 16 fma lanes over k, then the fixed lane tree (engine_math.h). With f32 weights this is
// the CPU backend's AVX-512 order, so the twin equals that kernel bit for bit.
#include <cstddef>

#include "engine/ops/twins.h"

namespace gem::ops {

void MatmulTwin(const float* x, const void* w, int wtype, float* y, int m, int n, int k,
                bool accumulate) {
  const int steps = matmul_steps(k);
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * k;
    for (int j = 0; j < n; ++j) {
      const size_t w0 = static_cast<size_t>(j) * k;
      float lane[kMatmulLanes] = {};
      for (int s = 0; s < steps; ++s) {
        for (int l = 0; l < kMatmulLanes; ++l) {
          const int p = s * kMatmulLanes + l;
          const float xv = p < k ? xr[p] : 0.0f;
          const float wv = p < k ? weight_to_f32(w, w0 + p, wtype) : 0.0f;
          lane[l] = fma_f32(xv, wv, lane[l]);
        }
      }
      float* out = y + static_cast<size_t>(i) * n + j;
      const float dot = matmul_lane_tree(lane);
      *out = accumulate ? add_rn(*out, dot) : dot;
    }
  }
}

}  // namespace gem::ops
