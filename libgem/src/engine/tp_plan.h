// Copyright the gem authors. Bases larger than one GPU: how a decoder is split over the node's
// GPUs (tensor parallelism, after Megatron-LM), and what a GPU holds (the memory budget of
// docs/GPU.md). Pure arithmetic on a ModelConfig: no CUDA, no weights.
//
// The split, per decoder layer, for `ways` ranks:
//   * q_proj, k_proj, v_proj, gate_proj, up_proj (and the q/k/v biases) by output rows
//     ("column parallel"): rank r holds query heads [r*H/ways, (r+1)*H/ways), the kv heads those
//     query heads read, and intermediate features [r*I/ways, (r+1)*I/ways). Attention and the
//     SwiGLU gate then run on each rank's own heads and features, with no communication.
//   * o_proj and down_proj by input columns ("row parallel"): each rank multiplies its slice
//     and the partial [rows x hidden] results are summed by one NCCL all-reduce (two per layer:
//     after o_proj and after down_proj; NcclGroup::AllReduceSum).
//   * embeddings, norms and the head are replicated (the vocabulary projection could be split
//     by rows and gathered; for the models we serve it is 2-4% of the weights).
// When kv heads are fewer than ranks (e.g. 8 kv heads over 16 GPUs) each kv head is replicated
// on the ranks whose query heads use it.
//
// A tensor-parallel sum adds `ways` partial dot products, so its results differ in rounding
// from one GPU's: a TP=ways configuration is a different numerics id in the cache's config
// digest (docs/ENGINE.md "Cache sharing between backends").
//
// Thread-safety: pure functions.
#ifndef GEM_ENGINE_TP_PLAN_H_
#define GEM_ENGINE_TP_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/model.h"
#include "gem/status.h"

namespace gem {

enum class TpSplit {
  kReplicated,  // every rank holds the whole tensor
  kRows,        // dimension 0 (output features) is split
  kColumns,     // dimension 1 (input features) is split; partial outputs are all-reduced
};

// One rank's part of one weight: rows (kRows) or columns (kColumns) [begin, end) of the full
// tensor; the whole tensor when replicated.
struct TpShard {
  std::string name;  // Hugging Face name
  TpSplit split = TpSplit::kReplicated;
  std::vector<int64_t> full_shape;
  int64_t begin = 0, end = 0;
  int64_t numel() const;  // elements this rank holds
};

struct TpPlan {
  int ways = 1;
  int q_heads_per_rank = 0;
  int kv_heads_per_rank = 0;  // kv heads each rank holds (replicated ones included)
  int64_t intermediate_per_rank = 0;
  int all_reduces_per_layer = 2;            // after o_proj and after down_proj
  std::vector<std::vector<TpShard>> ranks;  // ranks[r]: every weight of ExpectedTensors(c)
};

// The split of `c` over `ways` ranks. InvalidArgument naming the problem when ways < 1, or the
// query heads or the intermediate size do not divide by ways, or the kv heads neither divide
// by ways nor divide ways.
Result<TpPlan> PlanTensorParallel(const ModelConfig& c, int ways);

// What one GPU holds while gemd evaluates candidates of a base (bytes).
struct MemoryBudgetOptions {
  int weight_bytes = 2;           // per parameter of the resident base: 2 for bf16/f16
  int kv_bytes = 4;               // per cached key/value element (f32, as the CPU engine)
  int sequences = 64;             // sequences decoded together (GenerateOptions)
  int context = 2048;             // tokens cached per sequence
  int prefill_tokens = 2048;      // rows of the largest forward pass (GenerateOptions)
  double candidate_fraction = 1;  // share of the linear weights a candidate changes (full
                                  // fine-tune: 1, rebuilt into scratch buffers by the delta
                                  // kernels; a LoRA adapter: ~0)
  int tp = 1;                     // tensor-parallel ways
};

struct MemoryBudget {
  double base = 0;         // the resident base (this rank's shards)
  double candidate = 0;    // a full fine-tune's changed tensors, rebuilt beside the base
  double kv_cache = 0;     // sequences x context tokens, this rank's kv heads
  double activations = 0;  // the largest forward pass's buffers, and its logits
  double total() const { return base + candidate + kv_cache + activations; }
};

// REQUIRES: PlanTensorParallel(c, options.tp) succeeds.
MemoryBudget PlanMemory(const ModelConfig& c, const MemoryBudgetOptions& options);

}  // namespace gem

#endif  // GEM_ENGINE_TP_PLAN_H_
