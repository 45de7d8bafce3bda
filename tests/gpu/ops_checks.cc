// Copyright the gem authors. Every CUDA op of the backend against its CPU twin (the same
// arithmetic: bit for bit where engine_math.h pins every rounding, within an ulp where the
// device's double exp/cos/sin round differently from glibc's) and against the CPU backend,
// on random shapes, as ggml's test-backend-ops compares each backend with the CPU one.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "engine/cuda/add.cuh"
#include "engine/cuda/argmax.cuh"
#include "engine/cuda/attention.cuh"
#include "engine/cuda/embed.cuh"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/silu_mul.cuh"
#include "engine/gemm.h"
#include "engine/ops/twins.h"
#include "gem/backend.h"
#include "gem/safetensors.h"
#include "gpu/check.h"
#include "gpu/typed_weights.h"

namespace gem::gpucheck {
namespace {

BackendContext Cpu(const Env& env) {
  BackendContext ctx;
  ctx.threads = env.cpu_threads;
  return ctx;
}

// Passes when `d` is within `max_ulp` (0: bit-identical).
bool Within(const Diff& d, int64_t max_ulp) { return d.max_ulp <= max_ulp; }

Outcome MatmulCheck(const Env& env, int type) {
  std::mt19937 rng(env.seed + type);
  const bool cpu_exact = CpuMatmulIsExact();
  BackendContext ctx = Cpu(env);
  Diff vs_twin, vs_cpu;
  int shapes = 0;
  struct Shape {
    int m, n, k;
  };
  std::vector<Shape> list = {{1, 1, 1},    {1, 64, 4096}, {64, 1024, 4096}, {17, 333, 1536},
                             {4, 49, 576}, {5, 65, 17},   {100, 130, 100}};
  const int ms[] = {1, 2, 3, 4, 5, 8, 16, 17, 33, 64};
  const int ks[] = {1, 7, 15, 16, 17, 63, 64, 65, 100, 576, 1000};
  for (int i = 0; i < 33; ++i) {
    list.push_back({ms[rng() % 10], 1 + static_cast<int>(rng() % 300), ks[rng() % 11]});
  }
  for (const Shape& s : list) {
    const auto x = RandomFloats(static_cast<size_t>(s.m) * s.k, rng);
    const TypedWeights w = MakeTypedWeights(type, static_cast<size_t>(s.n) * s.k, rng);
    for (bool acc : {false, true}) {
      const auto y0 = RandomFloats(static_cast<size_t>(s.m) * s.n, rng);
      DeviceArray<float> dx(x), dy(y0);
      DeviceArray<uint8_t> dw(w.bytes);
      CudaOk(gem_cuda_matmul(dx.get(), dw.get(), type, dy.get(), s.m, s.n, s.k, acc, nullptr),
             "gem_cuda_matmul");
      const auto got = dy.Download();
      std::vector<float> twin = y0, cpu = y0;
      ops::MatmulTwin(x.data(), w.bytes.data(), type, twin.data(), s.m, s.n, s.k, acc);
      CpuMatmul(&ctx, x.data(), w.bytes.data(), type, cpu.data(), s.m, s.n, s.k, acc);
      vs_twin.Add(got.data(), twin.data(), got.size());
      vs_cpu.Add(got.data(), cpu.data(), got.size());
      ++shapes;
    }
  }
  const std::string detail = std::to_string(shapes) + " shapes; vs twin: " + vs_twin.Summary() +
                             "; vs CPU backend (" + GemmKernelName() + "): " + vs_cpu.Summary();
  const bool cpu_ok = cpu_exact ? vs_cpu.differing == 0 : vs_cpu.max_rel <= 1e-5;
  return vs_twin.differing == 0 && cpu_ok ? Pass(detail) : Fail(detail);
}

Outcome EmbedCheck(const Env& env, int type) {
  std::mt19937 rng(env.seed + 10 + type);
  const int vocab = 1000, hidden = 96;
  const TypedWeights t = MakeTypedWeights(type, static_cast<size_t>(vocab) * hidden, rng);
  std::vector<int32_t> ids(77);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
  ids[0] = 0;
  ids[1] = vocab - 1;
  DeviceArray<uint8_t> dt(t.bytes);
  DeviceArray<int32_t> did(ids);
  DeviceArray<float> dx(ids.size() * hidden);
  CudaOk(gem_cuda_embed(dt.get(), type, vocab, did.get(), static_cast<int>(ids.size()), hidden,
                        dx.get(), nullptr),
         "gem_cuda_embed");
  const auto got = dx.Download();
  std::vector<float> twin(got.size()), cpu(got.size());
  ops::EmbedTwin(t.bytes.data(), type, ids.data(), static_cast<int>(ids.size()), hidden,
                 twin.data());
  for (size_t r = 0; r < ids.size(); ++r) {  // the CPU engine copies f32 rows
    std::memcpy(&cpu[r * hidden], &t.f32[static_cast<size_t>(ids[r]) * hidden],
                hidden * sizeof(float));
  }
  Diff a, b;
  a.Add(got.data(), twin.data(), got.size());
  b.Add(got.data(), cpu.data(), got.size());
  const std::string detail = "vs twin: " + a.Summary() + "; vs CPU rows: " + b.Summary();
  return a.differing == 0 && b.differing == 0 ? Pass(detail) : Fail(detail);
}

Outcome RmsNormCheck(const Env& env) {
  std::mt19937 rng(env.seed + 20);
  BackendContext ctx = Cpu(env);
  Diff vs_twin, vs_cpu;
  for (int n : {1, 64, 255, 256, 257, 576, 2048, 4096, 8192}) {
    for (int m : {1, 3, 37}) {
      const auto x = RandomFloats(static_cast<size_t>(m) * n, rng, 2.0f);
      const auto w = RandomFloats(n, rng);
      DeviceArray<float> dx(x), dw(w), dy(x.size());
      CudaOk(gem_cuda_rms_norm(dx.get(), dw.get(), dy.get(), m, n, 1e-5f, nullptr),
             "gem_cuda_rms_norm");
      const auto got = dy.Download();
      std::vector<float> twin(x.size()), cpu(x.size());
      ops::RmsNormTwin(x.data(), w.data(), twin.data(), m, n, 1e-5f);
      CpuBackend()->rms_norm(&ctx, x.data(), w.data(), cpu.data(), m, n, 1e-5f);
      vs_twin.Add(got.data(), twin.data(), got.size());
      vs_cpu.Add(got.data(), cpu.data(), got.size());
    }
  }
  const std::string detail = "vs twin: " + vs_twin.Summary() + "; vs CPU: " + vs_cpu.Summary();
  return Within(vs_twin, 0) && Within(vs_cpu, 1) ? Pass(detail) : Fail(detail);
}

Outcome RopeCheck(const Env& env) {
  std::mt19937 rng(env.seed + 30);
  BackendContext ctx = Cpu(env);
  Diff vs_twin, vs_cpu;
  for (int head_dim : {16, 64, 128}) {
    const int m = 70, heads = 5;
    std::vector<int32_t> pos(m);
    for (auto& p : pos) p = static_cast<int32_t>(rng() % 40000);
    std::vector<float> inv(head_dim / 2);
    for (int f = 0; f < head_dim / 2; ++f) {
      inv[f] = static_cast<float>(1.0 / std::pow(500000.0, 2.0 * f / head_dim));
    }
    const auto x = RandomFloats(static_cast<size_t>(m) * heads * head_dim, rng);
    DeviceArray<float> dx(x), dinv(inv);
    DeviceArray<int32_t> dpos(pos);
    CudaOk(gem_cuda_rope(dx.get(), m, heads, head_dim, dpos.get(), dinv.get(), nullptr),
           "gem_cuda_rope");
    const auto got = dx.Download();
    std::vector<float> twin = x, cpu = x;
    ops::RopeTwin(twin.data(), m, heads, head_dim, pos.data(), inv.data());
    CpuBackend()->rope(&ctx, cpu.data(), m, heads, head_dim, pos.data(), inv.data());
    vs_twin.Add(got.data(), twin.data(), got.size());
    vs_cpu.Add(got.data(), cpu.data(), got.size());
  }
  const std::string detail = "vs twin: " + vs_twin.Summary() + "; vs CPU: " + vs_cpu.Summary();
  // cos/sin in double rounded to f32 agree except within a double ulp of a rounding boundary;
  // such a 1-ulp difference in c or s may show as more ulps where a*c - b*s nearly cancels.
  auto ok = [](const Diff& d) { return d.max_ulp <= 1 || d.max_rel <= 1e-6; };
  return ok(vs_twin) && ok(vs_cpu) ? Pass(detail) : Fail(detail);
}

Outcome SiluMulCheck(const Env& env) {
  std::mt19937 rng(env.seed + 40);
  BackendContext ctx = Cpu(env);
  const size_t n = 1 << 20;
  const auto gate = RandomFloats(n, rng, 5.0f), up = RandomFloats(n, rng);
  DeviceArray<float> dg(gate), du(up), dy(n);
  CudaOk(gem_cuda_silu_mul(dg.get(), du.get(), dy.get(), n, nullptr), "gem_cuda_silu_mul");
  const auto got = dy.Download();
  std::vector<float> twin(n), cpu(n);
  ops::SiluMulTwin(gate.data(), up.data(), twin.data(), n);
  CpuBackend()->silu_mul(&ctx, gate.data(), up.data(), cpu.data(), n);
  Diff a, b;
  a.Add(got.data(), twin.data(), n);
  b.Add(got.data(), cpu.data(), n);
  const std::string detail = "vs twin: " + a.Summary() + "; vs CPU: " + b.Summary();
  // A 1-ulp difference of exp (device vs glibc) may move the quotient and the product by one
  // rounding each.
  return Within(a, 2) && Within(b, 3) ? Pass(detail) : Fail(detail);
}

Outcome AddCheck(const Env& env) {
  std::mt19937 rng(env.seed + 50);
  BackendContext ctx = Cpu(env);
  const int m = 33, n = 1000;
  const auto y = RandomFloats(static_cast<size_t>(m) * n, rng), x = RandomFloats(y.size(), rng);
  const auto b = RandomFloats(n, rng);
  DeviceArray<float> dy(y), dx(x), db(b);
  CudaOk(gem_cuda_add(dy.get(), dx.get(), y.size(), nullptr), "gem_cuda_add");
  CudaOk(gem_cuda_add_bias(dy.get(), db.get(), m, n, nullptr), "gem_cuda_add_bias");
  const auto got = dy.Download();
  std::vector<float> cpu = y;
  CpuBackend()->add(&ctx, cpu.data(), x.data(), cpu.size());
  CpuBackend()->add_bias(&ctx, cpu.data(), b.data(), m, n);
  Diff d;
  d.Add(got.data(), cpu.data(), got.size());
  return d.differing == 0 ? Pass("add + add_bias vs CPU: " + d.Summary())
                          : Fail("add + add_bias vs CPU: " + d.Summary());
}

Outcome AttentionCheck(const Env& env) {
  std::mt19937 rng(env.seed + 60);
  BackendContext ctx = Cpu(env);
  Diff vs_twin, vs_cpu;
  int calls = 0;
  struct Shape {
    int heads, kv_heads, hd, window;
    std::vector<std::pair<int, int>> seqs;  // (rows, kv_len)
  };
  const std::vector<Shape> shapes = {
      {4, 2, 16, 0, {{1, 1}, {12, 12}, {1, 40}}},
      {9, 3, 64, 0, {{1, 300}, {100, 100}, {3, 77}, {1, 1}}},
      {32, 8, 128, 0, {{1, 5000}, {2, 4097}, {64, 64}}},  // past the shared-memory tile
      {8, 8, 128, 4096, {{1, 6000}, {5, 20}}},            // sliding window
      {4, 1, 256, 7, {{30, 30}, {1, 9}}},
  };
  for (const Shape& s : shapes) {
    const int qs = s.heads * s.hd, kvs = s.kv_heads * s.hd;
    std::vector<std::vector<float>> q, k, v, twin_out, cpu_out;
    std::vector<std::unique_ptr<DeviceArray<float>>> keep;
    std::vector<AttentionSeq> dev, twin, cpu;
    int total = 0;
    for (auto [rows, kv] : s.seqs) {
      q.push_back(RandomFloats(static_cast<size_t>(rows) * qs, rng));
      k.push_back(RandomFloats(static_cast<size_t>(kv) * kvs, rng));
      v.push_back(RandomFloats(static_cast<size_t>(kv) * kvs, rng));
      twin_out.emplace_back(static_cast<size_t>(rows) * qs);
      cpu_out.emplace_back(static_cast<size_t>(rows) * qs);
      total += rows;
    }
    for (size_t i = 0; i < s.seqs.size(); ++i) {
      auto dq = std::make_unique<DeviceArray<float>>(q[i]);
      auto dk = std::make_unique<DeviceArray<float>>(k[i]);
      auto dv = std::make_unique<DeviceArray<float>>(v[i]);
      auto dout = std::make_unique<DeviceArray<float>>(q[i].size());
      dev.push_back(
          {dq->get(), dout->get(), dk->get(), dv->get(), s.seqs[i].first, s.seqs[i].second});
      twin.push_back({q[i].data(), twin_out[i].data(), k[i].data(), v[i].data(), s.seqs[i].first,
                      s.seqs[i].second});
      cpu.push_back({q[i].data(), cpu_out[i].data(), k[i].data(), v[i].data(), s.seqs[i].first,
                     s.seqs[i].second});
      for (auto* p : {&dq, &dk, &dv, &dout}) keep.push_back(std::move(*p));
    }
    DeviceArray<AttentionSeq> dseqs(dev);
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.hd));
    const int ns = static_cast<int>(s.seqs.size());
    CudaOk(gem_cuda_attention(dseqs.get(), ns, total, s.heads, s.kv_heads, s.hd, scale, s.window,
                              nullptr),
           "gem_cuda_attention");
    ops::AttentionTwin(twin.data(), ns, s.heads, s.kv_heads, s.hd, scale, s.window);
    CpuBackend()->attention(&ctx, cpu.data(), ns, s.heads, s.kv_heads, s.hd, scale, s.window);
    for (size_t i = 0; i < s.seqs.size(); ++i) {
      const auto got = keep[i * 4 + 3]->Download();
      vs_twin.Add(got.data(), twin_out[i].data(), got.size());
      vs_cpu.Add(got.data(), cpu_out[i].data(), got.size());
    }
    ++calls;
  }
  const std::string detail = std::to_string(calls) + " calls; vs twin: " + vs_twin.Summary() +
                             "; vs CPU: " + vs_cpu.Summary();
  return vs_twin.max_rel <= 1e-6 && vs_cpu.max_rel <= 1e-5 ? Pass(detail) : Fail(detail);
}

