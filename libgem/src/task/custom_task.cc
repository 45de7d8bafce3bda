// Copyright the gem authors. Custom tasks: a user's JSONL of prompts, answers and graders.
//
// Format "gem-task/1" (docs/TASKS.md is the reference): an optional first line
// {"format": "gem-task/1", ...defaults} and one object per query:
//   {"id": "q1", "prompt": "...", "answer": "...", "grader": "exact" | {"name": ..., params},
//    "system": "...", "max_new_tokens": 50, "stop": ["..."], "meta": {...}}
// Unknown keys are errors (a misspelt "grader" must not silently fall back to a default).
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gem/file.h"
#include "gem/prompt.h"
#include "task/internal.h"

namespace gem {

namespace {

using task::Json;

constexpr std::string_view kFormat = "gem-task/1";

struct Defaults {
  bool has_grader = false;
  GraderSpec grader;
  std::string system = std::string(kFallbackSystemPrompt);
  uint32_t max_new_tokens = 0;  // 0: by grader (512 for gsm8k/mbpp, else 50)
  std::vector<std::string> stop;
};

Result<GraderSpec> ParseGrader(const Json& g) {
  GraderSpec spec;
  if (g.is_string()) {
    spec.name = g.get<std::string>();
    spec.params = "{}";
  } else if (g.is_object()) {
    auto name = g.find("name");
    if (name == g.end() || !name->is_string()) {
      return Status::Corruption("\"grader\" object needs a \"name\"");
    }
    spec.name = name->get<std::string>();
    Json params = g;
    params.erase("name");
    spec.params = task::Canonical(params);
  } else {
    return Status::Corruption("\"grader\" must be a name or an object with a \"name\"");
  }
  Status s = ValidateGraderSpec(spec);
  if (!s.ok()) return Status::Corruption(s.message());
  return spec;
}

Result<uint32_t> ParseTokens(const Json& v) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > 1u << 20) {
    return Status::Corruption("\"max_new_tokens\" must be a positive integer");
  }
  return static_cast<uint32_t>(v.get<uint64_t>());
}

