// Copyright the gem authors. Engine evaluator: real evaluation behind the search's batch seam.
//
// EngineEvaluator plugs the inference engine (gem/model.h, gem/generate.h), a model tree's
// candidates on the resident base (gem/tree.h) and a task with its graders (gem/task.h,
// gem/grader.h) into gem::Evaluator. For each Evaluate() batch it groups the requests by model
// and, per model, activates it once (base, base (+) delta, or base + merged LoRA), renders the
// prompts of all its queries through the model's chat template, generates them in one batched
// greedy Generate() call, cuts each output at its stop strings and grades it.
//
// Two prompt variants (gem/prompt.h): variant(0) answers without a system prompt, variant(1)
// with the model's own (or the query's fallback). Each variant is its own Evaluator with its own
// cache config (config(v)), so both are cached. When options.both_variants is set (the
// default), a batch asked of one variant generates BOTH variants of each (model, query) in the
// same Generate() call and keeps the other variant's results for the next call to the other
// variant's evaluator, which then answers them without generating. BetterVariantEvaluator
// (below) asks the two in turn and reports each model's better variant, so one round activates
// each model once.
//
// Switching candidates: while one model generates, the next fine-tune of the batch has its delta
// opened and decoded on a background thread (DeltaFile::Prefetch), so that the switch is only
// the element pass over the changed tensors.
//
// Determinism: greedy decoding, a fixed prompt rendering and deterministic graders: the same
// (model, query, variant) always gives the same output and grade, whatever the batch.
//
// Thread-safety: like Evaluator: one search at a time; the Model must not be used by anyone else
// while an Evaluate() runs.
#ifndef GEM_ENGINE_EVALUATOR_H_
#define GEM_ENGINE_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gem/cache.h"
#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/evaluator.h"
#include "gem/generate.h"
#include "gem/model.h"
#include "gem/prompt.h"
#include "gem/sandbox.h"
#include "gem/status.h"
#include "gem/task.h"
#include "gem/tree.h"

namespace gem {

// One model the engine can run on the resident base.
struct EngineCandidate {
  enum class Kind : uint8_t { kBase = 0, kDelta = 1, kMergedLora = 2 };
  std::string name;  // label
  Kind kind = Kind::kBase;
  std::string path;  // kDelta: the .gemdelta file; kMergedLora: the PEFT adapter directory
  Digest digest;     // the cache's model digest (see CandidatesFromTree)
};

// The candidates of a registered tree: the base first (when include_base), then every
// registered candidate in manifest order. Fine-tunes run from their delta in `form`; adapters
// run merged. Model digests: the base's and a lossless (xor) fine-tune's are their weights
// digests; a lossy form's is SHA-256(Field("gem.lossy.v1"), Field(weights digest), Field(form
// name)), since its weights differ from the fine-tune's; an adapter's is
// SHA-256(Field("gem.lora.v1"), Field(base digest), Field(adapter digest)).
// NotFound when a registered fine-tune has no delta file in `form`.
Result<std::vector<EngineCandidate>> CandidatesFromTree(const RegisteredTree& tree,
                                                        const std::string& data_dir,
                                                        DeltaForm form = DeltaForm::kXor,
                                                        bool include_base = true);

struct EngineEvalOptions {
  GenerateOptions generate;
  SandboxHost sandbox;        // where MBPP code runs (e.g. hidden_paths = {data dir})
  bool both_variants = true;  // generate both prompt variants together (see above)
  // Decode the next candidate's delta in the background while the current one generates, up to
  // this many decoded bytes (DeltaFile::Prefetch; tensors beyond it decode at the switch): the
  // memory it holds until the switch. 0 turns prefetching off. Default 1 GiB. Outputs do not
  // depend on it.
  uint64_t prefetch_max_bytes = uint64_t{1} << 30;
  // Optional progress lines ("ft-math: 12 sequences"), on the evaluating thread.
  std::function<void(const std::string&)> progress;
};

class EngineEvaluator {
 public:
  // `base` must have its tokenizer; it, the candidates' files and `task` must outlive this.
  // InvalidArgument for an empty candidate list or a model without tokenizer; the activation
  // errors of the tree part (e.g. a delta for another base) surface from Evaluate().
  static Result<std::unique_ptr<EngineEvaluator>> Create(Model* base,
                                                         std::vector<EngineCandidate> candidates,
                                                         std::shared_ptr<const Task> task,
                                                         EngineEvalOptions options = {});
  ~EngineEvaluator();

  // The evaluator answering in prompt variant v (kNoSystemPrompt or kWithSystemPrompt).
  // Owned by this object. EvalDetail::variant is v.
  Evaluator* variant(uint8_t v);

  // The cache config of variant v's results: engine version, the chat template text, the
  // system prompt text (the model's default for v == 1, "" for v == 0), greedy decoding, and
  // extra = "prompt_variant=<v>\n" (plus "weights=<Model::NumericsId()>\n" when the base holds
  // integer-quantised weights, whose logits differ from the f32 path's; plus "numerics=cuda.v1\n"
  // when the base runs on the CUDA backend, whose kernels' logits are close to the CPU's but not
  // identical: docs/GPU.md). max_new_tokens and stop
  // strings are per query (in the query digest), so they are 0 / empty here.
  EvalConfig config(uint8_t v) const;

  std::vector<Digest> model_digests() const;
  std::vector<Digest> query_digests() const;
  const std::vector<EngineCandidate>& candidates() const;

  struct Stats {
    uint64_t activations = 0;            // model switches (activating the active model is free)
    uint64_t generate_calls = 0;         // Generate() calls (one per model per batch)
    uint64_t sequences = 0;              // sequences generated (each variant counts)
    uint64_t tokens_out = 0;             // tokens generated
    uint64_t answered_from_pending = 0;  // requests answered by the other variant's generation
    uint64_t prefetched = 0;  // activations whose delta was decoded ahead, in the background
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit EngineEvaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reports each model's better prompt variant (docs/TASKS.md, "the better variant"): asks both
// evaluators every batch (typically CachedEvaluators over EngineEvaluator::variant(0) and (1)),
// adds both grades of every request to the model's tally, and answers each request with the
// grade of the variant that leads the model's tally after this batch (ties: variant 0).
// from_cache is 1 only when both variants came from the cache.
// REQUIRES: both evaluators have the same models and queries, and outlive this.
class BetterVariantEvaluator final : public Evaluator {
 public:
  BetterVariantEvaluator(Evaluator* without_system, Evaluator* with_system);

  uint32_t num_models() const override;
  uint32_t num_queries() const override;
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override;
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) override;

  // Both variants' grades of every request answered so far, per model.
  const VariantTally& tally(uint32_t model) const { return tallies_[model]; }

 private:
  Evaluator* ev_[kNumPromptVariants];
  std::vector<VariantTally> tallies_;
};

}  // namespace gem

#endif  // GEM_ENGINE_EVALUATOR_H_
