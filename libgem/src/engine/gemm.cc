// Copyright the gem authors. Matmul dispatch: activation quantisation, kernel choice per weight
// type and CPU, and the split of the weight rows over threads (gemm.h, gemm_kernels.h).
//
// The split is over weight rows only: each output element is computed by one kernel call, so
// neither the split nor the thread count can change a result. Column blocks are sized so a
// block's weights stay in L2 while every row tile of x passes over them, and so that there are
// enough blocks to keep every thread busy when x is a single row (decoding).
#include "engine/gemm.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "engine/gemm_kernels.h"
#include "engine/thread_pool.h"

namespace gem {
namespace gemm {
namespace {

bool Supports(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kGeneric:
      return true;
  }
  return false;
}

std::atomic<int> g_isa{-1};

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kGeneric:
      return "generic";
  }
  return "?";
}

bool IsaSupported(Isa isa) {
  static const bool ok[3] = {Supports(Isa::kAvx512), Supports(Isa::kAvx2), true};
  return ok[static_cast<int>(isa)];
}

Isa ActiveIsa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(IsaSupported(Isa::kAvx512) ? Isa::kAvx512
                         : IsaSupported(Isa::kAvx2) ? Isa::kAvx2
                                                    : Isa::kGeneric);
    g_isa.store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

bool ForceIsa(Isa isa) {
  if (!IsaSupported(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

KernelFn Kernel(Isa isa, WeightType type) {
  switch (ActFormatOf(type)) {
    case ActFormat::kF32:
      return FloatKernel(isa, type);
    case ActFormat::kQ8:
      return Q32Kernel(isa, type);
    case ActFormat::kQ8K:
      return QKKernel(isa, type);
  }
  return nullptr;
}

}  // namespace gemm

namespace {

using gemm::ActFormat;

// Per-thread scratch for quantised activations (grows, never shrinks).
struct Scratch {
  std::vector<uint8_t> q8, q8k;
};
thread_local Scratch t_scratch;

// One unit of parallel work: weight rows [n0, n1) of one job.
struct Part {
  int job, n0, n1;
};

}  // namespace

const char* GemmKernelName() {
  const gemm::Isa isa = gemm::ActiveIsa();
  if (isa == gemm::Isa::kAvx512) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") ? "avx512+vnni" : "avx512";
  }
  return gemm::IsaName(isa);
}

void GemmNT(const float* x, int m, const MatmulJob* jobs, int num_jobs, int threads) {
  if (m <= 0 || num_jobs <= 0) return;
  const gemm::Isa isa = gemm::ActiveIsa();
  const int k = static_cast<int>(jobs[0].w->cols);

  // Quantise x once per activation format the jobs need.
  bool need_q8 = false, need_q8k = false;
  double work = 0;
  for (int j = 0; j < num_jobs; ++j) {
    const ActFormat f = gemm::ActFormatOf(jobs[j].w->type);
    need_q8 |= f == ActFormat::kQ8;
    need_q8k |= f == ActFormat::kQ8K;
    work += static_cast<double>(m) * jobs[j].w->rows * k;
  }
  const int t = work < 2e5 ? 1 : std::max(1, threads);
  Scratch& s = t_scratch;
  gemm::ActLayout l8, l8k;
  if (need_q8) {
    l8 = gemm::LayoutQ8(k);
    s.q8.resize(l8.row_bytes * m);
  }
  if (need_q8k) {
    l8k = gemm::LayoutQ8K(k);
    s.q8k.resize(l8k.row_bytes * m);
  }
  if (need_q8 || need_q8k) {
    // Rows are independent: split them over threads when there are many.
    const int qparts = m >= 32 ? std::min(t, m / 16) : 1;
    const int per = (m + qparts - 1) / qparts;
    ParallelParts(qparts, t, [&](int p) {
      const int r0 = p * per, r1 = std::min(m, r0 + per);
      if (r0 >= r1) return;
      const float* xr = x + static_cast<size_t>(r0) * k;
      if (need_q8) gemm::QuantizeActQ8(xr, r1 - r0, k, s.q8.data() + l8.row_bytes * r0);
      if (need_q8k) gemm::QuantizeActQ8K(xr, r1 - r0, k, s.q8k.data() + l8k.row_bytes * r0);
    });
  }

  // Column blocks: at most about 256 KiB of weights each (L2), a multiple of 4 rows (the tile
  // width), and about 4 blocks per thread overall so that threads finish together.
  std::vector<Part> parts;
  int total_rows = 0;
  for (int j = 0; j < num_jobs; ++j) total_rows += static_cast<int>(jobs[j].w->rows);
  const int balance_rows = std::max(4, (total_rows + 4 * t - 1) / (4 * t));
  for (int j = 0; j < num_jobs; ++j) {
    const Weight& w = *jobs[j].w;
    const size_t row_bytes = WeightRowBytes(w.type, w.cols);
    // Packed types compute 16 rows at once: blocks of whole groups.
    const int unit = gemm::IsPacked(w.type) ? 16 : 4;
    int nb = static_cast<int>(std::max<size_t>(4, (256 * 1024) / std::max<size_t>(row_bytes, 1)));
    nb = std::min(nb, std::max(unit, balance_rows));
    nb = std::max(unit, nb / unit * unit);
    for (int n0 = 0; n0 < w.rows; n0 += nb) {
      parts.push_back({j, n0, static_cast<int>(std::min<int64_t>(w.rows, n0 + nb))});
    }
  }
  // A packed type handed over row-major (not through the model, which packs at load): pack a
  // temporary copy, so the kernels always see their layout.
  std::vector<std::vector<uint8_t>> repacked(num_jobs);
  std::vector<Weight> weights(num_jobs);
  for (int j = 0; j < num_jobs; ++j) {
    weights[j] = *jobs[j].w;
    if (gemm::IsPacked(weights[j].type) && !weights[j].packed) {
      repacked[j].resize(gemm::PackedBytes(weights[j].type, weights[j].rows, weights[j].cols));
      gemm::PackRows(weights[j].type, weights[j].data, weights[j].rows, weights[j].cols,
                     repacked[j].data());
      weights[j].data = repacked[j].data();
      weights[j].packed = true;
    }
  }
  ParallelParts(static_cast<int>(parts.size()), t, [&](int p) {
    const Part& part = parts[p];
    const MatmulJob& job = jobs[part.job];
    const Weight& w = weights[part.job];
    gemm::Args a;
    switch (gemm::ActFormatOf(w.type)) {
      case ActFormat::kF32:
        a.act = reinterpret_cast<const uint8_t*>(x);
        a.act_stride = static_cast<size_t>(k) * sizeof(float);
        break;
      case ActFormat::kQ8:
        a.act = s.q8.data();
        a.act_stride = l8.row_bytes;
        break;
      case ActFormat::kQ8K:
        a.act = s.q8k.data();
        a.act_stride = l8k.row_bytes;
        break;
    }
    a.w = static_cast<const uint8_t*>(w.data);
    a.w_stride = WeightRowBytes(w.type, w.cols);
    a.y = job.y;
    a.ldy = static_cast<int>(w.rows);
    a.m = m;
    a.n0 = part.n0;
    a.n1 = part.n1;
    a.k = k;
    a.accumulate = job.accumulate;
    gemm::Kernel(isa, w.type)(a);
  });
}

}  // namespace gem
