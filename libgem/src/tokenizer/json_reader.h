// Copyright the gem authors. Streaming reader for tokenizer.json.
//
// A DOM of a 9-11 MB tokenizer.json spends most of its time building a std::map for the vocab
// and a JSON value per merge. This SAX reader streams model.vocab and model.merges into flat
// vectors and keeps a DOM only for the rest (normalizer, pre_tokenizer, added_tokens, ...).
#ifndef GEM_TOKENIZER_JSON_READER_H_
#define GEM_TOKENIZER_JSON_READER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gem/status.h"

namespace gem::tok {

struct TokenizerJson {
  nlohmann::json root;  // the file without model.vocab and model.merges
  bool has_vocab = false;
  std::vector<std::pair<std::string, int64_t>> vocab;       // model.vocab, in file order
  std::vector<std::pair<std::string, std::string>> merges;  // model.merges, either form
};

// Parses `text`. Corruption (message without the path) when it is not JSON, or model.vocab /
// model.merges have the wrong shape.
Status ReadTokenizerJson(const std::string& text, TokenizerJson* out);

}  // namespace gem::tok

#endif  // GEM_TOKENIZER_JSON_READER_H_
