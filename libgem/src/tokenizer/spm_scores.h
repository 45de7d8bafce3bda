// Copyright the gem authors. SentencePiece BPE driven by piece scores (GGUF "llama" vocab).
//
// The text (spaces already escaped to U+2581) starts as one symbol per character; the adjacent
// pair whose concatenation is a vocabulary piece with the highest score merges first (leftmost
// on ties), as SentencePiece's BPE and llama.cpp's llm_tokenizer_spm do. Symbols that are not
// pieces at the end fall back to <0xNN> byte tokens.
#ifndef GEM_TOKENIZER_SPM_SCORES_H_
#define GEM_TOKENIZER_SPM_SCORES_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tokenizer/vocab_index.h"

namespace gem::tok {

// Appends the ids of `text` to `out`. `byte_ids[b]` is the id of <0xNN> for byte b (or -1, then
// `unk_id` is used).
void SpmScoresEncode(std::string_view text, const TokenMap& vocab, std::span<const float> scores,
                     const std::array<int32_t, 256>& byte_ids, int32_t unk_id,
                     std::vector<int32_t>* out);

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_SPM_SCORES_H_
