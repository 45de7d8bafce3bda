// Copyright the gem authors. The MBPP execution grader ("mbpp").
//
// The program is what lm-evaluation-harness (via HF code_eval) and OpenCompass run: the
// candidate code, a newline, then the asserts; `imports` go first and `setup` (test_setup_code)
// between the code and the asserts, since MBPP's one setup (task 367) uses the solution's class. It passes when it runs to the end without raising, within the time limit (3 s, HF
// code_eval's default), in the sandbox.
#include <signal.h>
#include <string.h>

#include "task/internal.h"
#include "task/regex.h"

namespace gem {

std::string ExtractCode(std::string_view output) {
  static const task::Regex begin_done = task::Regex::MustCompile(
      "\\[BEGIN\\]\\s*'?(.*?)'?\\s*\\[DONE\\]", 0x00000020u /* PCRE2_DOTALL */);
  static const task::Regex fenced = task::Regex::MustCompile(
      "```[ \\t]*(?:[Pp]ython3?|py)?[ \\t]*\\r?\\n(.*?)```", 0x00000020u);
  static const task::Regex open_fence = task::Regex::MustCompile(
      "```[ \\t]*(?:[Pp]ython3?|py)?[ \\t]*\\r?\\n(.*)$", 0x00000020u);
  static const task::Regex begin_only =
      task::Regex::MustCompile("\\[BEGIN\\]\\s*(.*)$", 0x00000020u);
  std::string code;
  bool found = false;
  for (const task::Regex* re : {&begin_done, &fenced, &open_fence, &begin_only}) {
    auto m = re->FindFirst(output);
    if (!m.empty()) {
      code = std::string(task::Regex::Group(output, m, 1));
      found = true;
      break;
    }
  }
  if (!found) code = std::string(output);
  // Drop a stray end marker and surrounding blank lines; keep indentation inside.
  if (size_t d = code.find("[DONE]"); d != std::string::npos) code.resize(d);
  while (!code.empty() && (code.back() == ' ' || code.back() == '\n' || code.back() == '\r' ||
                           code.back() == '\t')) {
    code.pop_back();
  }
  size_t start = 0;
  while (start < code.size()) {
    size_t nl = code.find('\n', start);
    if (nl == std::string::npos) break;
    if (code.substr(start, nl - start).find_first_not_of(" \t\r") != std::string::npos) break;
    start = nl + 1;
  }
  return code.substr(start);
}

namespace task {

namespace {

size_t CountLines(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The last line of a traceback that names the failure ("AssertionError", "NameError: ...").
std::string LastErrorLine(std::string_view err) {
  size_t end = err.size();
  while (end > 0) {
    size_t b = err.rfind('\n', end - 1);
    size_t start = b == std::string_view::npos ? 0 : b + 1;
    std::string_view line = err.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) return std::string(line);
    if (b == std::string_view::npos) break;
    end = b;
  }
  return "";
}

// The line of solution.py the traceback ended in (its last 'File "solution.py", line N').
long FailingLine(std::string_view err) {
  static const Regex re = Regex::MustCompile("File \"solution\\.py\", line ([0-9]+)");
  auto all = re.FindAll(err);
  if (all.empty()) return -1;
  return std::strtol(std::string(Regex::Group(err, all.back(), 1)).c_str(), nullptr, 10);
}

}  // namespace

Result<Grade> GradeMbpp(const Query& q, std::string_view out, const Json& params,
                        const SandboxHost& host) {
  auto setup = ParamString(params, "mbpp", "setup", "");
  auto imports = ParamStrings(params, "mbpp", "imports");
  auto timeout = ParamNumber(params, "mbpp", "timeout_ms", 3000);
  auto memory = ParamNumber(params, "mbpp", "memory_mb", 1024);
  if (!setup.ok()) return setup.status();
  if (!imports.ok()) return imports.status();
  if (!timeout.ok()) return timeout.status();
  if (!memory.ok()) return memory.status();
  Grade g;
  if (out.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    g.reason = "empty output";
    return g;
  }
  std::string code = ExtractCode(out);
  g.extracted = code;
  if (code.find_first_not_of(" \t\r\n") == std::string::npos) {
    g.reason = "no code in the output";
    return g;
  }
  // Setup after the code: MBPP's only setup (task 367) builds trees from the solution's class.
  std::string program;
  for (const auto& i : *imports) program += i + "\n";
  program += code + "\n";
  if (!setup->empty()) program += *setup + "\n";
  const size_t first_assert_line = CountLines(program) + 1;
  program += q.reference + "\n";
  std::vector<std::string> asserts;
  for (size_t b = 0; b <= q.reference.size();) {
    size_t e = q.reference.find('\n', b);
    if (e == std::string::npos) e = q.reference.size();
    asserts.push_back(q.reference.substr(b, e - b));
    b = e + 1;
  }

  SandboxLimits limits;
  limits.wall_ms = static_cast<uint32_t>(*timeout);
  limits.address_space = static_cast<uint64_t>(*memory) << 20;
  auto run = RunPython(program, limits, host);
  if (!run.ok()) return run.status();
  const SandboxResult& r = *run;
  char secs[32];
  snprintf(secs, sizeof(secs), "%.2f s", r.seconds);
  if (r.end == SandboxResult::End::kTimedOut) {
    g.reason = "timed out after " + std::to_string(limits.wall_ms) +
               " ms; the process group was killed";
  } else if (r.end == SandboxResult::End::kSignaled) {
    std::string sig = strsignal(r.signal) ? strsignal(r.signal) : "signal";
    g.reason = "killed by signal " + std::to_string(r.signal) + " (" + sig + ")";
    if (r.signal == SIGXCPU) g.reason += ": CPU time limit";
    if (r.signal == SIGXFSZ) g.reason += ": file size limit";
  } else if (r.completed && r.exit_code == 0) {
    g.correct = true;
    g.reason = "passed " + std::to_string(asserts.size()) + " asserts in " + secs;
  } else if (!r.completed && r.exit_code == 0) {
    g.reason = "the program exited before its asserts finished";
  } else {
    std::string last = LastErrorLine(r.err);
    long line = FailingLine(r.err);
    std::string where;
    if (line >= static_cast<long>(first_assert_line) &&
        line < static_cast<long>(first_assert_line + asserts.size())) {
      where = "assert " + std::to_string(line - first_assert_line + 1) + " of " +
              std::to_string(asserts.size()) + " failed: " +
              Snippet(asserts[line - first_assert_line], 120) + ": ";
    } else if (line > 0) {
      where = "line " + std::to_string(line) + ": ";
    }
    g.reason = where + (last.empty() ? "exit status " + std::to_string(r.exit_code)
                                     : Snippet(last, 200));
  }
  g.reason += " [sandbox: " + r.isolation + "]";
  return g;
}

}  // namespace task
}  // namespace gem
