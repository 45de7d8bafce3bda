// Copyright the gem authors. The decoder forward pass over a batch of sequences.
//
// All new rows of all sequences are stacked into one [rows x hidden] activation so each weight
// matrix is read once per step (the GEMM sees every row); only attention is per sequence, over
// that sequence's own cache. Logits are computed only for the rows asked for (the last row of a
// prefill), since the vocabulary projection is the largest GEMM of a small model.
#include <cmath>
#include <cstring>

#include "engine/model_impl.h"

namespace gem {
namespace {

// One projection of a fused linear step.
struct Proj {
  const char* module;
  const WeightEntry* w;
  const WeightEntry* b;  // bias or nullptr
  float* y;
};

// y = x W^T (+ b) for projections sharing the input x (q/k/v; gate/up: one matmul call, so x is
// prepared once and the threads meet once), then the LoRA-style hook adds its part to each.
void Linear(Model::Impl* m, int layer, const float* x, int rows, int in,
            std::initializer_list<Proj> projs, const std::vector<int32_t>& row_adapter) {
  MatmulJob jobs[3];
  int n = 0;
  for (const Proj& p : projs) jobs[n++] = MatmulJob{&p.w->active, p.y, false};
  m->backend->matmul(&m->ctx, x, rows, jobs, n);
  for (const Proj& p : projs) {
    const int out = static_cast<int>(p.w->active.rows);
    if (p.b != nullptr) m->backend->add_bias(&m->ctx, p.y, p.b->f32(), rows, out);
    if (m->hook != nullptr) m->hook->Apply(layer, p.module, x, rows, in, p.y, out, row_adapter);
  }
}

}  // namespace

Status ForwardBatch(Model::Impl* m, std::vector<BatchSeq>& seqs, std::vector<float>* logits) {
  const ModelConfig& c = m->config;
  const Backend* be = m->backend;
  const BackendContext* ctx = &m->ctx;
  const int H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim;
  const int Q = c.num_heads * hd, KV = c.num_kv_heads * hd;

  int R = 0, L = 0;
  for (const BatchSeq& s : seqs) {
    R += s.n;
    L += s.logits == 2 ? s.n : (s.logits == 1 && s.n > 0 ? 1 : 0);
  }
  std::vector<int32_t> pos(R), row_adapter(R), ids(R);
  std::vector<float> x(static_cast<size_t>(R) * H);
  {
    int r = 0;
    for (const BatchSeq& s : seqs) {
      if (static_cast<int>(s.cache->k.size()) != c.num_layers) {
        s.cache->k.resize(c.num_layers);
        s.cache->v.resize(c.num_layers);
      }
      for (int i = 0; i < s.n; ++i, ++r) {
        const int32_t id = s.tokens[i];
        if (id < 0 || id >= c.vocab_size) {
          return Status::InvalidArgument(
              "forward", "token id " + std::to_string(id) + " outside [0, vocab_size)");
        }
        ids[r] = id;
        pos[r] = s.cache->len + i;
        row_adapter[r] = s.adapter_slot;
      }
    }
    be->get_rows(ctx, m->embed->active, ids.data(), R, x.data());
  }

  std::vector<float> h(static_cast<size_t>(R) * H), q(static_cast<size_t>(R) * Q),
      k(static_cast<size_t>(R) * KV), v(static_cast<size_t>(R) * KV),
      attn(static_cast<size_t>(R) * Q), tmp(static_cast<size_t>(R) * H),
      gate(static_cast<size_t>(R) * I), up(static_cast<size_t>(R) * I);
  std::vector<AttentionSeq> att(seqs.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = m->layers[l];
    be->rms_norm(ctx, x.data(), w.in_norm->f32(), h.data(), R, H, c.rms_norm_eps);
    Linear(m, l, h.data(), R, H,
           {{"q_proj", w.q, w.q_bias, q.data()},
            {"k_proj", w.k, w.k_bias, k.data()},
            {"v_proj", w.v, w.v_bias, v.data()}},
           row_adapter);
    be->rope(ctx, q.data(), R, c.num_heads, hd, pos.data(), m->inv_freq.data());
    be->rope(ctx, k.data(), R, c.num_kv_heads, hd, pos.data(), m->inv_freq.data());
    int r = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
      SeqCache* cache = seqs[s].cache;
      const int n = seqs[s].n;
      auto& kc = cache->k[l];
      auto& vc = cache->v[l];
      kc.insert(kc.end(), k.begin() + static_cast<size_t>(r) * KV,
                k.begin() + static_cast<size_t>(r + n) * KV);
      vc.insert(vc.end(), v.begin() + static_cast<size_t>(r) * KV,
                v.begin() + static_cast<size_t>(r + n) * KV);
      att[s] = AttentionSeq{q.data() + static_cast<size_t>(r) * Q,
                            attn.data() + static_cast<size_t>(r) * Q,
                            kc.data(),
                            vc.data(),
                            n,
                            cache->len + n};
      r += n;
    }
    be->attention(ctx, att.data(), static_cast<int>(att.size()), c.num_heads, c.num_kv_heads, hd,
                  scale, c.sliding_window);
    Linear(m, l, attn.data(), R, Q, {{"o_proj", w.o, nullptr, tmp.data()}}, row_adapter);
    be->add(ctx, x.data(), tmp.data(), static_cast<size_t>(R) * H);
    be->rms_norm(ctx, x.data(), w.post_norm->f32(), h.data(), R, H, c.rms_norm_eps);
    Linear(m, l, h.data(), R, H,
           {{"gate_proj", w.gate, nullptr, gate.data()}, {"up_proj", w.up, nullptr, up.data()}},
           row_adapter);
    be->silu_mul(ctx, gate.data(), up.data(), gate.data(), static_cast<size_t>(R) * I);
    Linear(m, l, gate.data(), R, I, {{"down_proj", w.down, nullptr, tmp.data()}}, row_adapter);
    be->add(ctx, x.data(), tmp.data(), static_cast<size_t>(R) * H);
  }
  for (BatchSeq& s : seqs) s.cache->len += s.n;

  // Final norm and vocabulary projection for the requested rows only.
  std::vector<float> sel(static_cast<size_t>(L) * H);
  {
    int r = 0, o = 0;
    for (const BatchSeq& s : seqs) {
      int first = s.logits == 2 ? 0 : s.n - 1;
      int count = s.logits == 2 ? s.n : (s.logits == 1 && s.n > 0 ? 1 : 0);
      for (int i = 0; i < count; ++i, ++o) {
        std::memcpy(&sel[static_cast<size_t>(o) * H], &x[static_cast<size_t>(r + first + i) * H],
                    H * sizeof(float));
      }
      r += s.n;
    }
  }
  be->rms_norm(ctx, sel.data(), m->final_norm->f32(), sel.data(), L, H, c.rms_norm_eps);
  const WeightEntry* head = m->lm_head != nullptr ? m->lm_head : m->embed;
  logits->resize(static_cast<size_t>(L) * c.vocab_size);
  const MatmulJob job{&head->active, logits->data(), false};
  be->matmul(ctx, sel.data(), L, &job, 1);
  return Status::OK();
}

}  // namespace gem
