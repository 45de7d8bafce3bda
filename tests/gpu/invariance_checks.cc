// Copyright the gem authors. Batch invariance on the device: a row's result must not depend on
// the other rows of the call (their number, their content, its position), or cached results
// would depend on what else was in the batch. Each check computes the same rows in many batch
// compositions and requires bit-identical results.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "engine/cuda/attention.cuh"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "gem/backend.h"
#include "gpu/check.h"
#include "gpu/typed_weights.h"

namespace gem::gpucheck {
namespace {

Outcome MatmulInvariance(const Env& env, int type) {
  std::mt19937 rng(env.seed + 100 + type);
  const int m = 80, n = 300, k = 1000;
  const auto x = RandomFloats(static_cast<size_t>(m) * k, rng);
  const TypedWeights w = MakeTypedWeights(type, static_cast<size_t>(n) * k, rng);
  DeviceArray<float> dx(x), dy(static_cast<size_t>(m) * n);
  DeviceArray<uint8_t> dw(w.bytes);
  CudaOk(gem_cuda_matmul(dx.get(), dw.get(), type, dy.get(), m, n, k, false, nullptr), "matmul");
  const auto all = dy.Download();
  int compositions = 0;
  Diff d;
  // Chunks of every size in `sizes`, at every offset they fall on (both tile shapes).
  for (int chunk : {1, 2, 3, 4, 5, 7, 16, 17, 33, 79}) {
    DeviceArray<float> part(static_cast<size_t>(m) * n);
    for (int r0 = 0; r0 < m; r0 += chunk) {
      const int rows = std::min(chunk, m - r0);
      CudaOk(gem_cuda_matmul(dx.get() + static_cast<size_t>(r0) * k, dw.get(), type,
                             part.get() + static_cast<size_t>(r0) * n, rows, n, k, false, nullptr),
             "matmul");
    }
    const auto got = part.Download();
    d.Add(got.data(), all.data(), got.size());
    ++compositions;
  }
  // The same rows in reverse order, beside other content.
  std::vector<float> rev(x.size());
  for (int r = 0; r < m; ++r) {
    std::copy_n(x.begin() + static_cast<size_t>(m - 1 - r) * k, k,
                rev.begin() + static_cast<size_t>(r) * k);
  }
  DeviceArray<float> drev(rev), dyrev(static_cast<size_t>(m) * n);
  CudaOk(gem_cuda_matmul(drev.get(), dw.get(), type, dyrev.get(), m, n, k, false, nullptr),
         "matmul");
  const auto got_rev = dyrev.Download();
  for (int r = 0; r < m; ++r) {
    d.Add(got_rev.data() + static_cast<size_t>(m - 1 - r) * n,
          all.data() + static_cast<size_t>(r) * n, n);
  }
  ++compositions;
  const std::string detail = std::to_string(compositions) + " batch compositions of " +
                             std::to_string(m) + " rows: " + d.Summary();
  return d.differing == 0 ? Pass(detail) : Fail(detail);
}

Outcome RmsNormInvariance(const Env& env) {
  std::mt19937 rng(env.seed + 110);
  const int m = 50, n = 2048;
  const auto x = RandomFloats(static_cast<size_t>(m) * n, rng);
  const auto w = RandomFloats(n, rng);
  DeviceArray<float> dx(x), dw(w), all(x.size()), one(x.size());
  CudaOk(gem_cuda_rms_norm(dx.get(), dw.get(), all.get(), m, n, 1e-6f, nullptr), "rms_norm");
  for (int r = 0; r < m; ++r) {
    CudaOk(gem_cuda_rms_norm(dx.get() + static_cast<size_t>(r) * n, dw.get(),
                             one.get() + static_cast<size_t>(r) * n, 1, n, 1e-6f, nullptr),
           "rms_norm");
  }
  const auto a = all.Download(), b = one.Download();
  Diff d;
  d.Add(b.data(), a.data(), a.size());
  return d.differing == 0 ? Pass("row alone vs 50 rows: " + d.Summary())
                          : Fail("row alone vs 50 rows: " + d.Summary());
}

// Sequences attended alone, all together, and in reverse order within the call.
Outcome AttentionInvariance(const Env& env) {
  std::mt19937 rng(env.seed + 120);
  const int heads = 8, kv_heads = 2, hd = 64;
  const int qs = heads * hd, kvs = kv_heads * hd;
  const std::vector<std::pair<int, int>> shape = {{1, 50}, {20, 20}, {1, 4500}, {3, 9}, {1, 1}};
  const int ns = static_cast<int>(shape.size());
  std::vector<std::unique_ptr<DeviceArray<float>>> q, k, v, out_all, out_one, out_rev;
  int total = 0;
  for (auto [rows, kv] : shape) {
    q.push_back(
        std::make_unique<DeviceArray<float>>(RandomFloats(static_cast<size_t>(rows) * qs, rng)));
    k.push_back(
        std::make_unique<DeviceArray<float>>(RandomFloats(static_cast<size_t>(kv) * kvs, rng)));
    v.push_back(
        std::make_unique<DeviceArray<float>>(RandomFloats(static_cast<size_t>(kv) * kvs, rng)));
    for (auto* o : {&out_all, &out_one, &out_rev}) {
      o->push_back(std::make_unique<DeviceArray<float>>(static_cast<size_t>(rows) * qs));
    }
    total += rows;
  }
  auto seq = [&](int i, std::vector<std::unique_ptr<DeviceArray<float>>>& out) {
    return AttentionSeq{q[i]->get(), out[i]->get(),  k[i]->get(),
                        v[i]->get(), shape[i].first, shape[i].second};
  };
  const float scale = 0.125f;
  std::vector<AttentionSeq> all, rev;
  for (int i = 0; i < ns; ++i) all.push_back(seq(i, out_all));
  for (int i = ns - 1; i >= 0; --i) rev.push_back(seq(i, out_rev));
  DeviceArray<AttentionSeq> dall(all), drev(rev);
  CudaOk(gem_cuda_attention(dall.get(), ns, total, heads, kv_heads, hd, scale, 0, nullptr),
         "attention");
  CudaOk(gem_cuda_attention(drev.get(), ns, total, heads, kv_heads, hd, scale, 0, nullptr),
         "attention");
  for (int i = 0; i < ns; ++i) {
    DeviceArray<AttentionSeq> one(std::vector<AttentionSeq>{seq(i, out_one)});
    CudaOk(gem_cuda_attention(one.get(), 1, shape[i].first, heads, kv_heads, hd, scale, 0, nullptr),
           "attention");
    CudaOk(cudaDeviceSynchronize(), "attention");
  }
  Diff d;
  for (int i = 0; i < ns; ++i) {
    const auto a = out_all[i]->Download(), b = out_one[i]->Download(), c = out_rev[i]->Download();
    d.Add(b.data(), a.data(), a.size());
    d.Add(c.data(), a.data(), a.size());
  }
  const std::string detail =
      "alone / together / reversed, " + std::to_string(ns) + " sequences: " + d.Summary();
  return d.differing == 0 ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddInvarianceChecks(std::vector<Check>* out) {
  for (int t : {ops::kWeightF32, ops::kWeightF16, ops::kWeightBF16}) {
    out->push_back({std::string("invariance.matmul.") + WeightTypeName(t),
                    [t](const Env& e) { return MatmulInvariance(e, t); }});
  }
  out->push_back({"invariance.rms_norm", RmsNormInvariance});
  out->push_back({"invariance.attention", AttentionInvariance});
}

}  // namespace gem::gpucheck
