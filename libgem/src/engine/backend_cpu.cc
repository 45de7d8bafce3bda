// Copyright the gem authors. The CPU backend: the op table of gem/backend.h on the host.
//
// matmul is our own register-tiled kernels, one per weight type (engine/gemm*.cc), not OpenBLAS:
// at equal speed on the batched evaluation workload and 3x faster for single-stream decoding on
// our machine, they compute every output element in one fixed order, so results do not depend on
// batch composition, tiling or thread count (OpenBLAS changes kernels with matrix size).
// Threads come from a persistent pool whose workers sleep between jobs (an OpenMP pool was tried
// first; its spinning workers made a test 7x slower on the shared 2-core machine).
//
// Each op's per-row arithmetic is independent of how many rows it is given (no reductions
// across rows), which is what makes generation independent of batching.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/gemm.h"
#include "engine/gemm_kernels.h"
#include "engine/thread_pool.h"
#include "gem/backend.h"

namespace gem {
namespace {

// Runs fn(begin, end) over [0, n) split into `threads` contiguous parts on the worker pool.
template <typename Fn>
void ParallelFor(int n, int threads, const Fn& fn) {
  threads = std::min(threads, n);
  if (threads <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  const int per = (n + threads - 1) / threads;
  ParallelParts(threads, threads, [&](int t) {
    const int b = t * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

void MatMul(const BackendContext* ctx, const float* x, int m, const MatmulJob* jobs, int num_jobs) {
  GemmNT(x, m, jobs, num_jobs, ctx->threads);
}

size_t PackedBytes(WeightType type, int64_t rows, int64_t cols) {
  return gemm::IsPacked(type) ? gemm::PackedBytes(type, rows, cols) : 0;
}

void PackWeight(WeightType type, const void* row_major, int64_t rows, int64_t cols, void* out) {
  gemm::PackRows(type, row_major, rows, cols, out);
}

void UnpackRow(const Weight& w, int64_t r, void* out) {
  const size_t row_bytes = WeightRowBytes(w.type, w.cols);
  if (w.packed) {
    gemm::UnpackPackedRow(w.type, w.data, w.cols, r, out);
  } else {
    std::memcpy(out, static_cast<const uint8_t*>(w.data) + row_bytes * r, row_bytes);
  }
}

void GetRows(const BackendContext*, const Weight& w, const int32_t* ids, int m, float* y) {
  const size_t row_bytes = WeightRowBytes(w.type, w.cols);
  std::vector<uint8_t> row(w.packed ? row_bytes : 0);
  for (int i = 0; i < m; ++i) {
    const uint8_t* src = static_cast<const uint8_t*>(w.data) + row_bytes * ids[i];
    if (w.packed) {
      gemm::UnpackPackedRow(w.type, w.data, w.cols, ids[i], row.data());
      src = row.data();
    }
    DequantizeRow(w.type, src, w.cols, y + static_cast<size_t>(i) * w.cols);
  }
}

void AddBias(const BackendContext*, float* y, const float* b, int m, int n) {
  for (int i = 0; i < m; ++i) {
    float* row = y + static_cast<size_t>(i) * n;
    for (int j = 0; j < n; ++j) row[j] += b[j];
  }
}

void RmsNorm(const BackendContext* ctx, const float* x, const float* w, float* y, int m, int n,
             float eps) {
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * n;
    float* yr = y + static_cast<size_t>(i) * n;
    double ss = 0;
    for (int j = 0; j < n; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const float var = static_cast<float>(ss / n);
    const float r = 1.0f / std::sqrt(var + eps);
    for (int j = 0; j < n; ++j) yr[j] = w[j] * (xr[j] * r);
  }
}

void Rope(const BackendContext* ctx, float* x, int m, int heads, int head_dim, const int32_t* pos,
          const float* inv_freq) {
  const int half = head_dim / 2;
  std::vector<float> c(half), s(half);
  for (int i = 0; i < m; ++i) {
    for (int f = 0; f < half; ++f) {
      // As transformers: the angle is rounded to f32 before cos/sin.
      const float angle = static_cast<float>(pos[i]) * inv_freq[f];
      c[f] = static_cast<float>(std::cos(static_cast<double>(angle)));
      s[f] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    for (int h = 0; h < heads; ++h) {
      float* v = x + (static_cast<size_t>(i) * heads + h) * head_dim;
      for (int f = 0; f < half; ++f) {
        const float a = v[f], b = v[f + half];
        v[f] = a * c[f] - b * s[f];
        v[f + half] = b * c[f] + a * s[f];
      }
    }
  }
}

void SiluMul(const BackendContext* ctx, const float* gate, const float* up, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    y[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void Add(const BackendContext* ctx, float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

// The attention inner loops, compiled for AVX-512 / AVX2 / baseline and picked at run time.
// `omp simd` (enabled by -fopenmp-simd, no OpenMP runtime) lets the dot product reassociate
// into vector lanes; the order is fixed per build and ISA, so it is the same for every batch.
// Not under ThreadSanitizer: a clone is picked by an ifunc resolver that the dynamic loader runs
// before TSan's runtime is up, and TSan instruments the resolver (it crashes at start-up).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GEM_NO_TARGET_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GEM_NO_TARGET_CLONES 1
#endif
#ifdef GEM_NO_TARGET_CLONES
#define GEM_ATTEND_CLONES
#else
#define GEM_ATTEND_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
GEM_ATTEND_CLONES void AttendRow(const float* q, const float* k, const float* v, int kv_stride,
                                 int lo, int p, int head_dim, float scale, float* scores,
                                 float* out) {
  float mx = -INFINITY;
  for (int j = lo; j <= p; ++j) {
    const float* kj = k + static_cast<size_t>(j) * kv_stride;
    float d = 0;
#pragma omp simd reduction(+ : d)
    for (int e = 0; e < head_dim; ++e) d += q[e] * kj[e];
    d *= scale;
    scores[j] = d;
    mx = std::max(mx, d);
  }
  float sum = 0;
  for (int j = lo; j <= p; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  for (int e = 0; e < head_dim; ++e) out[e] = 0.0f;
  const float inv = 1.0f / sum;
  for (int j = lo; j <= p; ++j) {
    const float* vj = v + static_cast<size_t>(j) * kv_stride;
    const float w = scores[j] * inv;
#pragma omp simd
    for (int e = 0; e < head_dim; ++e) out[e] += w * vj[e];
  }
}

void Attention(const BackendContext* ctx, const AttentionSeq* seqs, int num_seqs, int num_heads,
               int num_kv_heads, int head_dim, float scale, int window) {
  const int group = num_heads / num_kv_heads;
  const int q_stride = num_heads * head_dim, kv_stride = num_kv_heads * head_dim;
  // Work items: (sequence, head). Each writes its own slice of `out`.
  std::vector<std::pair<int, int>> items;
  for (int s = 0; s < num_seqs; ++s) {
    for (int h = 0; h < num_heads; ++h) items.emplace_back(s, h);
  }
  const int n_items = static_cast<int>(items.size());
  // Work estimate: multiply-adds of q.k and w.v over all items.
  double work = 0;
  for (int s = 0; s < num_seqs; ++s) {
    work += 2.0 * seqs[s].rows * seqs[s].kv_len * head_dim * num_heads;
  }
  const int threads = work > 2e5 ? ctx->threads : 1;
  ParallelFor(n_items, threads, [&](int begin, int end) {
    std::vector<float> scores;
    for (int it = begin; it < end; ++it) {
      const AttentionSeq& sq = seqs[items[it].first];
      const int h = items[it].second, kvh = h / group;
      scores.resize(sq.kv_len);
      for (int r = 0; r < sq.rows; ++r) {
        const int p = sq.kv_len - sq.rows + r;  // this row's position
        const int lo = window > 0 ? std::max(0, p - window + 1) : 0;
        AttendRow(sq.q + static_cast<size_t>(r) * q_stride + h * head_dim, sq.k + kvh * head_dim,
                  sq.v + kvh * head_dim, kv_stride, lo, p, head_dim, scale, scores.data(),
                  sq.out + static_cast<size_t>(r) * q_stride + h * head_dim);
      }
    }
  });
}

// No weight_alloc/weight_free: the CPU backend's weights are the host weights (zero copies).
const Backend kCpu = {
    "cpu",   PackedBytes, PackWeight, UnpackRow, MatMul,    GetRows, AddBias,
    RmsNorm, Rope,        SiluMul,    Add,       Attention, nullptr, nullptr,
};

}  // namespace

const Backend* CpuBackend() { return &kCpu; }
const char* CpuKernelName() { return GemmKernelName(); }

}  // namespace gem
