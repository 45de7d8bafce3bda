// Copyright the gem authors. Test helpers: llama.cpp vocab test vectors and a minimal GGUF
// metadata reader (test-only; the engine has the real GGUF reader).
#ifndef GEM_TESTS_TOKENIZER_VOCAB_CASES_H_
#define GEM_TESTS_TOKENIZER_VOCAB_CASES_H_

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "gem/tokenizer.h"

namespace gem::testing {

inline std::string SharedTokenizers() { return std::string(GEM_SHARED_DIR) + "/data/tokenizers"; }

inline std::string ReadAll(const std::string& path, size_t max_bytes = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  if (max_bytes == SIZE_MAX) {
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string data(max_bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(max_bytes));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: cases separated by "\n__ggml_vocab_test__\n" (the file ends with one);
// .out: one line of space-separated ids per case. Returns {} when the files are unreadable or
// their case counts differ.
inline std::vector<VocabCase> LoadVocabCases(const std::string& inp, const std::string& out) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  const std::string in = ReadAll(inp);
  std::vector<std::string> texts;
  size_t pos = 0;
  while (true) {
    const size_t hit = in.find(sep, pos);
    if (hit == std::string::npos) break;
    texts.push_back(in.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  std::vector<std::vector<int32_t>> ids;
  std::istringstream lines(ReadAll(out));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> v;
    int32_t x;
    while (ls >> x) v.push_back(x);
    ids.push_back(std::move(v));
  }
  if (texts.empty() || ids.size() != texts.size()) return {};
  std::vector<VocabCase> cases;
  for (size_t i = 0; i < texts.size(); ++i) cases.push_back({texts[i], ids[i]});
  return cases;
}

inline std::string IdsToString(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

// Minimal GGUF (v2/v3) metadata reader: enough to fill a GgufVocab in tests.
class GgufMeta {
 public:
  using Value = std::variant<int64_t, double, bool, std::string, std::vector<std::string>,
                             std::vector<int64_t>, std::vector<double>>;
  // Reads the key-value section only; `max_bytes` bounds what is read of a model file (the
  // metadata sits at the front).
  bool Read(const std::string& path, std::string* error, size_t max_bytes = SIZE_MAX) {
    data_ = ReadAll(path, max_bytes);
    pos_ = 0;
    uint32_t magic = 0, version = 0;
    uint64_t n_tensors = 0, n_kv = 0;
    if (!Get(&magic) || std::memcmp(&magic, "GGUF", 4) != 0) return Fail("bad magic", error);
    if (!Get(&version) || version < 2) return Fail("unsupported version", error);
    if (!Get(&n_tensors) || !Get(&n_kv)) return Fail("truncated header", error);
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string key;
      uint32_t type = 0;
      if (!Str(&key) || !Get(&type)) return Fail("truncated key", error);
      Value v;
      if (!ReadValue(type, &v)) return Fail("bad value for " + key, error);
      kv_[key] = std::move(v);
    }
    return true;
  }
  const Value* Find(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? nullptr : &it->second;
  }
  GgufVocab Vocab() const {
    GgufVocab v;
    auto str = [&](const char* k, std::string* out) {
      if (auto* p = Find(k); p && std::holds_alternative<std::string>(*p)) {
        *out = std::get<std::string>(*p);
      }
    };
    auto i32 = [&](const char* k, int32_t* out) {
      if (auto* p = Find(k); p && std::holds_alternative<int64_t>(*p)) {
        *out = static_cast<int32_t>(std::get<int64_t>(*p));
      }
    };
    auto boolean = [&](const char* k, bool* out) {
      if (auto* p = Find(k); p && std::holds_alternative<bool>(*p)) *out = std::get<bool>(*p);
    };
    str("tokenizer.ggml.model", &v.model);
    str("tokenizer.ggml.pre", &v.pre);
    str("tokenizer.chat_template", &v.chat_template);
    if (auto* p = Find("tokenizer.ggml.tokens")) v.tokens = std::get<std::vector<std::string>>(*p);
    if (auto* p = Find("tokenizer.ggml.merges")) v.merges = std::get<std::vector<std::string>>(*p);
    if (auto* p = Find("tokenizer.ggml.scores")) {
      for (double d : std::get<std::vector<double>>(*p)) v.scores.push_back(static_cast<float>(d));
    }
    if (auto* p = Find("tokenizer.ggml.token_type")) {
      for (int64_t t : std::get<std::vector<int64_t>>(*p)) {
        v.token_types.push_back(static_cast<int32_t>(t));
      }
    }
    i32("tokenizer.ggml.bos_token_id", &v.bos_id);
    i32("tokenizer.ggml.eos_token_id", &v.eos_id);
    i32("tokenizer.ggml.unknown_token_id", &v.unk_id);
    i32("tokenizer.ggml.padding_token_id", &v.pad_id);
    i32("tokenizer.ggml.eot_token_id", &v.eot_id);
    boolean("tokenizer.ggml.add_bos_token", &v.add_bos);
    boolean("tokenizer.ggml.add_space_prefix", &v.add_space_prefix);
    return v;
  }

 private:
  bool Fail(const std::string& what, std::string* error) {
    *error = what;
    return false;
  }
  template <typename T>
  bool Get(T* out) {
    if (pos_ + sizeof(T) > data_.size()) return false;
    std::memcpy(out, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Str(std::string* out) {
    uint64_t n = 0;
    if (!Get(&n) || pos_ + n > data_.size()) return false;
    out->assign(data_, pos_, n);
    pos_ += n;
    return true;
  }
  bool Scalar(uint32_t type, int64_t* i, double* d, bool* b) {
    switch (type) {
      case 0: {
        uint8_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 1: {
        int8_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 2: {
        uint16_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 3: {
        int16_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 4: {
        uint32_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 5: {
        int32_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 6: {
        float x;
        if (!Get(&x)) return false;
        *d = x;
        return true;
      }
      case 7: {
        uint8_t x;
        if (!Get(&x)) return false;
        *b = x != 0;
        return true;
      }
      case 10: {
        uint64_t x;
        if (!Get(&x)) return false;
        *i = static_cast<int64_t>(x);
        return true;
      }
      case 11: {
        int64_t x;
        if (!Get(&x)) return false;
        *i = x;
        return true;
      }
      case 12: {
        double x;
        if (!Get(&x)) return false;
        *d = x;
        return true;
      }
      default:
        return false;
    }
  }
  bool ReadValue(uint32_t type, Value* v) {
    if (type == 8) {
      std::string s;
      if (!Str(&s)) return false;
      *v = std::move(s);
      return true;
    }
    if (type == 9) {
      uint32_t et = 0;
      uint64_t n = 0;
      if (!Get(&et) || !Get(&n)) return false;
      if (et == 8) {
        std::vector<std::string> a(n);
        for (auto& s : a) {
          if (!Str(&s)) return false;
        }
        *v = std::move(a);
      } else if (et == 6 || et == 12) {
        std::vector<double> a(n);
        for (auto& x : a) {
          int64_t i;
          bool b;
          if (!Scalar(et, &i, &x, &b)) return false;
        }
        *v = std::move(a);
      } else {
        std::vector<int64_t> a(n);
        for (auto& x : a) {
          double d;
          bool b;
          if (!Scalar(et, &x, &d, &b)) return false;
        }
        *v = std::move(a);
      }
      return true;
    }
    int64_t i = 0;
    double d = 0;
    bool b = false;
    if (!Scalar(type, &i, &d, &b)) return false;
    if (type == 7) {
      *v = b;
    } else if (type == 6 || type == 12) {
      *v = d;
    } else {
      *v = i;
    }
    return true;
  }

  std::string data_;
  size_t pos_ = 0;
  std::map<std::string, Value> kv_;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_TOKENIZER_VOCAB_CASES_H_
