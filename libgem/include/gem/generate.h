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

struct GenerateOptions {
  // At most this many sequences are decoded together; more requests run in waves, in order.
  // Default 64.
  int max_batch_sequences = 64;
  // Prefill batches hold at most this many prompt tokens (a longer prompt is prefilled alone in
  // chunks of this size). Default 2048.
  int max_prefill_tokens = 2048;
  // Optional: called after each decoding step with (finished sequences, total sequences).
  std::function<void(size_t, size_t)> on_progress;
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
