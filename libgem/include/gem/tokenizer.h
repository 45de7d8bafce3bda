// Copyright the gem authors. Tokenizer: text <-> token ids for the models the engine runs.
//
// Two families of vocabularies are supported, from two sources:
//   * byte-level BPE (GPT-2 style; Llama 3, Qwen2/2.5/3, SmolLM2): the text is split by the
//     pre-tokenizer's regex (run through PCRE2 with Unicode properties), every byte of a piece is
//     mapped to a printable code point, and merges are applied by rank;
//   * SentencePiece-style BPE (Llama 2, Mistral): spaces become U+2581 '▁', a '▁' is prepended,
//     merges (tokenizer.json) or piece scores (GGUF "llama") decide, and characters missing from
//     the vocabulary fall back to <0xNN> byte tokens.
// Sources: a Hugging Face tokenizer.json (+ tokenizer_config.json for the chat template, BOS/EOS
// names and add_bos_token), or the tokenizer.ggml.* metadata of a GGUF file (GgufVocab, filled by
// the engine's GGUF reader). docs/TOKENIZER.md lists what is supported and the known gaps.
//
// Added tokens (tokenizer.json "added_tokens", GGUF control/user-defined tokens) are matched
// literally before the model runs when Encode(..., parse_special=true); with parse_special=false
// control ("special") tokens are ordinary text, as llama.cpp's parse_special=false does.
//
// Thread-safety: a Tokenizer is immutable after construction; all const methods may be called
// concurrently from any number of threads.
#ifndef GEM_TOKENIZER_H_
#define GEM_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem {

// Vocabulary as embedded in a GGUF file (tokenizer.ggml.*), filled by the engine's GGUF reader.
// Fields the file does not have keep their defaults.
struct GgufVocab {
  std::string model;                 // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama"
                                     // (SentencePiece); anything else gives NotSupported
  std::string pre;                   // tokenizer.ggml.pre ("llama-bpe", "qwen2", "smollm",
                                     // "default", ...); chooses the split regex for "gpt2"
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens (required, non-empty)
  std::vector<float> scores;         // tokenizer.ggml.scores (required for "llama"; may be empty
                                     // for "gpt2")
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type: 1 normal, 2 unknown,
                                     // 3 control, 4 user-defined, 5 unused, 6 byte (may be empty)
  std::vector<std::string> merges;   // tokenizer.ggml.merges, "left right" (required for "gpt2")
  int32_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;
  int32_t eot_id = -1;           // tokenizer.ggml.eot_token_id, when present
  bool add_bos = false;          // tokenizer.ggml.add_bos_token (llama.cpp's default when the
                                 // key is absent: true for "llama" and for Llama 3 `pre`s)
  bool add_space_prefix = true;  // tokenizer.ggml.add_space_prefix ("llama" only)
  std::string chat_template;     // tokenizer.chat_template
};

class Tokenizer {
 public:
  // Loads a Hugging Face tokenizer.json and, when `tokenizer_config_path` is non-empty, its
  // tokenizer_config.json (chat_template, bos_token/eos_token names, add_bos_token). Supported
  // models: "BPE" with a ByteLevel pre-tokenizer (optionally preceded by Split(Isolated) regex
  // and Digits stages, and an NFC normalizer), and SentencePiece-style "BPE" (byte_fallback) in
  // the "legacy" layout (normalizer Prepend('▁') + Replace(' ', '▁')) or with the Metaspace
  // pre-tokenizer.
  // Returns IOError when a file cannot be read, Corruption when it is not valid JSON or lacks a
  // required field, NotSupported for a model/normalizer/pre-tokenizer we do not implement; the
  // message names the file and the problem.
  static Result<std::unique_ptr<Tokenizer>> FromJsonFile(
      const std::string& tokenizer_json_path, const std::string& tokenizer_config_path = "");

  // Builds a tokenizer from GGUF metadata. Errors as above (the message says "GGUF vocab").
  // An unknown `pre` for "gpt2" falls back to the GPT-2 regex (llama.cpp refuses such a file);
  // the fallback is reported by pre_tokenizer_note().
  static Result<std::unique_ptr<Tokenizer>> FromGgufVocab(const GgufVocab& vocab);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text` (UTF-8; invalid sequences are replaced by U+FFFD first). Prepends
  // bos_id() when `add_bos` and the vocabulary has a BOS. When `parse_special`, added tokens
  // that appear literally in `text` (e.g. "<|im_start|>", "<s>") become their ids; otherwise
  // only non-special added tokens are matched and special ones are tokenized as plain text.
  // Never adds EOS. Equivalent to HF `encode(text, add_special_tokens=False)` with add_bos=false.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;

  // Text of `ids`, always valid UTF-8: byte-fallback and byte-level tokens combine into
  // multi-byte characters, and bytes that do not form a complete character (e.g. output cut by
  // a length limit) become U+FFFD, as in HF's decode. When `skip_special`, control/special
  // tokens are left out. SentencePiece vocabularies drop the single leading space of the result,
  // as HF's Strip decoder does. Ids out of range are skipped.
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // Decoded bytes of one token, for streaming and stop-string checks: byte-level tokens map back
  // to their bytes, '▁' becomes ' ' (no stripping), <0xNN> becomes the byte NN; special tokens
  // give their text (e.g. "<|eot_id|>"). Raw bytes: a piece may be part of a UTF-8 character,
  // so concatenate pieces before treating them as text. "" for an id out of range.
  std::string TokenPiece(int32_t id) const;
  // The vocabulary entry itself (e.g. "Ġhello", "▁hello", "<0x0A>"); "" when out of range.
  const std::string& TokenText(int32_t id) const;
  // Id of the vocabulary entry `token` (exact match of TokenText), if any.
  std::optional<int32_t> TokenId(std::string_view token) const;

  // Number of ids, including added tokens (max id + 1).
  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 when the vocabulary has no BOS (Qwen)
  int32_t eos_id() const;  // from tokenizer_config.json eos_token when given, else the model's
  // Whether the model's own pipeline prepends BOS to a plain prompt (HF post-processor /
  // add_bos_token, GGUF add_bos_token): true for Llama 2/3 and Mistral, false for Qwen.
  bool add_bos_default() const;
  // True for control/special tokens (HF added tokens with special=true, GGUF type 3).
  bool IsSpecial(int32_t id) const;
  // Ids that end a generation: eos_id() plus the end-of-turn tokens present in the vocabulary
  // (<|eot_id|>, <|eom_id|>, <|end_of_text|>, <|im_end|>, <|endoftext|>, </s>, <|end|>), sorted,
  // without duplicates.
  std::vector<int32_t> stop_ids() const;
  // Jinja chat template from tokenizer_config.json or the GGUF ("" when there is none).
  const std::string& chat_template() const;
  // "" normally; otherwise a note on an approximation made at load (e.g. unknown GGUF `pre`).
  const std::string& pre_tokenizer_note() const;

  struct Impl;  // defined in libgem/src/tokenizer/

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gem

#endif  // GEM_TOKENIZER_H_
