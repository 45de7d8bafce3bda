// Copyright the gem authors.
#include "tokenizer/json_reader.h"

namespace gem::tok {
namespace {

using nlohmann::json;

class Reader : public nlohmann::json_sax<json> {
 public:
  explicit Reader(TokenizerJson* out) : out_(out) {}
  const std::string& error() const { return error_; }

  bool null() override { return Value(json()); }
  bool boolean(bool v) override { return Value(json(v)); }
  bool number_integer(number_integer_t v) override { return Integer(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return Integer(v > static_cast<number_unsigned_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ != Mode::kDom) return Fail("a number where a token or merge was expected");
    return Value(json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) {
      const size_t sp = v.find(' ', 1);
      if (sp == std::string::npos) return Fail("merge without a space: " + v);
      out_->merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      if (pair_n_ >= 2) return Fail("merge pair with more than two entries");
      (pair_n_++ == 0 ? pair_.first : pair_.second) = std::move(v);
      return true;
    }
    if (mode_ == Mode::kVocab) return Fail("vocab value for '" + key_ + "' is not an id");
    return Value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return Fail("binary value"); }

  bool start_object(std::size_t) override {
    if (mode_ != Mode::kDom) return Fail("an object inside model.vocab or model.merges");
    if (InModel() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      out_->has_vocab = true;
      return true;
    }
    return Push(json::object());
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_n_ = 0;
      return true;
    }
    if (mode_ != Mode::kDom) return Fail("an array inside model.vocab or a merge pair");
    if (InModel() && key_ == "merges") {
      mode_ = Mode::kMerges;
      return true;
    }
    return Push(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_n_ != 2) return Fail("merge pair without two strings");
      out_->merges.push_back(std::move(pair_));
      pair_ = {};
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& e) override {
    return Fail("not valid JSON (byte " + std::to_string(pos) + "): " + e.what());
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  // True when the container being filled is root["model"].
  bool InModel() const { return stack_.size() == 2 && stack_[0] == &out_->root && in_model_; }

  bool Integer(int64_t v) {
    if (mode_ == Mode::kVocab) {
      out_->vocab.emplace_back(key_, v);
      return true;
    }
    if (mode_ != Mode::kDom) return Fail("a number inside model.merges");
    return Value(json(v));
  }
  // Places `v` in the current container; returns a pointer to where it went.
  json* Place(json&& v) {
    if (stack_.empty()) {
      out_->root = std::move(v);
      return &out_->root;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Value(json&& v) {
    Place(std::move(v));
    return true;
  }
  bool Push(json&& container) {
    const bool model = stack_.size() == 1 && key_ == "model" && stack_[0]->is_object();
    json* at = Place(std::move(container));
    stack_.push_back(at);
    if (stack_.size() == 2) in_model_ = model;
    return true;
  }
  bool Fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    return false;
  }

  TokenizerJson* out_;
  std::vector<json*> stack_;
  std::string key_;
  Mode mode_ = Mode::kDom;
  bool in_model_ = false;
  std::pair<std::string, std::string> pair_;
  int pair_n_ = 0;
  std::string error_;
};

}  // namespace

Status ReadTokenizerJson(const std::string& text, TokenizerJson* out) {
  Reader reader(out);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &reader);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("not valid JSON: ") + e.what());
  }
  if (!ok) {
    return Status::Corruption(reader.error().empty() ? "not valid JSON" : reader.error());
  }
  return Status::OK();
}

}  // namespace gem::tok
