// Copyright the gem authors. gem-sandbox: the grader service's program.
//
// systemd runs one instance per connection to gem-sandbox.socket (Accept=yes), with the
// connection as stdin and stdout, under a uid of its own and without network
// (systemd/gem-sandbox@.service). It reads one request (docs/SECURITY.md, "The grader service"),
// runs the program with gem::RunPython and writes the result back, then exits; systemd then
// kills whatever the program left in the instance's cgroup.
//
//   gem-sandbox [--work-root DIR] [--no-namespaces]
//
// Exit status: 0 when the request was readable (the reply says how the program ended), 2 when
// it was not (the reply says why).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "gem/sandbox.h"

int main(int argc, char** argv) {
  CLI::App app{
      "gem-sandbox: run one program from stdin in the sandbox and write the result to stdout "
      "(the grader service's program; systemd/gem-sandbox@.service runs it per connection)."};
  gem::SandboxHost host;
  bool no_ns = false;
  app.add_option("--work-root", host.work_root,
                 "Parent of the per-run working directories (default /tmp: the unit's "
                 "PrivateTmp)");
  app.add_flag("--no-namespaces", no_ns, "Do not try Linux namespaces (the unit forbids them)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  host.use_namespaces = !no_ns;
  host.require_other_uid = false;  // the service's uid is its own (DynamicUser)
  gem::Status st = gem::ServeSandboxRequest(STDIN_FILENO, STDOUT_FILENO, host);
  if (!st.ok()) {
    std::fprintf(stderr, "gem-sandbox: %s\n", st.ToString().c_str());
    return 2;
  }
  return 0;
}
