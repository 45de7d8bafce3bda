// Copyright the gem authors. gemctl's commands (commands.h).
#include "commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "output.h"

namespace gemctl {

using gem::Status;
namespace proto = gem::protocol;
using nlohmann::json;

namespace {

constexpr int kExitNoAnswer = 3;
constexpr int kExitSearchEnded = 4;
constexpr int kExitRefused = 5;

}  // namespace

int ExitForStatus(const Status& st) { return 10 + static_cast<int>(st.code()); }

int Complain(const Status& st) {
  std::fprintf(stderr, "gemctl: %s\n", st.ToString().c_str());
  return ExitForStatus(st);
}

// Connects (and waits for gemd when asked). Returns 0 or the exit status to use.
int Open(Globals& g, Client* c) {
  Status st = c->Connect(g.client);
  if (!st.ok()) {
    std::fprintf(stderr, "gemctl: %s\n", st.ToString().c_str());
    return 2;
  }
  if (g.wait_for_daemon > 0) {
    st = c->WaitForDaemon(g.wait_for_daemon);
    if (!st.ok()) {
      std::fprintf(stderr, "gemctl: %s\n", st.ToString().c_str());
      return c->failure() == Failure::kRefused ? kExitRefused : kExitNoAnswer;
    }
  }
  return 0;
}

// One request, one reply. On success *out holds an OK reply and 0 is returned; otherwise the
// problem is printed and the exit status returned.
int Request(Globals& g, Client& c, const proto::RequestBody& body, proto::Reply* out) {
  auto reply = c.Call(body, static_cast<int>(g.timeout * 1000));
  if (!reply.ok()) {
    std::fprintf(stderr, "gemctl: %s\n", reply.status().ToString().c_str());
    if (c.failure() == Failure::kRefused) return kExitRefused;
    if (c.failure() == Failure::kTimeout) return kExitNoAnswer;
    return ExitForStatus(reply.status());
  }
  if (!reply->status.ok()) {
    if (g.json) std::printf("%s\n", proto::ReplyBodyJson(*reply).c_str());
    return Complain(reply->status);
  }
  *out = std::move(*reply);
  return 0;
}

namespace {

// A job as one flat JSON object (the --json contract: id, status, method, chosen_model,
// queries_per_model, evaluations_run, evaluations_cached, ... at the top level).
json JobJson(const proto::Reply& reply) {
  json j = json::parse(proto::ReplyBodyJson(reply));
  if (j.contains("job") && j["job"].is_object()) {
    json flat = j["job"];
    for (auto& [k, v] : j.items()) {
      if (k != "job") flat[k] = v;
    }
    return flat;
  }
  return j;
}

void PrintJson(const json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

gem::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path, "cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Seen(const proto::ModelTally& m) {
  if (m.pulls == 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f%% (%u/%u)", 100.0 * m.wins / m.pulls, m.wins, m.pulls);
  return buf;
}

// The found model beside the tree's most popular one: what the search is for.
void PrintFoundVsPopular(const proto::SearchResultReply& r) {
  if (r.models.empty() || r.job.chosen_model < 0 ||
      static_cast<size_t>(r.job.chosen_model) >= r.models.size()) {
    return;
  }
  size_t popular = 0;
  for (size_t m = 0; m < r.models.size(); ++m) {
    if (r.models[m].popularity > r.models[popular].popularity) popular = m;
  }
  const auto& found = r.models[r.job.chosen_model];
  std::printf("\n");
  std::vector<std::vector<std::string>> rows = {{"found", std::to_string(found.index), found.name,
                                                 FormatNumber(found.popularity, 0), Seen(found)}};
  if (r.models[popular].popularity > 0) {
    const auto& p = r.models[popular];
    rows.push_back({popular == found.index ? "(also the most popular)" : "most popular",
                    std::to_string(p.index), p.name, FormatNumber(p.popularity, 0), Seen(p)});
  }
  PrintTable({"", "INDEX", "MODEL", "POPULARITY", "ACCURACY SEEN (correct/queries)"}, rows);
  std::printf(
      "queries spent: %llu of a budget of %llu (%llu evaluations run, %llu from the "
      "cache)\n",
      static_cast<unsigned long long>(r.spent), static_cast<unsigned long long>(r.budget),
      static_cast<unsigned long long>(r.job.evaluations_run),
      static_cast<unsigned long long>(r.job.evaluations_cached));
}

void PrintResult(const proto::SearchResultReply& r) {
  PrintJob(r.job);
  std::printf("  budget:           %llu (spent %llu)\n", static_cast<unsigned long long>(r.budget),
              static_cast<unsigned long long>(r.spent));
  std::printf("  estimate:         accuracy %s, 95%% CI [%s, %s], P(best) %s, P(top 3) %s\n",
              FormatNumber(r.estimated_accuracy).c_str(), FormatNumber(r.ci_low).c_str(),
              FormatNumber(r.ci_high).c_str(), FormatNumber(r.p_best).c_str(),
              FormatNumber(r.p_top3).c_str());
  if (!r.rounds.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& rt : r.rounds) {
      rows.push_back({std::to_string(rt.round), std::to_string(rt.survivors),
                      std::to_string(rt.queries_per_survivor), std::to_string(rt.spent),
                      rt.correlated ? "yes" : "no"});
    }
    std::printf("\n");
    PrintTable({"ROUND", "SURVIVORS", "QUERIES_EACH", "SPENT", "SHARED_QUERIES"}, rows);
  }
  PrintFoundVsPopular(r);
}

// Streams search.watch until the job ends. Returns 0 when it ended done, kExitSearchEnded when
// it ended otherwise, or a connection/error exit status. *last gets the final job.
int Watch(Globals& g, Client& c, uint64_t job, bool show_progress, proto::JobInfo* last) {
  uint64_t id;
  Status st = c.Send(proto::SearchWatchRequest{job}, &id);
  if (!st.ok()) return Complain(st);
  ProgressBar bar;
  const int liveness_ms = proto::kHeartbeatIntervalMs * proto::kHeartbeatLiveness;
  while (true) {
    auto reply = c.Receive(id, std::max(liveness_ms, static_cast<int>(g.timeout * 1000)));
    if (!reply.ok()) {
      bar.Finish();
      std::fprintf(stderr, "gemctl: %s\n", reply.status().ToString().c_str());
      return c.failure() == Failure::kRefused ? kExitRefused : kExitNoAnswer;
    }
    if (!reply->status.ok()) {
      bar.Finish();
      return Complain(reply->status);
    }
    const auto& ev = std::get<proto::WatchEvent>(reply->body);
    // Rounds whose placements are new since the last event: where their units ran.
    if (show_progress) {
      for (const std::string& line : NewPlacementLines(*last, ev.job)) bar.Note(line);
    }
    *last = ev.job;
    if (show_progress) bar.Update(ev.job);
    if (!reply->more || ev.event == "end") break;
  }
  bar.Finish();
  return last->status == proto::kJobDone ? 0 : kExitSearchEnded;
}

// After --wait: print the result (or why there is none).
int WaitAndReport(Globals& g, Client& c, uint64_t job) {
  proto::JobInfo last;
  int rc = Watch(g, c, job, !g.json, &last);
  if (rc == kExitSearchEnded) {
    if (g.json) {
      PrintJson(json::parse(proto::ReplyBodyJson(
          proto::Reply{0, "search.status", Status(), false, proto::JobReply{last}}))["job"]);
    } else {
      PrintJob(last);
    }
    std::fprintf(stderr, "gemctl: search %llu ended %s%s\n", static_cast<unsigned long long>(job),
                 last.status.c_str(), last.error.empty() ? "" : (": " + last.error).c_str());
    return rc;
  }
  if (rc != 0) return rc;
  return SearchResult(g, job);
}

}  // namespace

int Health(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::HealthRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& h = std::get<proto::HealthReply>(r.body);
  std::printf("gemd %s: %s%s (pid %lld, up %.1f s, protocol %u)\n", h.version.c_str(),
              h.state.c_str(), h.stage.empty() ? "" : (" - " + h.stage).c_str(),
              static_cast<long long>(h.pid), h.uptime_s, h.protocol);
  if (h.state == "ready") {
    std::string devices;
    for (const auto& d : h.devices) devices += (devices.empty() ? "" : ", ") + d;
    std::printf("trees: %u   jobs: %u running, %u queued   devices: %s\n", h.trees, h.jobs_running,
                h.jobs_queued, devices.c_str());
  }
  if (!h.cuda.empty() || !h.spread.empty()) {  // revision 6
    std::string gpus;
    for (const auto& d : h.gpus) gpus += (gpus.empty() ? "" : "; ") + d;
    std::printf("gpus: %s (%s)   spread: %s\n", gpus.empty() ? "none" : gpus.c_str(),
                h.cuda.c_str(), h.spread.c_str());
  }
  if (h.role.empty()) {
    std::printf("you are: %s\n", h.peer.c_str());
  } else {
    std::printf("you are: %s, role %s\n", h.peer.c_str(), h.role.c_str());
  }
  return 0;
}

int Shutdown(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::ShutdownRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
  } else {
    std::printf("gemd is stopping\n");
  }
  return 0;
}

