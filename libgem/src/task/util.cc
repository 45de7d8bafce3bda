// Copyright the gem authors. Small helpers shared by the task loaders and graders.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gem/file.h"
#include "task/internal.h"

namespace gem::task {

Status ForEachJsonLineInText(std::string_view text, std::string_view origin,
                             const std::function<Status(size_t, const Json&)>& fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = std::string(origin) + ":" + std::to_string(line_no);
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Corruption(where, "not valid JSON");
    if (!j.is_object()) return Status::Corruption(where, "expected a JSON object");
    Status s;
    try {
      s = fn(line_no, j);
    } catch (const std::exception& e) {  // nlohmann type errors: keep them inside the part
      s = Status::Corruption(e.what());
    }
    if (!s.ok()) return s.WithContext(where);
  }
  return Status::OK();
}

Status ForEachJsonLine(const std::string& path,
                       const std::function<Status(size_t, const Json&)>& fn) {
  std::string text;
  if (Status st = ReadRegularFile(path, kMaxTaskFileBytes, &text); !st.ok()) {
    return st.IsNotFound()
               ? Status::NotFound(path, "cannot open (set --data-dir or GEM_TASKS_DIR?)")
               : st;
  }
  return ForEachJsonLineInText(text, path, fn);
}

Result<std::string> GetString(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Corruption(std::string("missing \"") + key + "\"");
  if (!it->is_string()) return Status::Corruption(std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

std::string Canonical(const Json& j) { return j.dump(); }  // nlohmann objects are key-sorted

Result<bool> ParamBool(const Json& p, const char* grader, const char* key, bool def) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  if (!it->is_boolean()) {
    return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                   std::string("param \"") + key + "\" must be true or false");
  }
  return it->get<bool>();
}

Result<std::string> ParamString(const Json& p, const char* grader, const char* key,
                                std::string def) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                   std::string("param \"") + key + "\" must be a string");
  }
  return it->get<std::string>();
}

Result<double> ParamNumber(const Json& p, const char* grader, const char* key, double def) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  if (!it->is_number()) {
    return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                   std::string("param \"") + key + "\" must be a number");
  }
  return it->get<double>();
}

Result<std::vector<std::string>> ParamStrings(const Json& p, const char* grader, const char* key) {
  std::vector<std::string> out;
  auto it = p.find(key);
  if (it == p.end()) return out;
  bool ok = it->is_array();
  if (ok) {
    for (const auto& e : *it) {
      if (!e.is_string()) {
        ok = false;
        break;
      }
      out.push_back(e.get<std::string>());
    }
  }
  if (!ok) {
    return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                   std::string("param \"") + key + "\" must be a list of strings");
  }
  return out;
}

Status CheckKeys(const Json& p, const char* grader, std::initializer_list<const char*> allowed) {
  if (!p.is_object()) {
    return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                   "params must be a JSON object");
  }
  for (const auto& [k, v] : p.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument(std::string("grader '") + grader + "'",
                                     "unknown param \"" + k + "\" (known: " +
                                         (list.empty() ? "none" : list) + ")");
    }
  }
  return Status::OK();
}

std::string Snippet(std::string_view text, size_t max) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max) {
      // Do not cut a UTF-8 sequence in half.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
      return out + "...";
    }
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  return out;
}

bool ParseNumber(std::string_view text, double* value) {
  std::string s;
  for (char c : text) {
    if (c != ',' && c != '$' && !std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  }
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty()) return false;
  // Only plain decimal numbers: strtod would also accept "inf", "nan" and hex.
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digit = false;
  for (size_t k = i; k < s.size(); ++k) {
    char c = s[k];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
      return false;
    }
  }
  if (!digit) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *value = v;
  return true;
}

}  // namespace gem::task