Outcome ArgmaxCheck(const Env& env) {
  std::mt19937 rng(env.seed + 70);
  const int vocab = 49152;
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < 40; ++r) {
    std::vector<float> v(vocab);
    if (r % 2 == 0) {
      for (float& x : v) x = static_cast<float>(static_cast<int>(rng() % 9)) - 4;  // ties
    } else {
      v = RandomFloats(vocab, rng, 3.0f);
    }
    rows.push_back(std::move(v));
  }
  rows[3][0] = NAN;    // NaN at 0 wins
  rows[5][100] = NAN;  // a NaN elsewhere never wins
  rows[7].assign(vocab, NAN);
  rows[9][vocab - 1] = INFINITY;
  std::vector<float> flat;
  for (const auto& v : rows) flat.insert(flat.end(), v.begin(), v.end());
  const int n = static_cast<int>(rows.size());
  DeviceArray<float> dl(flat);
  DeviceArray<int32_t> dids(n);
  CudaOk(gem_cuda_argmax(dl.get(), n, vocab, dids.get(), nullptr), "gem_cuda_argmax");
  const auto got = dids.Download();
  std::vector<int32_t> twin(n);
  ops::ArgmaxTwin(flat.data(), n, vocab, twin.data());
  int wrong = 0, wrong_seq = 0;
  for (int r = 0; r < n; ++r) {
    int32_t seq = 0;  // Generate's scan
    for (int i = 1; i < vocab; ++i) {
      if (rows[r][i] > rows[r][seq]) seq = i;
    }
    wrong += got[r] != twin[r];
    wrong_seq += got[r] != seq;
  }
  const std::string detail = std::to_string(n) + " rows of " + std::to_string(vocab) + ": " +
                             std::to_string(wrong) + " differ from the twin, " +
                             std::to_string(wrong_seq) + " from Generate's scan";
  return wrong == 0 && wrong_seq == 0 ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddOpChecks(std::vector<Check>* out) {
  for (int t : {ops::kWeightF32, ops::kWeightF16, ops::kWeightBF16}) {
    out->push_back({std::string("ops.embed.") + WeightTypeName(t),
                    [t](const Env& e) { return EmbedCheck(e, t); }});
  }
  for (int t : {ops::kWeightF32, ops::kWeightF16, ops::kWeightBF16}) {
    out->push_back({std::string("ops.matmul.") + WeightTypeName(t),
                    [t](const Env& e) { return MatmulCheck(e, t); }});
  }
  out->push_back({"ops.rms_norm", RmsNormCheck});
  out->push_back({"ops.rope", RopeCheck});
  out->push_back({"ops.silu_mul", SiluMulCheck});
  out->push_back({"ops.add", AddCheck});
  out->push_back({"ops.attention", AttentionCheck});
  out->push_back({"ops.argmax", ArgmaxCheck});
}

}  // namespace gem::gpucheck