int Info(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::InfoRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& i = std::get<proto::InfoReply>(r.body);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::printf("gemd %s, protocol %u revision %u\n", i.version.c_str(), i.protocol, i.revision);
  std::printf("built-in tasks:     %s\n", join(i.tasks).c_str());
  std::printf("search methods:     %s (default %s)\n", join(i.methods).c_str(),
              i.default_method.c_str());
  std::printf("queries per model:  %u by default\n", i.default_queries_per_model);
  std::printf("tree formats:       %s\n", join(i.formats).c_str());
  std::printf("tree names:         %s\n", i.tree_name_rule.c_str());
  std::printf("replay simulation:  %u queries per task, seed %llu, agreement %s\n",
              i.replay_queries, static_cast<unsigned long long>(i.replay_sim_seed),
              FormatNumber(i.replay_agreement).c_str());
  if (!i.executors.empty()) {
    std::printf("executors:          %s (default %s)\n", join(i.executors).c_str(),
                i.default_executor.c_str());
  }
  return 0;
}

namespace {

// The manifest request: the manifest's absolute path (gemd reads it on its host) and each task,
// a .jsonl file's content (named after the file's stem) or a built-in benchmark's name.
gem::Result<proto::TreeRegisterRequest> ManifestRequest(const TreeRegisterArgs& a) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path manifest = fs::absolute(a.manifest, ec);
  if (ec || !fs::is_regular_file(manifest)) {
    return Status::NotFound(a.manifest, "no such manifest file");
  }
  proto::TreeRegisterRequest req;
  req.format = "manifest";
  req.manifest = manifest.lexically_normal().string();
  req.file_name = manifest.filename().string();
  for (const auto& t : a.tasks) {
    proto::TaskSource source;
    if (t.size() > 6 && t.compare(t.size() - 6, 6, ".jsonl") == 0) {
      auto content = ReadFile(t);
      if (!content.ok()) return content.status().WithContext("--task");
      source.name = fs::path(t).stem().string();
      source.content = std::move(*content);
      source.file_name = fs::path(t).filename().string();
    } else {
      source.name = t;  // a built-in task: gemd loads it from its tasks directory
    }
    req.tasks.push_back(std::move(source));
  }
  return req;
}

