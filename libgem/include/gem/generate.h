// Copyright the gem authors. Batched greedy generation.
//
// Generate() runs many sequences of different lengths together: their prompts are prefilled in
// batches (all rows of a batch go through each weight matrix in one GEMM), then every unfinished
// sequence gets one new token per decoding step, again as one batch. Decoding is greedy: the next
// token is the arg-max of the logits (the lowest id among exact ties).
//
// Results do not depend on how requests are batched: each row's arithmetic (GEMM row, RMSNorm,
// RoPE, attention over its own sequence's cache) is the same whether it runs alone or with
// others; tests/engine/generate_test.cc checks batched == one-at-a-time.
//
// Scheduling (docs/ENGINE.md, "Scheduling"):
//   * continuous batching (the default): at most max_batch_sequences sequences are in flight,
//     each in a slot of the KV cache. When one finishes, the next waiting request (in request
//     order) takes its slot at the next step; its prompt is prefilled in the same forward batch
//     as the other sequences' decoding steps. Schedule::kWaves is the schedule before it: the
//     next max_batch_sequences requests start only when the whole previous wave has finished.
//   * shared prefixes: prompts of one call that begin with the same tokens (at least
//     min_shared_prefix of them; a system prompt, few-shot examples) and use the same adapter
//     slot have that prefix prefilled once; its keys and values are copied into each of their
//     caches, and each prefills only the rest of its prompt.
// Neither changes any result: a sequence's tokens do not depend on the other requests, on the
// slot it gets, on the order of the requests or on these options.
//
// Stopping, per sequence, checked after every new token in this order:
//   1. stop ids: the token is in stop_ids (or in Model::default_stop_ids() when stop_at_eos);
//      the token is kept in `tokens` but its text is not part of `text`;
//   2. stop strings: `text` (the decoded generated tokens) contains one of stop_strings; `text`
//      is cut before the earliest occurrence, `tokens` keeps every generated token;
//   3. max_new_tokens reached;
//   4. the context is full (prompt + generated == Model max_position_embeddings, when known).
//
// Thread-safety: as Model (one caller at a time per model).
#ifndef GEM_GENERATE_H_
#define GEM_GENERATE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gem/model.h"
#include "gem/status.h"

namespace gem {

struct GenerateRequest {
  std::vector<int32_t> prompt;            // token ids, non-empty, each in [0, vocab_size)
  int max_new_tokens = 64;                // >= 0; 0 only prefills
  std::vector<std::string> stop_strings;  // needs the model's tokenizer
  std::vector<int32_t> stop_ids;          // in addition to the defaults below
  bool stop_at_eos = true;                // also stop at Model::default_stop_ids()
  int32_t adapter_slot = -1;              // passed to the LinearHook for this sequence's rows
};

enum class FinishReason : uint8_t {
  kLength = 0,      // max_new_tokens generated
  kStopId = 1,      // a stop id was generated (it is the last of `tokens`)
  kStopString = 2,  // a stop string appeared in the text
  kContext = 3,     // the model's context length was reached
};
const char* FinishReasonName(FinishReason r);  // "length", "stop_id", "stop_string", "context"

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (prompt excluded)
  std::string text;             // decoded generated text ("" without a tokenizer); see above
  FinishReason finish = FinishReason::kLength;
};

enum class Schedule : uint8_t {
  kContinuous = 0,  // a finished sequence's slot goes to the next waiting request at once
  kWaves = 1,       // requests run in waves of max_batch_sequences; a wave waits for its longest
};

// What one Generate() call did (GenerateOptions::stats).
struct GenerateStats {
  uint64_t forward_steps = 0;         // forward passes over a batch
  uint64_t prompt_tokens = 0;         // sum of the prompts' lengths
  uint64_t prefill_tokens = 0;        // prompt tokens run through the model (a shared prefix once)
  uint64_t shared_prefix_tokens = 0;  // prompt tokens whose keys/values were copied instead
  uint64_t prefix_groups = 0;         // shared prefixes
  uint64_t decode_rows = 0;           // one-token decoding rows
  uint64_t slots = 0;                 // KV-cache slots used (<= max_batch_sequences)
};

struct GenerateOptions {
  // At most this many sequences are in flight (hold a KV-cache slot) at once. Default 64.
  int max_batch_sequences = 64;
  // A forward batch holds at most this many prompt tokens, besides one row per decoding
  // sequence; longer prompts are prefilled in chunks over several steps. Default 2048.
  int max_prefill_tokens = 2048;
  // See "Scheduling" above. Default kContinuous.
  Schedule schedule = Schedule::kContinuous;
  // Prompts sharing at least this many leading tokens share their prefill; <= 0 turns it off.
  // Default 8.
  int min_shared_prefix = 8;
  // Optional: called after each step with (finished sequences, total sequences).
  std::function<void(size_t, size_t)> on_progress;
  // Optional: called when request `index` starts, in the KV-cache slot `slot` (for tracing).
  std::function<void(size_t index, int slot)> on_admit;
  // Optional: filled with what the call did.
  GenerateStats* stats = nullptr;
  // Optional: when it becomes true, Generate stops at the next step with Status::Aborted.
  const std::atomic<bool>* cancel = nullptr;
};

// Generates for every request; (*results)[i] answers requests[i]. InvalidArgument (naming the
// request index) for an empty prompt, an id out of range, a negative max_new_tokens or stop
// strings without a tokenizer; Aborted when cancelled.
Status Generate(Model& model, std::span<const GenerateRequest> requests,
                const GenerateOptions& options, std::vector<GenerateResult>* results);

}  // namespace gem

#endif  // GEM_GENERATE_H_