Result<std::vector<std::string>> ParseStop(const Json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return Status::Corruption("\"stop\" must be a list of strings");
  for (const auto& e : v) {
    if (!e.is_string() || e.get<std::string>().empty()) {
      return Status::Corruption("\"stop\" must be a list of non-empty strings");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::string> ParseAnswer(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  if (v.is_array()) {  // e.g. a list of asserts for the "mbpp" grader
    std::string out;
    for (const auto& e : v) {
      if (!e.is_string()) return Status::Corruption("\"answer\" list must hold strings");
      out += (out.empty() ? "" : "\n") + e.get<std::string>();
    }
    return out;
  }
  return Status::Corruption("\"answer\" must be a string, a number or a list of strings");
}

}  // namespace

Result<std::shared_ptr<const Task>> ParseCustomTask(std::string_view name, std::string_view text,
                                                    std::string_view origin,
                                                    const TaskOptions& options) {
  if (name.empty()) return Status::InvalidArgument("custom task name is empty");
  Defaults defaults;
  std::vector<Query> rows;
  std::set<std::string> ids;
  bool first = true;
  Status s = task::ForEachJsonLineInText(text, origin, [&](size_t line, const Json& j) -> Status {
    const bool is_first = first;
    first = false;
    if (j.contains("format")) {
      if (!is_first) return Status::Corruption("\"format\" header must be the first line");
      if (!j["format"].is_string() || j["format"].get<std::string>() != kFormat) {
        return Status::NotSupported("task format " + j["format"].dump(),
                                    "this gem reads \"" + std::string(kFormat) + "\"");
      }
      for (const auto& [k, v] : j.items()) {
        if (k == "format") continue;
        if (k == "grader") {
          auto g = ParseGrader(v);
          if (!g.ok()) return g.status();
          defaults.grader = *g;
          defaults.has_grader = true;
        } else if (k == "system") {
          if (!v.is_string()) return Status::Corruption("\"system\" must be a string");
          defaults.system = v.get<std::string>();
        } else if (k == "max_new_tokens") {
          auto t = ParseTokens(v);
          if (!t.ok()) return t.status();
          defaults.max_new_tokens = *t;
        } else if (k == "stop") {
          auto st = ParseStop(v);
          if (!st.ok()) return st.status();
          defaults.stop = *st;
        } else if (k != "meta") {
          return Status::Corruption("unknown header key \"" + k + "\"");
        }
      }
      return Status::OK();
    }
    Query q;
    q.source = std::string(name);
    q.system = defaults.system;
    q.stop = defaults.stop;
    uint32_t tokens = defaults.max_new_tokens;
    bool has_prompt = false, has_answer = false, has_grader = defaults.has_grader;
    if (defaults.has_grader) q.grader = defaults.grader;
    std::string id = std::to_string(rows.size() + 1);
    for (const auto& [k, v] : j.items()) {
      if (k == "prompt") {
        if (!v.is_string() || v.get<std::string>().empty()) {
          return Status::Corruption("\"prompt\" must be a non-empty string");
        }
        q.user = v.get<std::string>();
        has_prompt = true;
      } else if (k == "answer") {
        auto a = ParseAnswer(v);
        if (!a.ok()) return a.status();
        q.reference = *a;
        has_answer = true;
      } else if (k == "grader") {
        auto g = ParseGrader(v);
        if (!g.ok()) return g.status();
        q.grader = *g;
        has_grader = true;
      } else if (k == "id") {
        if (v.is_string() && !v.get<std::string>().empty()) {
          id = v.get<std::string>();
        } else if (v.is_number_integer()) {
          id = v.dump();
        } else {
          return Status::Corruption("\"id\" must be a non-empty string or an integer");
        }
      } else if (k == "system") {
        if (!v.is_string()) return Status::Corruption("\"system\" must be a string");
        q.system = v.get<std::string>();
      } else if (k == "max_new_tokens") {
        auto t = ParseTokens(v);
        if (!t.ok()) return t.status();
        tokens = *t;
      } else if (k == "stop") {
        auto st = ParseStop(v);
        if (!st.ok()) return st.status();
        q.stop = *st;
      } else if (k != "meta") {
        return Status::Corruption("unknown key \"" + k +
                                  "\" (known: id, prompt, answer, grader, system, "
                                  "max_new_tokens, stop, meta)");
      }
    }
    if (!has_prompt) return Status::Corruption("missing \"prompt\"");
    if (!has_answer) return Status::Corruption("missing \"answer\"");
    if (!has_grader) return Status::Corruption("missing \"grader\" (and no default in a header)");
    if (tokens == 0) {
      tokens = (q.grader.name == "gsm8k" || q.grader.name == "mbpp") ? task::kLongAnswerTokens
                                                                     : task::kShortAnswerTokens;
    }
    q.max_new_tokens = tokens;
    q.id = std::string(name) + "/" + id;
    if (!ids.insert(q.id).second) return Status::Corruption("duplicate id \"" + id + "\"");
    task::Finalize(q, options);
    rows.push_back(std::move(q));
    (void)line;
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (rows.empty()) return Status::InvalidArgument(std::string(origin), "holds no queries");
  return std::make_shared<const Task>(std::string(name), task::OrderAndTrim(std::move(rows), options));
}

Result<std::shared_ptr<const Task>> LoadCustomTask(std::string_view name,
                                                   const std::string& path,
                                                   const TaskOptions& options) {
  std::string text;
  if (Status st = ReadRegularFile(path, kMaxTaskFileBytes, &text); !st.ok()) {
    return st.IsNotFound() ? Status::NotFound(path, "cannot open custom task file") : st;
  }
  return ParseCustomTask(name, text, path, options);
}

}  // namespace gem