// The built-in tasks gemd offers (info), for a message; what went wrong when it does not say.
std::string GemdTasks(Globals& g) {
  Client c;
  if (c.Connect(g.client).ok()) {
    auto reply = c.Call(proto::InfoRequest{}, static_cast<int>(g.timeout * 1000));
    if (reply.ok() && reply->status.ok()) {
      std::string list;
      for (const auto& t : std::get<proto::InfoReply>(reply->body).tasks) {
        list += (list.empty() ? "" : ", ") + t;
      }
      return list;
    }
  }
  return "(gemd did not say: see gemctl info)";
}

}  // namespace

int TreeRegister(Globals& g, const TreeRegisterArgs& a) {
  proto::TreeRegisterRequest req;
  double timeout = g.timeout;
  if (!a.manifest.empty()) {
    if (a.tasks.empty()) {
      return Complain(Status::InvalidArgument(
          "--task",
          "a model tree needs at least one task: a custom .jsonl file (docs/TASKS.md) "
          "or one of gemd's built-in tasks: " +
              GemdTasks(g)));
    }
    auto m = ManifestRequest(a);
    if (!m.ok()) return Complain(m.status());
    req = std::move(*m);
    // gemd converts every fine-tune into a delta before it answers: minutes for large models.
    timeout = std::max(timeout, 3600.0);
    if (!g.json) {
      std::fprintf(stderr, "registering %s (gemd turns each fine-tune into a delta first)\n",
                   req.manifest.c_str());
    }
  } else {
    auto content = ReadFile(a.replay);
    if (!content.ok()) return Complain(content.status());
    if (a.tasks.size() > 1) {
      return Complain(Status::InvalidArgument("--task", "a replay matrix answers one task"));
    }
    req.content = std::move(*content);
    req.file_name = std::filesystem::path(a.replay).filename().string();
    req.format = a.format;
    req.queries = a.queries;
    if (!a.tasks.empty()) req.task = a.tasks[0];
  }
  req.name = a.name;  // "": gemd names the tree (the manifest's name, or the file's stem)
  req.user = g.user;
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  Globals slow = g;
  slow.timeout = timeout;
  if (int rc = Request(slow, c, req, &r)) return rc;
  const auto& t = std::get<proto::TreeReply>(r.body).tree;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  std::string tasks;
  for (const auto& x : t.tasks) tasks += (tasks.empty() ? "" : ", ") + x;
  if (t.format == "manifest") {
    std::printf("registered tree %s: base %s and %u descendants, tasks %s (%s)\n", t.name.c_str(),
                t.base.c_str(), t.num_models - 1, tasks.c_str(), t.file_name.c_str());
    for (const auto& why : t.refused) std::printf("  refused: %s\n", why.c_str());
    return 0;
  }
  std::printf("registered tree %s: %u models, tasks %s, %u queries per task (%s%s)\n",
              t.name.c_str(), t.num_models, tasks.c_str(), t.num_queries, t.format.c_str(),
              t.format == "accuracy"
                  ? (", simulated with seed " + std::to_string(t.sim_seed)).c_str()
                  : "");
  return 0;
}

