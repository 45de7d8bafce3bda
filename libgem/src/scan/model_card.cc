// Copyright the gem authors. Model cards: the YAML front matter of a README.md, read with
// yaml-cpp (the Hub's card metadata, https://huggingface.co/docs/hub/model-cards).
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scan/scan_internal.h"

namespace gem::scan_internal {
namespace {

namespace fs = std::filesystem;

std::string Describe(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "empty";
  return "'" + n.Scalar() + "'";
}

// A string or a list of strings; false (and *why) otherwise.
bool StringList(const YAML::Node& n, std::vector<std::string>* out, std::string* why) {
  if (n.IsNull()) return true;
  if (n.IsScalar()) {
    if (!n.Scalar().empty()) out->push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    *why = "is " + Describe(n) + ", not a string or a list of strings";
    return false;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      *why = "has an item that is " + Describe(item) + ", not a string";
      return false;
    }
    out->push_back(item.Scalar());
  }
  return true;
}

}  // namespace

ModelCard ReadModelCard(const std::string& readme) {
  ModelCard card;
  std::error_code ec;
  if (!fs::is_regular_file(readme, ec)) return card;
  card.present = true;
  const std::string file = fs::path(readme).filename().string();
  std::ifstream in(readme, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return card;
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != "---") return card;  // no front matter: a card without metadata
  card.has_front_matter = true;
  std::ostringstream yaml;
  bool closed = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "---" || line == "...") {
      closed = true;
      break;
    }
    yaml << line << "\n";
  }
  if (!closed) {
    card.errors.push_back(file + ": the front matter opened by '---' on line 1 is never closed");
    return card;
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml.str());
  } catch (const YAML::Exception& e) {
    // The mark is 0-based within the front matter, which starts on the file's line 2.
    card.errors.push_back(file + " line " + std::to_string(e.mark.line + 2) + ", column " +
                          std::to_string(e.mark.column + 1) +
                          ": the front matter is not valid YAML (" + e.msg + ")");
    return card;
  }
  if (root.IsNull()) return card;
  if (!root.IsMap()) {
    card.errors.push_back(file + ": the front matter is " + Describe(root) +
                          ", not a mapping of keys");
    return card;
  }
  try {
    std::string why;
    if (const YAML::Node b = root["base_model"]; b) {
      if (!StringList(b, &card.base_models, &why)) {
        card.errors.push_back(file + ": base_model " + why);
      }
    }
    if (const YAML::Node r = root["base_model_relation"]; r && !r.IsNull()) {
      if (!r.IsScalar()) {
        card.errors.push_back(file + ": base_model_relation is " + Describe(r) +
                              ", not one of adapter, merge, quantized, finetune");
      } else {
        card.relation = r.Scalar();
      }
    }
    if (const YAML::Node t = root["tags"]; t) {
      std::vector<std::string> tags;
      if (StringList(t, &tags, &why)) {
        card.tags = std::move(tags);
      } else {
        card.warnings.push_back(file + ": tags " + why + " (tags ignored)");
      }
    }
    if (const YAML::Node d = root["downloads"]; d && !d.IsNull()) {
      int64_t v = -1;
      if (!d.IsScalar() || !YAML::convert<int64_t>::decode(d, v) || v < 0) {
        card.warnings.push_back(file + ": downloads is " + Describe(d) +
                                ", not a whole number >= 0 (ignored)");
      } else {
        card.downloads = v;
      }
    }
  } catch (const YAML::Exception& e) {  // yaml-cpp's accessors may throw on odd documents
    card.errors.push_back(file + ": " + e.what());
  }
  return card;
}

}  // namespace gem::scan_internal
