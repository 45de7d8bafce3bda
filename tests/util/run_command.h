// Copyright the gem authors. Running a real subprocess from a test: one shell command, its output
// and exit code. Header-only so that every test binary can use it without another library.
#ifndef GEM_TESTS_UTIL_RUN_COMMAND_H_
#define GEM_TESTS_UTIL_RUN_COMMAND_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace gem::testing {

struct CommandResult {
  int code = -1;    // the exit status; -1 when it could not start or was killed by a signal
  std::string out;  // what it wrote to stdout (append " 2>&1" to the command for stderr too)
};

// Runs `command` with /bin/sh and waits for it.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_UTIL_RUN_COMMAND_H_