int TreeList(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::TreeListRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : std::get<proto::TreeListReply>(r.body).trees) {
    std::string tasks;
    for (const auto& x : t.tasks) tasks += (tasks.empty() ? "" : ",") + x;
    rows.push_back({t.name, t.format, std::to_string(t.num_models), std::to_string(t.num_queries),
                    tasks, t.registered_by, FormatTime(t.registered_at), t.digest.substr(0, 12)});
  }
  PrintTable({"NAME", "FORMAT", "MODELS", "QUERIES", "TASKS", "BY", "REGISTERED", "DIGEST"}, rows);
  return 0;
}

int TreeShow(Globals& g, const std::string& name) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::TreeShowRequest{name}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& s = std::get<proto::TreeShowReply>(r.body);
  std::printf("tree %s: %s, %u models, %u queries per task, file %s (sha256 %s)\n",
              s.tree.name.c_str(), s.tree.format.c_str(), s.tree.num_models, s.tree.num_queries,
              s.tree.file_name.c_str(), s.tree.digest.c_str());
  const bool manifest = s.tree.format == "manifest";
  if (manifest) {
    std::printf("(a model tree: accuracies are not known until a search measures them)\n");
  }
  std::vector<std::string> header = {"INDEX", "NAME"};
  if (manifest) header.push_back("KIND");
  header.push_back("DIGEST");
  if (!manifest) {
    for (const auto& t : s.tree.tasks) header.push_back(t);
  }
  header.push_back(manifest ? "DOWNLOADS" : "POPULARITY");
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : s.models) {
    std::vector<std::string> row = {std::to_string(m.index), m.name};
    if (manifest) row.push_back(m.kind);
    row.push_back(m.digest.substr(0, 12));
    if (!manifest) {
      for (const auto& t : s.tree.tasks) {
        auto it = m.accuracy.find(t);
        row.push_back(it == m.accuracy.end() ? "-" : FormatNumber(it->second));
      }
    }
    row.push_back(FormatNumber(m.popularity, manifest ? 0 : 1));
    rows.push_back(std::move(row));
  }
  PrintTable(header, rows);
  return 0;
}

