// Copyright the gem authors. gemctl's commands: each sends one request (search start --wait
// follows with watch and result) and prints the reply.
//
// Exit status (also in gemctl --help):
//   0  success
//   2  usage error (bad flags)
//   3  gemd did not answer (not running, wrong endpoint, timeout)
//   4  search start --wait / search watch: the search ended without a result
//      (failed, cancelled or interrupted)
//   5  gemd refused the connection (CURVE key not authorised)
//   10 + code  gemd answered with an error; code is the gem::Status code of the reply
//      (11 NotFound, 13 NotSupported, 14 InvalidArgument, 17 Unavailable, 20 FailedPrecondition,
//      ...: docs/PROTOCOL.md, "Errors")
#ifndef GEMCTL_COMMANDS_H_
#define GEMCTL_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client.h"

namespace gemctl {

struct Globals {
  ClientOptions client;
  bool json = false;
  double wait_for_daemon = 0;  // seconds; 0 = don't wait
  double timeout = 30;         // seconds per reply
  std::string user;            // claimed user name (default: the login name)
};

struct TreeRegisterArgs {
  std::string manifest;               // a model tree's manifest (docs/MANIFEST.md), or
  std::string replay;                 // a replay CSV
  std::string name, format = "auto";  // name "": gemd names the tree
  std::vector<std::string> tasks;     // manifest: .jsonl files or built-in names; matrix: one name
  uint32_t queries = 0;
};
struct SearchStartArgs {
  std::string tree, task, method;  // method "": gemd's default
  std::string executor;            // "local", "slurm"; "": gemd's default
  uint32_t queries_per_model = 0;  // 0: gemd's default
  uint64_t seed = 0;
  bool wait = false;
};
struct CacheImportArgs {
  std::string file, tree, task, format = "csv";
  uint32_t model = 0;
  uint32_t variant = 0;
};

int Health(Globals& g);
int Info(Globals& g);  // what gemd decides: built-in tasks, methods, defaults, the name rule
int Shutdown(Globals& g);
int TreeRegister(Globals& g, const TreeRegisterArgs& a);
int TreeList(Globals& g);
int TreeShow(Globals& g, const std::string& name);
int SearchStart(Globals& g, const SearchStartArgs& a);
int SearchStatus(Globals& g, uint64_t job);
int SearchWatch(Globals& g, uint64_t job);
int SearchCancel(Globals& g, uint64_t job);
int SearchResume(Globals& g, uint64_t job, bool wait);
int SearchResult(Globals& g, uint64_t job);
int SearchList(Globals& g, const std::string& user, const std::string& state);
int CacheStats(Globals& g);
int ClusterStatus(Globals& g);  // the slurm executor's workers, jobs and counters
int CacheExport(Globals& g, const std::string& tree, const std::string& task, uint32_t variant,
                const std::string& out);
int CacheImport(Globals& g, const CacheImportArgs& a);
int Keygen(const std::string& name, const std::string& dir);

// Shared by the command files (commands.cc, tree_scan.cc, report.cc).
int ExitForStatus(const gem::Status& st);  // 10 + the status code
int Complain(const gem::Status& st);       // prints "gemctl: <status>" on stderr; its exit status
int Open(Globals& g, Client* c);           // connects (and waits); 0 or the exit status
// One request, one reply: 0 with an OK reply in *out, or the problem printed and its exit status.
int Request(Globals& g, Client& c, const gem::protocol::RequestBody& body,
            gem::protocol::Reply* out);

}  // namespace gemctl

#endif  // GEMCTL_COMMANDS_H_
