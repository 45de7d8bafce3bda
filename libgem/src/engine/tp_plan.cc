// Copyright the gem authors. Tensor-parallel split and per-GPU memory budget (tp_plan.h).
#include "engine/tp_plan.h"

#include <string_view>

#include "engine/model_impl.h"

namespace gem {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

int64_t TpShard::numel() const {
  int64_t n = 1;
  for (int64_t d : full_shape) n *= d;
  if (split == TpSplit::kReplicated || full_shape.empty()) return n;
  const int64_t dim = split == TpSplit::kRows ? full_shape[0] : full_shape[1];
  return n / dim * (end - begin);
}

Result<TpPlan> PlanTensorParallel(const ModelConfig& c, int ways) {
  const std::string what = "tensor parallel";
  if (ways < 1) return Status::InvalidArgument(what, "ways must be at least 1");
  if (c.num_heads % ways != 0) {
    return Status::InvalidArgument(what, std::to_string(c.num_heads) +
                                             " query heads do not split " + std::to_string(ways) +
                                             " ways");
  }
  if (c.intermediate_size % ways != 0) {
    return Status::InvalidArgument(what, "intermediate size " +
                                             std::to_string(c.intermediate_size) +
                                             " does not split " + std::to_string(ways) + " ways");
  }
  const bool kv_split = c.num_kv_heads % ways == 0;
  if (!kv_split && ways % c.num_kv_heads != 0) {
    return Status::InvalidArgument(what, std::to_string(c.num_kv_heads) +
                                             " kv heads neither split " + std::to_string(ways) +
                                             " ways nor divide it");
  }
  TpPlan plan;
  plan.ways = ways;
  plan.q_heads_per_rank = c.num_heads / ways;
  plan.kv_heads_per_rank = kv_split ? c.num_kv_heads / ways : 1;
  plan.intermediate_per_rank = c.intermediate_size / ways;
  const int64_t hd = c.head_dim;
  const std::vector<TensorDesc> tensors = ExpectedTensors(c);
  plan.ranks.resize(ways);
  for (int r = 0; r < ways; ++r) {
    // This rank's query heads, the kv heads they read, its intermediate features.
    const int64_t q0 = static_cast<int64_t>(r) * plan.q_heads_per_rank * hd;
    const int64_t q1 = q0 + static_cast<int64_t>(plan.q_heads_per_rank) * hd;
    const int64_t kv_head0 =
        static_cast<int64_t>(r) * plan.q_heads_per_rank / (c.num_heads / c.num_kv_heads);
    const int64_t kv0 = kv_head0 * hd, kv1 = kv0 + plan.kv_heads_per_rank * hd;
    const int64_t i0 = r * plan.intermediate_per_rank, i1 = i0 + plan.intermediate_per_rank;
    for (const TensorDesc& t : tensors) {
      TpShard s{t.name, TpSplit::kReplicated, t.shape, 0, t.shape.empty() ? 0 : t.shape[0]};
      const std::string_view n = t.name;
      auto rows = [&](int64_t b, int64_t e) {
        s.split = TpSplit::kRows;
        s.begin = b;
        s.end = e;
      };
      auto cols = [&](int64_t b, int64_t e) {
        s.split = TpSplit::kColumns;
        s.begin = b;
        s.end = e;
      };
      if (n.find(".self_attn.q_proj.") != std::string_view::npos) {
        rows(q0, q1);
      } else if (n.find(".self_attn.k_proj.") != std::string_view::npos ||
                 n.find(".self_attn.v_proj.") != std::string_view::npos) {
        rows(kv0, kv1);
      } else if (EndsWith(n, ".self_attn.o_proj.weight")) {
        cols(q0, q1);
      } else if (EndsWith(n, ".mlp.gate_proj.weight") || EndsWith(n, ".mlp.up_proj.weight")) {
        rows(i0, i1);
      } else if (EndsWith(n, ".mlp.down_proj.weight")) {
        cols(i0, i1);
      }
      plan.ranks[r].push_back(std::move(s));
    }
  }
  return plan;
}

MemoryBudget PlanMemory(const ModelConfig& c, const MemoryBudgetOptions& o) {
  MemoryBudget b;
  Result<TpPlan> plan = PlanTensorParallel(c, o.tp);
  if (!plan.ok()) return b;
  double linear = 0, all = 0;
  for (const TpShard& s : plan->ranks[0]) {
    const double n = static_cast<double>(s.numel());
    all += n;
    if (s.full_shape.size() == 2 && s.name.find(".layers.") != std::string::npos) linear += n;
  }
  b.base = all * o.weight_bytes;
  b.candidate = o.candidate_fraction * linear * o.weight_bytes;
  b.kv_cache = static_cast<double>(o.sequences) * o.context * c.num_layers * 2.0 *
               plan->kv_heads_per_rank * c.head_dim * o.kv_bytes;
  const double q = static_cast<double>(plan->q_heads_per_rank) * c.head_dim;
  const double kv = static_cast<double>(plan->kv_heads_per_rank) * c.head_dim;
  // x, h, tmp (hidden); q, attn; k, v; gate, up: f32 rows of the largest forward pass.
  const double row = 3.0 * c.hidden_size + 2 * q + 2 * kv + 2.0 * plan->intermediate_per_rank;
  b.activations = (row * o.prefill_tokens + static_cast<double>(o.sequences) * c.vocab_size) * 4;
  return b;
}

}  // namespace gem