int SearchStart(Globals& g, const SearchStartArgs& a) {
  proto::SearchStartRequest req;
  req.tree = a.tree;
  req.task = a.task;
  req.method = a.method;
  req.queries_per_model = a.queries_per_model;
  req.seed = a.seed;
  req.executor = a.executor;
  req.user = g.user;
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, req, &r)) return rc;
  const auto& job = std::get<proto::JobReply>(r.body).job;
  if (a.wait) {
    if (!g.json) {
      std::fprintf(stderr, "job %llu queued: %s / %s, %s, N=%u, seed %llu%s\n",
                   static_cast<unsigned long long>(job.id), job.tree.c_str(), job.task.c_str(),
                   job.method.c_str(), job.queries_per_model,
                   static_cast<unsigned long long>(job.seed),
                   job.executor == "slurm" ? ", on the cluster" : "");
    }
    return WaitAndReport(g, c, job.id);
  }
  if (g.json) {
    PrintJson(JobJson(r));
  } else {
    std::printf("job %llu queued (gemctl search watch %llu)\n",
                static_cast<unsigned long long>(job.id), static_cast<unsigned long long>(job.id));
  }
  return 0;
}

int SearchStatus(Globals& g, uint64_t id) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::SearchStatusRequest{id}, &r)) return rc;
  if (g.json) {
    PrintJson(JobJson(r));
  } else {
    PrintJob(std::get<proto::JobReply>(r.body).job);
  }
  return 0;
}

int SearchWatch(Globals& g, uint64_t id) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::JobInfo last;
  int rc = Watch(g, c, id, true, &last);
  if (rc == 0 || rc == kExitSearchEnded) {
    if (g.json) {
      PrintJson(json::parse(proto::ReplyBodyJson(
          proto::Reply{0, "search.status", Status(), false, proto::JobReply{last}}))["job"]);
    } else {
      PrintJob(last);
    }
  }
  return rc;
}

int SearchCancel(Globals& g, uint64_t id) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::SearchCancelRequest{id}, &r)) return rc;
  const auto& job = std::get<proto::JobReply>(r.body).job;
  if (g.json) {
    PrintJson(JobJson(r));
  } else {
    std::printf("job %llu: %s\n", static_cast<unsigned long long>(id),
                job.status == proto::kJobCancelled ? "cancelled"
                                                   : "cancel requested (stops at its next batch)");
  }
  return 0;
}

int SearchResume(Globals& g, uint64_t id, bool wait) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::SearchResumeRequest{id}, &r)) return rc;
  if (wait) return WaitAndReport(g, c, id);
  if (g.json) {
    PrintJson(JobJson(r));
  } else {
    std::printf("job %llu queued again; cached evaluations will not be paid twice\n",
                static_cast<unsigned long long>(id));
  }
  return 0;
}

int SearchResult(Globals& g, uint64_t id) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::SearchResultRequest{id}, &r)) return rc;
  if (g.json) {
    PrintJson(JobJson(r));
  } else {
    PrintResult(std::get<proto::SearchResultReply>(r.body));
  }
  return 0;
}

int SearchList(Globals& g, const std::string& user, const std::string& state) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::SearchListRequest{user, state}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& j : std::get<proto::JobListReply>(r.body).jobs) {
    rows.push_back({std::to_string(j.id), j.status, j.user, j.tree, j.task, j.method,
                    std::to_string(j.queries_per_model), std::to_string(j.seed),
                    j.chosen_model >= 0 ? std::to_string(j.chosen_model) : "-",
                    std::to_string(j.evaluations_run), std::to_string(j.evaluations_cached),
                    FormatTime(j.created_at)});
  }
  PrintTable({"ID", "STATUS", "USER", "TREE", "TASK", "METHOD", "N", "SEED", "CHOSEN", "RUN",
              "CACHED", "CREATED"},
             rows);
  return 0;
}

int CacheStats(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::CacheStatsRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& s = std::get<proto::CacheStatsReply>(r.body);
  std::printf("cache at %s\n", s.path.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : s.counters) rows.push_back({k, std::to_string(v)});
  PrintTable({"COUNTER", "VALUE"}, rows);
  return 0;
}

