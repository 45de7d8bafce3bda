// Copyright the gem authors. GradeOutput: the dispatch from a query's GraderSpec to a grader.
#include "gem/grader.h"

#include "task/internal.h"
#include "task/regex.h"

namespace gem {

namespace {

using task::Json;

Result<Json> ParseParams(const GraderSpec& spec) {
  Json p = Json::parse(spec.params.empty() ? std::string("{}") : spec.params, nullptr, false);
  if (p.is_discarded() || !p.is_object()) {
    return Status::InvalidArgument("grader '" + spec.name + "'", "params are not a JSON object");
  }
  return p;
}

}  // namespace

std::vector<std::string> GraderNames() {
  return {"choice", "winogrande", "gsm8k", "mbpp", "exact", "regex", "numeric"};
}

Status ValidateGraderSpec(const GraderSpec& spec) {
  auto p = ParseParams(spec);
  if (!p.ok()) return p.status();
  const Json& j = *p;
  const char* n = spec.name.c_str();
  try {
    if (spec.name == "choice") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"letters", "texts"}));
      auto letters = task::ParamString(j, n, "letters", "ABCD");
      if (!letters.ok()) return letters.status();
      if (letters->empty() || letters->size() > 26) {
        return Status::InvalidArgument("grader 'choice'", "\"letters\" must hold 1-26 letters");
      }
      for (char c : *letters) {
        if (c < 'A' || c > 'Z') {
          return Status::InvalidArgument("grader 'choice'", "\"letters\" must be capitals A-Z");
        }
      }
      auto texts = task::ParamStrings(j, n, "texts");
      if (!texts.ok()) return texts.status();
      if (!texts->empty() && texts->size() != letters->size()) {
        return Status::InvalidArgument("grader 'choice'", "\"texts\" needs one text per letter");
      }
    } else if (spec.name == "winogrande") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"texts"}));
      auto texts = task::ParamStrings(j, n, "texts");
      if (!texts.ok()) return texts.status();
      if (!texts->empty() && texts->size() != 2) {
        return Status::InvalidArgument("grader 'winogrande'", "\"texts\" must hold 2 options");
      }
    } else if (spec.name == "gsm8k") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"mode"}));
      auto mode = task::ParamString(j, n, "mode", "flexible");
      if (!mode.ok()) return mode.status();
      if (*mode != "flexible" && *mode != "strict") {
        return Status::InvalidArgument("grader 'gsm8k'", "\"mode\" must be flexible or strict");
      }
    } else if (spec.name == "mbpp") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"setup", "imports", "timeout_ms", "memory_mb"}));
      auto setup = task::ParamString(j, n, "setup", "");
      if (!setup.ok()) return setup.status();
      auto imports = task::ParamStrings(j, n, "imports");
      if (!imports.ok()) return imports.status();
      auto t = task::ParamNumber(j, n, "timeout_ms", 3000);
      if (!t.ok()) return t.status();
      if (*t < 100 || *t > 600000) {
        return Status::InvalidArgument("grader 'mbpp'", "\"timeout_ms\" must be 100-600000");
      }
      auto m = task::ParamNumber(j, n, "memory_mb", 1024);
      if (!m.ok()) return m.status();
      if (*m < 64 || *m > 65536) {
        return Status::InvalidArgument("grader 'mbpp'", "\"memory_mb\" must be 64-65536");
      }
    } else if (spec.name == "exact") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"ignore_case", "ignore_punctuation", "scope"}));
      for (const char* k : {"ignore_case", "ignore_punctuation"}) {
        auto b = task::ParamBool(j, n, k, false);
        if (!b.ok()) return b.status();
      }
      auto scope = task::ParamString(j, n, "scope", "full");
      if (!scope.ok()) return scope.status();
      if (*scope != "full" && *scope != "first_line" && *scope != "prefix") {
        return Status::InvalidArgument("grader 'exact'",
                                       "\"scope\" must be full, first_line or prefix");
      }
    } else if (spec.name == "regex") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"pattern", "ignore_case", "select", "match_only"}));
      auto pattern = task::ParamString(j, n, "pattern", "");
      if (!pattern.ok()) return pattern.status();
      if (pattern->empty()) return Status::InvalidArgument("grader 'regex'", "needs a \"pattern\"");
      auto re = task::Regex::Compile(*pattern);
      if (!re.ok()) return re.status().WithContext("grader 'regex'");
      for (const char* k : {"ignore_case", "match_only"}) {
        auto b = task::ParamBool(j, n, k, false);
        if (!b.ok()) return b.status();
      }
      auto sel = task::ParamString(j, n, "select", "first");
      if (!sel.ok()) return sel.status();
      if (*sel != "first" && *sel != "last") {
        return Status::InvalidArgument("grader 'regex'", "\"select\" must be first or last");
      }
    } else if (spec.name == "numeric") {
      GEM_RETURN_IF_ERROR(task::CheckKeys(j, n, {"extract", "abs_tol", "rel_tol"}));
      auto ex = task::ParamString(j, n, "extract", "last");
      if (!ex.ok()) return ex.status();
      if (*ex != "first" && *ex != "last") {
        return Status::InvalidArgument("grader 'numeric'", "\"extract\" must be first or last");
      }
      for (const char* k : {"abs_tol", "rel_tol"}) {
        auto v = task::ParamNumber(j, n, k, 0);
        if (!v.ok()) return v.status();
        if (*v < 0) return Status::InvalidArgument("grader 'numeric'", std::string(k) + " < 0");
      }
    } else {
      std::string known;
      for (const auto& g : GraderNames()) known += (known.empty() ? "" : ", ") + g;
      return Status::InvalidArgument("grader '" + spec.name + "'", "unknown (known: " + known + ")");
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("grader '" + spec.name + "'", e.what());
  }
  return Status::OK();
}

Result<Grade> GradeOutput(const Query& query, std::string_view output, const SandboxHost& host) {
  GEM_RETURN_IF_ERROR(ValidateGraderSpec(query.grader));
  auto p = ParseParams(query.grader);
  if (!p.ok()) return p.status();
  try {
    const std::string& n = query.grader.name;
    if (n == "choice") return task::GradeChoice(query, output, *p);
    if (n == "winogrande") return task::GradeWinogrande(query, output, *p);
    if (n == "gsm8k") return task::GradeGsm8k(query, output, *p);
    if (n == "mbpp") return task::GradeMbpp(query, output, *p, host);
    if (n == "exact") return task::GradeExact(query, output, *p);
    if (n == "regex") return task::GradeRegex(query, output, *p);
    if (n == "numeric") return task::GradeNumeric(query, output, *p);
  } catch (const std::exception& e) {
    return Status::Internal("grader '" + query.grader.name + "'", e.what());
  }
  return Status::InvalidArgument("grader '" + query.grader.name + "'", "unknown");
}

}  // namespace gem
