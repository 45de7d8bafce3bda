// Copyright the gem authors. Encoding, decoding and the accessors of gem::Tokenizer.
#include "gem/tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/spm_scores.h"
#include "tokenizer/text_util.h"
#include "tokenizer/tokenizer_impl.h"

namespace gem {
namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 '▁'

// Parses "<0xNN>" (SentencePiece byte pieces); -1 otherwise.
int ParseByteToken(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  int v = 0;
  for (char c : t.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace

void Tokenizer::Impl::SetToken(int32_t id, std::string text, bool overwrite) {
  if (static_cast<size_t>(id) >= tokens.size()) {
    tokens.resize(id + 1);
    is_special.resize(id + 1, 0);
    is_verbatim.resize(id + 1, 0);
  }
  if (overwrite) {
    token_to_id[text] = id;
  } else {
    token_to_id.try_emplace(text, id);
  }
  tokens[id] = std::move(text);
}

Status Tokenizer::Impl::Finish() {
  const size_t n = tokens.size();
  if (n == 0) return Status::Corruption("vocabulary is empty");
  is_special.resize(n, 0);
  is_verbatim.resize(n, 0);
  for (size_t id = 0; id < n; ++id) {
    const int b = ParseByteToken(tokens[id]);
    if (b >= 0 && byte_token[b] < 0 && !is_verbatim[id]) byte_token[b] = static_cast<int32_t>(id);
  }
  if (model == Model::kByteLevelBpe) {
    for (int b = 0; b < 256; ++b) byte_char[b] = tok::Lookup(token_to_id, tok::ByteToUnicode(b));
  }
  pieces.assign(n, std::string());
  for (size_t id = 0; id < n; ++id) {
    const std::string& t = tokens[id];
    if (is_verbatim[id]) {
      pieces[id] = t;
    } else if (model == Model::kByteLevelBpe) {
      auto bytes = tok::ByteLevelDecode(t);
      pieces[id] = bytes ? std::move(*bytes) : t;
    } else {
      const int b = ParseByteToken(t);
      if (b >= 0 && byte_token[b] == static_cast<int32_t>(id)) {
        pieces[id] = std::string(1, static_cast<char>(b));
      } else {
        pieces[id] = ReplaceAll(t, kMetaspace, " ");
      }
    }
  }
  if (unk_id >= static_cast<int32_t>(n)) unk_id = -1;
  if (bos_id >= static_cast<int32_t>(n)) bos_id = -1;
  if (eos_id >= static_cast<int32_t>(n)) eos_id = -1;
  return Status::OK();
}

void Tokenizer::Impl::EncodeSegment(std::string_view segment, bool at_text_start,
                                    std::vector<int32_t>* out) const {
  std::string text = nfc ? tok::NormalizeNfc(segment) : std::string(segment);
  if (text.empty()) return;

  if (model == Model::kByteLevelBpe) {
    if (byte_level_prefix_space && text[0] != ' ') text.insert(text.begin(), ' ');
    std::vector<int32_t> ids;
    std::string mapped;
    for (std::string_view piece : pre.Split(text)) {
      if (ignore_merges) {
        mapped.clear();
        tok::ByteLevelEncode(piece, &mapped);
        const int32_t id = tok::Lookup(token_to_id, mapped);
        if (id >= 0) {
          out->push_back(id);
          continue;
        }
      }
      ids.clear();
      for (unsigned char c : piece) {
        const int32_t id = byte_char[c] >= 0 ? byte_char[c] : unk_id;
        if (id >= 0) ids.push_back(id);
      }
      merges.Apply(&ids);
      out->insert(out->end(), ids.begin(), ids.end());
    }
    return;
  }

  // SentencePiece layouts.
  if (escape_spaces) text = ReplaceAll(text, " ", kMetaspace);
  const bool starts_meta = std::string_view(text).substr(0, kMetaspace.size()) == kMetaspace;
  switch (space_prefix) {
    case SpacePrefix::kNone:
      break;
    case SpacePrefix::kAlways:
      text.insert(0, kMetaspace);
      break;
    case SpacePrefix::kMetaAlways:
      if (!starts_meta) text.insert(0, kMetaspace);
      break;
    case SpacePrefix::kMetaFirst:
      if (at_text_start && !starts_meta) text.insert(0, kMetaspace);
      break;
  }

  if (model == Model::kSpmScores) {
    tok::SpmScoresEncode(text, token_to_id, scores, byte_token, unk_id, out);
    return;
  }

  // kSpmMerges: characters -> ids (byte fallback for unknown ones) -> rank merges.
  std::vector<std::string_view> words;
  if (metaspace_split) {
    size_t start = 0;
    for (size_t pos = text.find(kMetaspace, 1); pos != std::string::npos;
         pos = text.find(kMetaspace, pos + 1)) {
      words.push_back(std::string_view(text).substr(start, pos - start));
      start = pos;
    }
    words.push_back(std::string_view(text).substr(start));
  } else {
    words.push_back(text);
  }
  std::vector<int32_t> ids;
  for (std::string_view word : words) {
    ids.clear();
    for (size_t i = 0; i < word.size();) {
      const size_t len =
          std::min(tok::Utf8SeqLen(static_cast<unsigned char>(word[i])), word.size() - i);
      const std::string_view ch = word.substr(i, len);
      const int32_t id = tok::Lookup(token_to_id, ch);
      if (id >= 0) {
        ids.push_back(id);
      } else if (byte_fallback) {
        bool all = true;
        for (unsigned char c : ch) all &= byte_token[c] >= 0;
        if (all) {
          for (unsigned char c : ch) ids.push_back(byte_token[c]);
        } else if (unk_id >= 0) {
          ids.push_back(unk_id);
        }
      } else if (unk_id >= 0) {
        ids.push_back(unk_id);
      }
      i += len;
    }
    merges.Apply(&ids);
    out->insert(out->end(), ids.begin(), ids.end());
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && impl_->bos_id >= 0) out.push_back(impl_->bos_id);
  const std::string clean = tok::SanitizeUtf8(text);
  const std::string_view all(clean);
  for (const auto& seg : impl_->added.Split(all, parse_special)) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
    } else {
      impl_->EncodeSegment(seg.text, seg.text.data() == all.data(), &out);
    }
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  const auto n = static_cast<int32_t>(impl_->pieces.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= n) continue;
    if (skip_special && impl_->is_special[id]) continue;
    out.append(impl_->pieces[id]);
  }
  if (impl_->strip_leading_space && !out.empty() && out[0] == ' ') out.erase(0, 1);
  // Byte tokens can end mid-character (e.g. generation stopped by a length limit); callers put
  // this text into JSON and msgpack strings, so it must be valid UTF-8, as HF's decode is.
  return tok::SanitizeUtf8(out);
}

std::string Tokenizer::TokenPiece(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(impl_->pieces.size())) return {};
  return impl_->pieces[id];
}

const std::string& Tokenizer::TokenText(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= static_cast<int32_t>(impl_->tokens.size())) return kEmpty;
  return impl_->tokens[id];
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  const int32_t id = tok::Lookup(impl_->token_to_id, token);
  if (id < 0) return std::nullopt;
  return id;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }
int32_t Tokenizer::bos_id() const { return impl_->bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->eos_id; }
bool Tokenizer::add_bos_default() const { return impl_->add_bos_default && impl_->bos_id >= 0; }

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < static_cast<int32_t>(impl_->is_special.size()) && impl_->is_special[id];
}

std::vector<int32_t> Tokenizer::stop_ids() const {
  std::vector<int32_t> ids = impl_->extra_stop_ids;
  if (impl_->eos_id >= 0) ids.push_back(impl_->eos_id);
  for (const char* name : {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>",
                           "<|endoftext|>", "</s>", "<|end|>"}) {
    const int32_t id = tok::Lookup(impl_->token_to_id, name);
    // Only as a control/added token: a byte-level vocabulary could spell the text as a word.
    if (id >= 0 && (impl_->is_special[id] || impl_->is_verbatim[id])) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::string& Tokenizer::pre_tokenizer_note() const { return impl_->note; }

}  // namespace gem
