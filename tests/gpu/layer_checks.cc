// Copyright the gem authors. The ops composed as the transformer composes them, through the CUDA
// backend's context (engine/cuda/cuda_ops.h: staged host arrays, stream-ordered memory): one
// decoder layer of SmolLM2's shape (576 wide, 9 query heads over 3 kv heads, 1536 MLP) with bf16
// weights, over three sequences with caches of different lengths, against the CPU backend; and
// a bad call reported by Sync() without poisoning the context.
#include <cmath>
#include <memory>
#include <string>

#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_ops.h"
#include "gem/backend.h"
#include "gpu/check.h"
#include "gpu/typed_weights.h"

namespace gem::gpucheck {
namespace {

Outcome LayerCheck(const Env& env) {
  auto created = cuda::CudaContext::Create(0);
  if (!created.ok()) return Fail(created.status().ToString());
  cuda::CudaContext* c = created->get();
  std::mt19937 rng(env.seed + 500);
  const int H = 576, heads = 9, kvh = 3, hd = 64, I = 1536, Q = heads * hd, KV = kvh * hd;
  const int bf16 = ops::kWeightBF16;
  TypedWeights wq = MakeTypedWeights(bf16, static_cast<size_t>(Q) * H, rng),
               wk = MakeTypedWeights(bf16, static_cast<size_t>(KV) * H, rng),
               wv = MakeTypedWeights(bf16, static_cast<size_t>(KV) * H, rng),
               wo = MakeTypedWeights(bf16, static_cast<size_t>(H) * Q, rng),
               wg = MakeTypedWeights(bf16, static_cast<size_t>(I) * H, rng),
               wu = MakeTypedWeights(bf16, static_cast<size_t>(I) * H, rng),
               wd = MakeTypedWeights(bf16, static_cast<size_t>(H) * I, rng);
  const auto norm1 = RandomFloats(H, rng), norm2 = RandomFloats(H, rng);
  // Three sequences: (new rows, cached before).
  const std::pair<int, int> seqs[] = {{5, 0}, {1, 40}, {2, 7}};
  int R = 0;
  for (auto [n, past] : seqs) R += n;
  const auto x0 = RandomFloats(static_cast<size_t>(R) * H, rng);
  std::vector<int32_t> pos;
  std::vector<std::vector<float>> kc, vc;  // caches: past rows, then the new rows
  for (auto [n, past] : seqs) {
    for (int i = 0; i < n; ++i) pos.push_back(past + i);
    kc.push_back(RandomFloats(static_cast<size_t>(past + n) * KV, rng));
    vc.push_back(RandomFloats(static_cast<size_t>(past + n) * KV, rng));
  }
  std::vector<float> inv(hd / 2);
  for (int f = 0; f < hd / 2; ++f) inv[f] = std::pow(10000.0f, -2.0f * f / hd);
  const float scale = 0.125f;

  // The layer on a backend, given memory it can use (host vectors for the CPU, device arrays).
  struct Mem {
    float *x, *h, *q, *k, *v, *attn, *tmp, *gate, *up;
    std::vector<float*> kc, vc;
  };
  auto layer = [&](auto&& mm, auto&& norm, auto&& rope, auto&& att, auto&& silu, auto&& add,
                   auto&& kv_append, const Mem& m, const void* w[7], const float* n1,
                   const float* n2) {
    norm(m.x, n1, m.h);
    mm(m.h, w[0], m.q, Q, H);
    mm(m.h, w[1], m.k, KV, H);
    mm(m.h, w[2], m.v, KV, H);
    rope(m.q, heads);
    rope(m.k, kvh);
    kv_append(m);
    std::vector<AttentionSeq> as;
    int r = 0, s = 0;
    for (auto [n, past] : seqs) {
      as.push_back({m.q + static_cast<size_t>(r) * Q, m.attn + static_cast<size_t>(r) * Q, m.kc[s],
                    m.vc[s], n, past + n});
      r += n;
      ++s;
    }
    att(as);
    mm(m.attn, w[3], m.tmp, H, Q);
    add(m.x, m.tmp, static_cast<size_t>(R) * H);
    norm(m.x, n2, m.h);
    mm(m.h, w[4], m.gate, I, H);
    mm(m.h, w[5], m.up, I, H);
    silu(m.gate, m.up, static_cast<size_t>(R) * I);
    mm(m.gate, w[6], m.tmp, H, I);
    add(m.x, m.tmp, static_cast<size_t>(R) * H);
  };

  // CPU.
  BackendContext ctx;
  ctx.threads = env.cpu_threads;
  const Backend* be = CpuBackend();
  std::vector<float> cx = x0, ch(x0.size()), cq(static_cast<size_t>(R) * Q),
                     ck(static_cast<size_t>(R) * KV), cv(static_cast<size_t>(R) * KV),
                     cattn(static_cast<size_t>(R) * Q), ctmp(x0.size()),
                     cgate(static_cast<size_t>(R) * I), cup(static_cast<size_t>(R) * I);
  auto ckc = kc, cvc = vc;
  Mem cm{cx.data(),   ch.data(),    cq.data(),  ck.data(), cv.data(), cattn.data(),
         ctmp.data(), cgate.data(), cup.data(), {},        {}};
  for (size_t s = 0; s < kc.size(); ++s) {
    cm.kc.push_back(ckc[s].data());
    cm.vc.push_back(cvc[s].data());
  }
  const void* cw[7] = {wq.f32.data(), wk.f32.data(), wv.f32.data(), wo.f32.data(),
                       wg.f32.data(), wu.f32.data(), wd.f32.data()};
  layer([&](const float* x, const void* w, float* y, int n,
            int k) { CpuMatmul(&ctx, x, w, ops::kWeightF32, y, R, n, k, false); },
        [&](const float* x, const float* w, float* y) { be->rms_norm(&ctx, x, w, y, R, H, 1e-5f); },
        [&](float* x, int nh) { be->rope(&ctx, x, R, nh, hd, pos.data(), inv.data()); },
        [&](const std::vector<AttentionSeq>& as) {
          be->attention(&ctx, as.data(), static_cast<int>(as.size()), heads, kvh, hd, scale, 0);
        },
        [&](float* g, const float* u, size_t n) { be->silu_mul(&ctx, g, u, g, n); },
        [&](float* y, const float* x, size_t n) { be->add(&ctx, y, x, n); },
        [&](const Mem& m) {
          int r = 0, s = 0;
          for (auto [n, past] : seqs) {
            std::copy_n(m.k + static_cast<size_t>(r) * KV, static_cast<size_t>(n) * KV,
                        m.kc[s] + static_cast<size_t>(past) * KV);
            std::copy_n(m.v + static_cast<size_t>(r) * KV, static_cast<size_t>(n) * KV,
                        m.vc[s] + static_cast<size_t>(past) * KV);
            r += n;
            ++s;
          }
        },
        cm, cw, norm1.data(), norm2.data());

  // CUDA, through the context.
  std::vector<std::unique_ptr<DeviceArray<float>>> keep;
  auto dev = [&](const std::vector<float>& v) {
    keep.push_back(std::make_unique<DeviceArray<float>>(v));
    return keep.back()->get();
  };
  auto zeros = [&](size_t n) { return dev(std::vector<float>(n, 0.0f)); };
  Mem dm{dev(x0),
         zeros(x0.size()),
         zeros(static_cast<size_t>(R) * Q),
         zeros(static_cast<size_t>(R) * KV),
         zeros(static_cast<size_t>(R) * KV),
         zeros(static_cast<size_t>(R) * Q),
         zeros(x0.size()),
         zeros(static_cast<size_t>(R) * I),
         zeros(static_cast<size_t>(R) * I),
         {},
         {}};
  for (size_t s = 0; s < kc.size(); ++s) {
    dm.kc.push_back(dev(kc[s]));
    dm.vc.push_back(dev(vc[s]));
  }
  std::vector<std::unique_ptr<DeviceArray<uint8_t>>> wkeep;
  const void* dw[7];
  const TypedWeights* all[7] = {&wq, &wk, &wv, &wo, &wg, &wu, &wd};
  for (int i = 0; i < 7; ++i) {
    wkeep.push_back(std::make_unique<DeviceArray<uint8_t>>(all[i]->bytes));
    dw[i] = wkeep.back()->get();
  }
  layer([&](const float* x, const void* w, float* y, int n,
            int k) { cuda::Matmul(c, x, R, bf16, w, n, k, y, false); },
        [&](const float* x, const float* w, float* y) { cuda::RmsNorm(c, x, w, y, R, H, 1e-5f); },
        [&](float* x, int nh) { cuda::Rope(c, x, R, nh, hd, pos.data(), inv.data()); },
        [&](const std::vector<AttentionSeq>& as) {
          cuda::Attention(c, as.data(), static_cast<int>(as.size()), heads, kvh, hd, scale, 0);
        },
        [&](float* g, const float* u, size_t n) { cuda::SiluMul(c, g, u, g, n); },
        [&](float* y, const float* x, size_t n) { cuda::Add(c, y, x, n); },
        [&](const Mem& m) {
          int r = 0, s = 0;
          for (auto [n, past] : seqs) {
            c->Copy(m.kc[s] + static_cast<size_t>(past) * KV, m.k + static_cast<size_t>(r) * KV,
                    static_cast<size_t>(n) * KV * 4);
            c->Copy(m.vc[s] + static_cast<size_t>(past) * KV, m.v + static_cast<size_t>(r) * KV,
                    static_cast<size_t>(n) * KV * 4);
            r += n;
            ++s;
          }
        },
        dm, dw, dev(norm1), dev(norm2));
  if (Status st = c->Sync(); !st.ok()) return Fail(st.ToString());
  std::vector<float> got(x0.size());
  c->Download(got.data(), dm.x, got.size() * sizeof(float));
  if (Status st = c->Sync(); !st.ok()) return Fail(st.ToString());
  Diff d;
  d.Add(got.data(), cx.data(), got.size());

  // A bad call (n = 0) is reported by Sync, and the context works again afterwards.
  cuda::Matmul(c, dm.x, R, bf16, dw[0], 0, H, dm.q, false);
  Status bad = c->Sync();
  std::vector<int32_t> ids(R);
  cuda::Argmax(c, dm.x, R, H, ids.data());
  Status after = c->Sync();
  const std::string detail = "one decoder layer, 3 sequences, vs CPU backend: " + d.Summary() +
                             "; bad call: " + (bad.ok() ? "not reported" : bad.ToString()) +
                             "; after it: " + after.ToString();
  return d.max_rel <= 1e-4 && !bad.ok() && after.ok() ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddLayerChecks(std::vector<Check>* out) { out->push_back({"ops.decoder_layer", LayerCheck}); }

}  // namespace gem::gpucheck