int ClusterStatus(Globals& g) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::ClusterStatusRequest{}, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& s = std::get<proto::ClusterStatusReply>(r.body);
  if (!s.enabled) {
    std::printf(
        "no cluster: this gemd runs searches on its own devices only (set "
        "cluster.worker_endpoint, docs/CLUSTER.md)\n");
    return 0;
  }
  std::printf("workers dial %s; searches default to the %s executor\n", s.endpoint.c_str(),
              s.default_executor.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : s.workers) {
    rows.push_back({w.id, w.node, w.gpu.empty() ? "-" : w.gpu, w.device,
                    w.busy ? "busy" : "idle " + FormatNumber(w.idle_s, 0) + " s",
                    w.tree.empty() ? "-" : w.tree});
  }
  std::printf("\n");
  if (rows.empty()) {
    std::printf("no workers connected\n");
  } else {
    PrintTable({"WORKER", "NODE", "GPU", "DEVICE", "STATE", "TREE"}, rows);
  }
  rows.clear();
  for (const auto& t : s.tasks) {
    rows.push_back({t.slurm_task, t.submission, t.state, t.node.empty() ? "-" : t.node,
                    t.reason.empty() || t.reason == "None" ? "-" : t.reason,
                    std::to_string(t.workers)});
  }
  std::printf("\n");
  if (rows.empty()) {
    std::printf("no worker jobs (an idle gemd holds no cluster resources)\n");
  } else {
    PrintTable({"SLURM_TASK", "SUBMISSION", "STATE", "NODE", "REASON", "WORKERS"}, rows);
  }
  rows.clear();
  for (const auto& [k, v] : s.counters) rows.push_back({k, std::to_string(v)});
  std::printf("\n");
  PrintTable({"COUNTER", "VALUE"}, rows);
  return 0;
}

int CacheExport(Globals& g, const std::string& tree, const std::string& task, uint32_t variant,
                const std::string& out) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::CacheExportRequest{tree, task, variant}, &r)) return rc;
  const auto& e = std::get<proto::CacheExportReply>(r.body);
  if (out.empty() || out == "-") {
    std::fwrite(e.content.data(), 1, e.content.size(), stdout);
    return 0;
  }
  std::ofstream f(out, std::ios::binary);
  f << e.content;
  if (!f) return Complain(Status::IOError(out, "cannot write"));
  if (g.json) {
    PrintJson({{"file", out}, {"entries", e.entries}, {"format", e.format}});
  } else {
    std::printf("wrote %s: %llu cached results\n", out.c_str(),
                static_cast<unsigned long long>(e.entries));
  }
  return 0;
}

int CacheImport(Globals& g, const CacheImportArgs& a) {
  auto content = ReadFile(a.file);
  if (!content.ok()) return Complain(content.status());
  proto::CacheImportRequest req;
  req.tree = a.tree;
  req.task = a.task;
  req.format = a.format;
  req.content = std::move(*content);
  req.file_name = std::filesystem::path(a.file).filename().string();
  req.model = a.model;
  req.variant = a.variant;
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, req, &r)) return rc;
  if (g.json) {
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& s = std::get<proto::CacheImportReply>(r.body);
  std::printf("imported %llu results (%llu already cached, kept)\n",
              static_cast<unsigned long long>(s.imported),
              static_cast<unsigned long long>(s.skipped));
  return 0;
}

int Keygen(const std::string& name, const std::string& dir) {
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    std::fprintf(stderr, "gemctl: this libzmq has no CURVE support\n");
    return 1;
  }
  std::filesystem::create_directories(dir.empty() ? "." : dir);
  std::string base = (dir.empty() ? std::string(".") : dir) + "/" + name;
  {
    std::ofstream f(base + ".key");
    f << "# CURVE secret key of '" << name << "' (keep private)\n" << sec << "\n";
    if (!f) return Complain(Status::IOError(base + ".key", "cannot write"));
  }
  ::chmod((base + ".key").c_str(), 0600);
  std::ofstream p(base + ".pub");
  p << "# CURVE public key of '" << name << "'\n" << pub << "\n";
  if (!p) return Complain(Status::IOError(base + ".pub", "cannot write"));
  std::printf("wrote %s.key (secret) and %s.pub (public: %s)\n", base.c_str(), base.c_str(), pub);
  return 0;
}

}  // namespace gemctl
