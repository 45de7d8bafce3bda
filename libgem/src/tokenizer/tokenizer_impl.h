// Copyright the gem authors. The state behind gem::Tokenizer, shared by the two loaders
// (load_json.cc, load_gguf.cc) and the encode/decode code (tokenizer.cc).
#ifndef GEM_TOKENIZER_TOKENIZER_IMPL_H_
#define GEM_TOKENIZER_TOKENIZER_IMPL_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"
#include "gem/tokenizer.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_merges.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab_index.h"

namespace gem {

struct Tokenizer::Impl {
  enum class Model {
    kByteLevelBpe,  // GPT-2 style: regex split, bytes -> printable code points, rank merges
    kSpmMerges,     // SentencePiece layout, rank merges (tokenizer.json), byte fallback
    kSpmScores,     // SentencePiece, score-driven merges (GGUF "llama"), byte fallback
  };
  // Where a U+2581 is put in front of a text segment (SentencePiece models only).
  enum class SpacePrefix {
    kNone,
    kAlways,      // every segment, unconditionally (HF Prepend normalizer, llama.cpp SPM)
    kMetaAlways,  // every segment not already starting with U+2581 (Metaspace "always")
    kMetaFirst,   // only the segment at the start of the text (Metaspace "first")
  };

  Model model = Model::kByteLevelBpe;
  std::vector<std::string> tokens;   // id -> vocabulary text ("" for an unused id)
  tok::TokenMap token_to_id;         // vocabulary text -> id (regular and added tokens)
  std::vector<uint8_t> is_special;   // id -> 1 for control/special tokens
  std::vector<uint8_t> is_verbatim;  // id -> 1 when decoded as its text (added tokens)
  std::vector<std::string> pieces;   // id -> decoded bytes (filled by Finish())

  tok::BpeMerges merges;      // kByteLevelBpe, kSpmMerges
  std::vector<float> scores;  // kSpmScores
  tok::PreTokenizer pre;      // kByteLevelBpe (and Metaspace split)
  tok::AddedTokenMatcher added;

  bool nfc = false;                      // NFC-normalise text segments (Qwen)
  bool ignore_merges = false;            // a piece that is itself a token is taken whole (Llama 3)
  bool byte_level_prefix_space = false;  // HF ByteLevel add_prefix_space
  bool byte_fallback = false;            // unknown characters become <0xNN> tokens
  bool escape_spaces = false;            // ' ' -> U+2581 (SentencePiece)
  bool metaspace_split = false;          // split before every U+2581 (Metaspace split=true)
  SpacePrefix space_prefix = SpacePrefix::kNone;
  bool strip_leading_space = false;  // Decode drops one leading ' ' (SentencePiece decoders)

  std::array<int32_t, 256> byte_token{};  // byte -> id of its <0xNN> token (or -1)
  std::array<int32_t, 256> byte_char{};   // byte -> id of its byte-level character (or -1)
  int32_t unk_id = -1, bos_id = -1, eos_id = -1;
  std::vector<int32_t> extra_stop_ids;
  bool add_bos_default = false;
  std::string chat_template;
  std::string note;

  Impl() {
    byte_token.fill(-1);
    byte_char.fill(-1);
  }

  // Sets tokens[id] = text (growing the tables), records it in token_to_id unless already
  // there (first id wins, except when `overwrite`).
  void SetToken(int32_t id, std::string text, bool overwrite = false);
  // Completes the tables after a loader filled tokens/flags: byte_token, byte_char, pieces.
  Status Finish();

  // Appends the ids of one text segment (no added tokens inside). `at_text_start` when the
  // segment begins at offset 0 of the caller's text.
  void EncodeSegment(std::string_view segment, bool at_text_start, std::vector<int32_t>* out) const;
};

}  // namespace gem

#endif  // GEM_TOKENIZER_TOKENIZER_IMPL_H_
