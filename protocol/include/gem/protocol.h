// Copyright the gem authors. The gemd wire protocol: typed messages, msgpack frames.
//
// Only gemd, gemctl and their tests use this header set (protocol/, target gem_protocol); it is
// not part of libgem's public headers, as leveldb keeps its C API apart from its C++ one. It also
// defines gemd's persisted job records (EncodeRecord), which are the wire messages.
//
// gemctl (or any client) talks to gemd over a ZeroMQ ROUTER socket. Every message is one frame
// holding one msgpack map, the envelope:
//   request: {"v": kVersion, "id": <uint64 chosen by the client>, "type": "<request type>",
//             "body": {<fields of that type>}}
//   reply:   {"v": kVersion, "id": <the request's id>, "type": "<the request's type>",
//             "ok": <bool>, "more": <bool>, "error": {"code", "name", "message"} (when !ok),
//             "body": {<fields of the reply>} (when ok)}
// docs/PROTOCOL.md is the prose specification of every type and field; this header is its code.
// A streaming request (search.watch) gets several replies with the same id, all but the last with
// "more": true.
//
// Decoding never throws and never trusts the frame: oversized frames, garbage, truncated msgpack,
// wrong field types, missing required fields, unknown request types and unsupported versions all
// give a non-OK Status whose message names the problem (e.g. "field 'seed': expected an unsigned
// integer, got a string"). Unknown fields are ignored, so a newer client can talk to an older
// daemon as long as it only relies on known fields.
//
// Ownership: every message is a plain value that owns its strings and vectors; encoding returns a
// new string, decoding fills the caller's struct. Nothing keeps a pointer into a frame.
//
// Thread-safety: all functions are reentrant; the message structs are plain values.
#ifndef GEM_PROTOCOL_H_
#define GEM_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gem/status.h"

namespace gem::protocol {

// The protocol version this build speaks. Bumped on any incompatible change (docs/PROTOCOL.md
// keeps the history). A request with another "v" gets a NotSupported error reply.
inline constexpr uint32_t kVersion = 1;
// Compatible additions within kVersion (docs/PROTOCOL.md, "History"): a client may ask `info` for
// the revision a gemd speaks before relying on a later revision's fields. Revision 3 added `info`,
// tree.register without a name (gemd names the tree) and search.start with queries_per_model 0
// (gemd's default); revision 4 added report.tree and report.search; revision 5 JobInfo's
// method_revision; revision 6: health's `gpus`, `cuda`, `spread`, and a job's `device` lists
// every device a spread search ran on; revision 7 added executors: search.start `executor`,
// JobInfo `executor` and `placements`, cluster.status, and info's `executors` and
// `default_executor`; revision 8 access control (error code 11 PermissionDenied; health `role`
// and `watchers`) and field limits.
inline constexpr uint32_t kRevision = 8;

// Default limit on one request frame. gemd's `max_message_bytes` setting overrides it.
inline constexpr size_t kDefaultMaxFrameBytes = 64u << 20;

// Liveness of streams (Majordomo style): during search.watch gemd sends an event at least every
// kHeartbeatIntervalMs; a client that hears nothing for kHeartbeatLiveness intervals gives up.
inline constexpr int kHeartbeatIntervalMs = 2500;
inline constexpr int kHeartbeatLiveness = 3;

// Job states, as sent and as persisted in gemd's job store. Do not change the strings.
inline constexpr const char* kJobQueued = "queued";
inline constexpr const char* kJobRunning = "running";
inline constexpr const char* kJobDone = "done";
inline constexpr const char* kJobFailed = "failed";
inline constexpr const char* kJobCancelled = "cancelled";
inline constexpr const char* kJobInterrupted =
    "interrupted";  // gemd stopped while it was queued
                    // or running; search.resume restarts it
// True for states a job never leaves by itself (done, failed, cancelled, interrupted).
bool IsFinalJobState(std::string_view state);

// ---------------------------------------------------------------------------------------------
// Field lists. Each message struct lists its fields once, in Fields(v), with v.Req(name, field)
// for required fields and v.Opt(name, field) for optional ones (a missing or nil optional field
// keeps its default). The codec (msgpack) and the JSON printer both walk these lists, so a field
// has one name everywhere. Supported field types: bool, unsigned and signed integers, double,
// std::string (msgpack str or bin), std::vector<T>, std::map<std::string, T>, and nested structs.
// ---------------------------------------------------------------------------------------------

// ---- requests --------------------------------------------------------------------------------

// Is gemd up? Answered in every state, even while gemd is still loading. Reply: HealthReply.
struct HealthRequest {
  static constexpr const char* kType = "health";
  template <class V>
  void Fields(V&) {}
};

// A task a manifest tree answers, given at registration: either a custom task's JSONL content
// (docs/TASKS.md; the client reads the file and sends it) or, with `content` empty, the name of a
// built-in benchmark that gemd loads from its tasks directory (gsm8k, mbpp, routerbench, ...).
struct TaskSource {
  std::string name;       // the task's name in search.start
  std::string content;    // JSONL bytes; "" for a built-in task
  std::string file_name;  // for display and error messages only
  template <class V>
  void Fields(V& v) {
    v.Req("name", name);
    v.Opt("content", content);
    v.Opt("file_name", file_name);
  }
};

// Registers a tree. Replay sources (accuracy or matrix CSVs): the client sends the file's
// content, not its path, since gemd may run as another user on another machine. Manifest trees
// (real models, docs/MANIFEST.md): the client sends the manifest's path, which gemd reads with
// its own permissions on its own host (model files are far too large to send), and the tasks.
// Reply: TreeReply. Errors: InvalidArgument, NotFound, FailedPrecondition (docs/PROTOCOL.md).
struct TreeRegisterRequest {
  static constexpr const char* kType = "tree.register";
  std::string name;               // the tree's name, [A-Za-z0-9._-]{1,64}; must be new. "" (rev 3):
                                  // gemd names it (the manifest's name, else the file's stem)
  std::string content;            // replay formats: the CSV file's bytes (required for them)
  std::string file_name;          // for display and error messages only
  std::string format = "auto";    // "accuracy" (per-model accuracy CSV), "matrix" (0/1 matrix CSV),
                                  // "manifest" (a model tree) or "auto" (manifest when `manifest`
                                  // is set, else accuracy when the header has a *_pct column)
  uint32_t queries = 0;           // accuracy trees: queries simulated per task (0: gemd's default)
  std::string task;               // matrix trees: the task the matrix answers (default "matrix")
  std::string user;               // who registers it (the client's claim)
  std::string manifest;           // manifest trees: absolute path of the manifest on gemd's host
  std::vector<TaskSource> tasks;  // manifest trees: the tasks it answers (at least one)
  template <class V>
  void Fields(V& v) {
    v.Opt("name", name);
    v.Opt("content", content);
    v.Opt("file_name", file_name);
    v.Opt("format", format);
    v.Opt("queries", queries);
    v.Opt("task", task);
    v.Opt("user", user);
    v.Opt("manifest", manifest);
    v.Opt("tasks", tasks);
  }
};

// Every registered tree. Reply: TreeListReply.
struct TreeListRequest {
  static constexpr const char* kType = "tree.list";
  template <class V>
  void Fields(V&) {}
};

// One tree with its models. Reply: TreeShowReply; NotFound for an unknown name.
struct TreeShowRequest {
  static constexpr const char* kType = "tree.show";
  std::string name;
  template <class V>
  void Fields(V& v) {
    v.Req("name", name);
  }
};

// Queues a search job. Reply: JobReply (state "queued"). Errors: NotFound (tree, task),
// InvalidArgument (unknown method, N larger than the task).
struct SearchStartRequest {
  static constexpr const char* kType = "search.start";
  std::string tree;
  std::string task;
  std::string method;  // "" means gemd's default (InfoReply::default_method)
  // N, the average queries per model (budget N x models). 0 (rev 3): gemd's default
  // (InfoReply::default_queries_per_model); a gemd before revision 3 refuses 0.
  uint32_t queries_per_model = 0;
  uint64_t seed = 0;
  std::string user;  // who starts it (the client's claim; see docs/PROTOCOL.md)
  // Where its evaluations run (rev 7): "local" (gemd's own devices) or "slurm" (workers on the
  // cluster, docs/CLUSTER.md); "" means gemd's default (InfoReply::default_executor).
  std::string executor;
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Req("task", task);
    v.Opt("method", method);
    v.Opt("queries_per_model", queries_per_model);
    v.Opt("seed", seed);
    v.Opt("user", user);
    v.Opt("executor", executor);
  }
};

// The requests that name one job (reply JobReply, or SearchResultReply for search.result, a
// stream of WatchEvent for search.watch). NotFound for an unknown job.
#define GEM_PROTOCOL_JOB_REQUEST(Name, type)   \
  struct Name {                                \
    static constexpr const char* kType = type; \
    uint64_t job = 0;                          \
    template <class V>                         \
    void Fields(V& v) {                        \
      v.Req("job", job);                       \
    }                                          \
  }
GEM_PROTOCOL_JOB_REQUEST(SearchStatusRequest, "search.status");
GEM_PROTOCOL_JOB_REQUEST(SearchWatchRequest, "search.watch");
GEM_PROTOCOL_JOB_REQUEST(SearchCancelRequest, "search.cancel");
GEM_PROTOCOL_JOB_REQUEST(SearchResultRequest, "search.result");
GEM_PROTOCOL_JOB_REQUEST(SearchResumeRequest, "search.resume");
#undef GEM_PROTOCOL_JOB_REQUEST

// Jobs, newest first. Reply: JobListReply.
struct SearchListRequest {
  static constexpr const char* kType = "search.list";
  std::string user;   // only jobs started by this user ("" = all)
  std::string state;  // only jobs in this state ("" = all)
  template <class V>
  void Fields(V& v) {
    v.Opt("user", user);
    v.Opt("state", state);
  }
};

// Counts of the result cache. Reply: CacheStatsReply.
struct CacheStatsRequest {
  static constexpr const char* kType = "cache.stats";
  template <class V>
  void Fields(V&) {}
};

// The slurm executor's workers and jobs (rev 7). Reply: ClusterStatusReply.
struct ClusterStatusRequest {
  static constexpr const char* kType = "cluster.status";
  template <class V>
  void Fields(V&) {}
};

// Exports what the cache holds for (tree, task) as a models x queries CSV.
struct CacheExportRequest {
  static constexpr const char* kType = "cache.export";
  std::string tree;
  std::string task;
  uint32_t variant = 0;  // manifest trees: the prompt variant (0 no system prompt, 1 with)
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Req("task", task);
    v.Opt("variant", variant);
  }
};

// Imports results for (tree, task) into the cache: our CSV ("csv", as cache.export writes it) or
// lm-evaluation-harness samples ("lm-eval", one samples_*.jsonl file per request).
struct CacheImportRequest {
  static constexpr const char* kType = "cache.import";
  std::string tree;
  std::string task;
  std::string format = "csv";
  std::string content;
  std::string file_name;
  uint32_t model = 0;    // lm-eval: the tree's model index the samples belong to
  uint32_t variant = 0;  // manifest trees: the prompt variant the results are in (0 or 1)
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Req("task", task);
    v.Opt("format", format);
    v.Req("content", content);
    v.Opt("file_name", file_name);
    v.Opt("model", model);
    v.Opt("variant", variant);
  }
};

// What gemd decides, so that clients need not repeat it (rev 3): its built-in tasks, search
// methods and defaults, tree formats and the tree-name rule. Answered in every state, like
// health. Reply: InfoReply.
struct InfoRequest {
  static constexpr const char* kType = "info";
  template <class V>
  void Fields(V&) {}
};

// Stops gemd gracefully. Reply: ShutdownReply.
struct ShutdownRequest {
  static constexpr const char* kType = "shutdown";
  template <class V>
  void Fields(V&) {}
};

// ---- reports (rev 4; docs/PROTOCOL.md, "Reports"): the data of `gemctl tree report` and
// `gemctl search report`; gemctl draws the page with libgem's report writer (gem/report.h) ----

// A tree's models with their parents and folders, and what the cache holds of each for one task.
// Reply: ReportTreeReply; NotFound for an unknown tree or task.
struct ReportTreeRequest {
  static constexpr const char* kType = "report.tree";
  std::string tree;
  std::string task;
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Req("task", task);
  }
};

// A finished search: its result, its per-round trace, and its tree as report.tree gives it.
// Reply: ReportSearchReply; NotFound for an unknown job, FailedPrecondition for one not done.
struct ReportSearchRequest {
  static constexpr const char* kType = "report.search";
  uint64_t job = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("job", job);
  }
};

using RequestBody =
    std::variant<HealthRequest, TreeRegisterRequest, TreeListRequest, TreeShowRequest,
                 SearchStartRequest, SearchStatusRequest, SearchWatchRequest, SearchCancelRequest,
                 SearchResultRequest, SearchResumeRequest, SearchListRequest, CacheStatsRequest,
                 CacheExportRequest, CacheImportRequest, ShutdownRequest, InfoRequest,
                 ReportTreeRequest, ReportSearchRequest, ClusterStatusRequest>;

struct Request {
  uint64_t id = 0;   // echoed in every reply
  std::string type;  // set by DecodeRequest; EncodeRequest takes it from the body
  RequestBody body;
};

// Every request type, in a stable order (health first). gemd reports them in its health reply.
std::vector<std::string> RequestTypes();

// ---- replies ---------------------------------------------------------------------------------

// health: gemd's state and load.
struct HealthReply {
  std::string state;    // "starting" (bound, still loading), "ready", "stopping"
  std::string stage;    // start-up stage in progress or "" when ready
  std::string version;  // gemd's version
  uint32_t protocol = kVersion;
  int64_t pid = 0;
  double uptime_s = 0;
  uint32_t trees = 0;  // trees loaded
  uint32_t jobs_queued = 0;
  uint32_t jobs_running = 0;
  std::vector<std::string> devices;  // one scheduler worker per device
  std::string peer;  // how gemd sees the caller (e.g. "uid 1000", "curve key alice")
  std::vector<std::string> request_types;
  std::string role;       // the caller's role: "none", "reader", "member" or "admin"
  uint32_t watchers = 0;  // open search.watch streams (all clients)
  // Revision 6: the machine's GPUs ("cuda:<i> <name>, sm_<major><minor>, <memory> GiB"), the CUDA
  // versions ("CUDA 13.0 runtime, driver 13.0"; "not built with CUDA"), the spread setting.
  std::vector<std::string> gpus;
  std::string cuda;
  std::string spread;
  template <class V>
  void Fields(V& v) {
    v.Req("state", state);
    v.Opt("stage", stage);
    v.Opt("version", version);
    v.Opt("protocol", protocol);
    v.Opt("pid", pid);
    v.Opt("uptime_s", uptime_s);
    v.Opt("trees", trees);
    v.Opt("jobs_queued", jobs_queued);
    v.Opt("jobs_running", jobs_running);
    v.Opt("devices", devices);
    v.Opt("peer", peer);
    v.Opt("request_types", request_types);
    v.Opt("role", role);
    v.Opt("watchers", watchers);
    v.Opt("gpus", gpus);
    v.Opt("cuda", cuda);
    v.Opt("spread", spread);
  }
};

// A registered tree as gemd reports it (the wire form of its tree record, docs/SEARCHABLE.md).
struct TreeInfo {
  std::string name;
  std::string format;     // "accuracy", "matrix" or "manifest"
  std::string file_name;  // manifest trees: the manifest's path on gemd's host
  std::string digest;     // hex SHA-256 of the file content (the CSV, or the manifest)
  uint32_t num_models = 0;
  uint32_t num_queries = 0;  // per task
  uint64_t sim_seed = 0;     // accuracy trees: the simulation seed (docs/GEMD.md)
  std::vector<std::string> tasks;
  std::string registered_by;
  int64_t registered_at = 0;         // unix seconds
  std::string base;                  // manifest trees: the base model's name (model 0)
  std::vector<std::string> refused;  // manifest trees: "<candidate>: <why>" for each refused one
  template <class V>
  void Fields(V& v) {
    v.Req("name", name);
    v.Opt("format", format);
    v.Opt("file_name", file_name);
    v.Opt("digest", digest);
    v.Opt("num_models", num_models);
    v.Opt("num_queries", num_queries);
    v.Opt("sim_seed", sim_seed);
    v.Opt("tasks", tasks);
    v.Opt("registered_by", registered_by);
    v.Opt("registered_at", registered_at);
    v.Opt("base", base);
    v.Opt("refused", refused);
  }
};

struct TreeReply {  // tree.register
  TreeInfo tree;
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
  }
};

// tree.list.
struct TreeListReply {
  std::vector<TreeInfo> trees;
  template <class V>
  void Fields(V& v) {
    v.Req("trees", trees);
  }
};

// One model of a tree (tree.show).
struct TreeModel {
  uint32_t index = 0;
  std::string digest;                      // hex model digest (docs/GEMD.md)
  std::map<std::string, double> accuracy;  // replay trees: per task, fraction in [0, 1], of the
                                           // source data (manifest trees: none, not yet measured)
  double popularity = 0;  // accuracy trees: the node diameter (download proxy); manifest trees:
                          // the manifest's downloads
  std::string name;       // the model's id in the CSV, or its name in the manifest
  std::string kind;       // manifest trees: "base", "finetune" or "adapter"
  template <class V>
  void Fields(V& v) {
    v.Req("index", index);
    v.Opt("digest", digest);
    v.Opt("accuracy", accuracy);
    v.Opt("popularity", popularity);
    v.Opt("name", name);
    v.Opt("kind", kind);
  }
};

// tree.show.
struct TreeShowReply {
  TreeInfo tree;
  std::vector<TreeModel> models;
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Opt("models", models);
  }
};

// Where a running search is: results spent of the budget, its round, survivors and leader.
struct JobProgress {
  uint64_t spent = 0;
  uint64_t budget = 0;
  uint32_t round = 0;
  uint32_t survivors = 0;
  uint32_t leader = 0;
  template <class V>
  void Fields(V& v) {
    v.Opt("spent", spent);
    v.Opt("budget", budget);
    v.Opt("round", round);
    v.Opt("survivors", survivors);
    v.Opt("leader", leader);
  }
};

// Where a round's evaluations ran (slurm executor, rev 7): one entry per (round, worker).
struct Placement {
  uint32_t round = 0;    // the search's round (1-based; 0 for methods without rounds)
  std::string worker;    // "123_4.0": Slurm job 123, array task 4, its first worker
  std::string node;      // the node it ran on
  std::string gpu;       // the node's GPU index(es) Slurm gave the worker ("" none)
  std::string device;    // what it evaluated on ("cpu:0", "cuda:0")
  uint32_t units = 0;    // units of this round it ran
  uint64_t results = 0;  // results of this search it produced in the round
  template <class V>
  void Fields(V& v) {
    v.Opt("round", round);
    v.Opt("worker", worker);
    v.Opt("node", node);
    v.Opt("gpu", gpu);
    v.Opt("device", device);
    v.Opt("units", units);
    v.Opt("results", results);
  }
};

// A search job as gemd reports (and persists) it.
struct JobInfo {
  uint64_t id = 0;
  std::string status;  // kJobQueued, ...
  std::string tree;
  std::string task;
  std::string method;
  // The method's revision when the job was created (gem::SearchMethodRevision; revision 5 of the
  // protocol). 0: recorded before revision 5, read as revision 1 (a "gem" job runs gem_v1).
  uint32_t method_revision = 0;
  uint32_t queries_per_model = 0;
  uint64_t seed = 0;
  std::string user;        // the client's claim
  int64_t uid = -1;        // the peer's uid from the ipc socket (SO_PEERCRED), -1 unknown
  std::string curve_key;   // tcp: the name of the authorised CURVE key that connected
  int64_t created_at = 0;  // unix seconds
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string device;     // the device(s) it last ran on: "cpu:0", or "cuda:0,cuda:1" spread
  uint32_t attempts = 0;  // runs started (1 + resumes)
  JobProgress progress;
  uint64_t evaluations_run = 0;     // of the last run: (model, query) pairs sent to the evaluator
  uint64_t evaluations_cached = 0;  // of the last run: pairs answered by the result cache
  int64_t chosen_model = -1;        // -1 until done
  std::string chosen_model_digest;
  std::string chosen_model_name;      // the tree's name for it
  std::string error;                  // why it failed, was cancelled or interrupted
  std::string executor;               // rev 7: "local" or "slurm" ("" in older records: local)
  std::vector<Placement> placements;  // rev 7, slurm: where each round's units ran (last run)
  template <class V>
  void Fields(V& v) {
    v.Req("id", id);
    v.Req("status", status);
    v.Opt("tree", tree);
    v.Opt("task", task);
    v.Opt("method", method);
    v.Opt("method_revision", method_revision);
    v.Opt("queries_per_model", queries_per_model);
    v.Opt("seed", seed);
    v.Opt("user", user);
    v.Opt("uid", uid);
    v.Opt("curve_key", curve_key);
    v.Opt("created_at", created_at);
    v.Opt("started_at", started_at);
    v.Opt("finished_at", finished_at);
    v.Opt("device", device);
    v.Opt("attempts", attempts);
    v.Opt("progress", progress);
    v.Opt("evaluations_run", evaluations_run);
    v.Opt("evaluations_cached", evaluations_cached);
    v.Opt("chosen_model", chosen_model);
    v.Opt("chosen_model_digest", chosen_model_digest);
    v.Opt("chosen_model_name", chosen_model_name);
    v.Opt("error", error);
    v.Opt("executor", executor);
    v.Opt("placements", placements);
  }
};

struct JobReply {  // search.start, search.status, search.cancel, search.resume
  JobInfo job;
  template <class V>
  void Fields(V& v) {
    v.Req("job", job);
  }
};

// search.list.
struct JobListReply {
  std::vector<JobInfo> jobs;
  template <class V>
  void Fields(V& v) {
    v.Req("jobs", jobs);
  }
};

// One round of a finished search (search.result).
struct RoundInfo {
  uint32_t round = 0;
  uint32_t survivors = 0;
  uint32_t queries_per_survivor = 0;
  uint64_t spent = 0;
  bool correlated = false;
  template <class V>
  void Fields(V& v) {
    v.Req("round", round);
    v.Opt("survivors", survivors);
    v.Opt("queries_per_survivor", queries_per_survivor);
    v.Opt("spent", spent);
    v.Opt("correlated", correlated);
  }
};

// search.result of a finished job. The confidence fields are NaN when the method does not
// estimate them.
// What a finished search saw of one model: the queries it asked it and the correct answers
// (for manifest trees: of the model's better prompt variant).
struct ModelTally {
  uint32_t index = 0;
  std::string name;
  double popularity = 0;  // downloads (manifest trees) or the replay CSV's popularity
  uint32_t pulls = 0;
  uint32_t wins = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("index", index);
    v.Opt("name", name);
    v.Opt("popularity", popularity);
    v.Opt("pulls", pulls);
    v.Opt("wins", wins);
  }
};

struct SearchResultReply {
  JobInfo job;
  uint64_t budget = 0;
  uint64_t spent = 0;
  double estimated_accuracy = 0;
  double ci_low = 0, ci_high = 0;
  double p_best = 0, p_top3 = 0;
  std::vector<RoundInfo> rounds;
  std::vector<ModelTally> models;  // every model of the tree, by index
  template <class V>
  void Fields(V& v) {
    v.Req("job", job);
    v.Opt("budget", budget);
    v.Opt("spent", spent);
    v.Opt("estimated_accuracy", estimated_accuracy);
    v.Opt("ci_low", ci_low);
    v.Opt("ci_high", ci_high);
    v.Opt("p_best", p_best);
    v.Opt("p_top3", p_top3);
    v.Opt("rounds", rounds);
    v.Opt("models", models);
  }
};

// One reply of the search.watch stream: "progress" (the job changed), "heartbeat" (nothing
// changed for kHeartbeatIntervalMs) or "end" (the job reached a final state; the last reply).
struct WatchEvent {
  std::string event;
  JobInfo job;
  template <class V>
  void Fields(V& v) {
    v.Req("event", event);
    v.Req("job", job);
  }
};

// cache.stats.
struct CacheStatsReply {
  std::string path;
  std::map<std::string, uint64_t> counters;  // e.g. entries, hits, misses, bytes (docs/GEMD.md)
  template <class V>
  void Fields(V& v) {
    v.Opt("path", path);
    v.Req("counters", counters);
  }
};

// cache.export.
struct CacheExportReply {
  std::string format;  // "csv"
  std::string content;
  uint64_t entries = 0;  // cached results in the export
  template <class V>
  void Fields(V& v) {
    v.Req("format", format);
    v.Req("content", content);
    v.Opt("entries", entries);
  }
};

// cache.import.
struct CacheImportReply {
  uint64_t imported = 0;
  uint64_t skipped = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("imported", imported);
    v.Opt("skipped", skipped);
  }
};

// info (rev 3): what gemd decides. Lists are in a stable order.
struct InfoReply {
  std::string version;                     // gemd's version
  uint32_t protocol = kVersion;            // the protocol version ...
  uint32_t revision = kRevision;           // ... and the revision within it
  std::vector<std::string> tasks;          // built-in tasks a manifest tree may name (gsm8k, ...)
  std::vector<std::string> methods;        // search methods search.start accepts
  std::string default_method;              // the method of a search.start without one
  uint32_t default_queries_per_model = 0;  // the N of a search.start with 0
  std::vector<std::string> formats;        // tree.register formats ("auto" first)
  std::string tree_name_rule;              // e.g. "[A-Za-z0-9._-]{1,64}; default: ..." (prose)
  uint32_t replay_queries = 0;             // accuracy trees: queries simulated per task by default
  uint64_t replay_sim_seed = 0;            // ... with this seed
  double replay_agreement = 0;             // ... and this agreement
  std::vector<std::string> executors;      // rev 7: executors search.start accepts here
  std::string default_executor;            // rev 7: the executor of a search.start without one
  template <class V>
  void Fields(V& v) {
    v.Opt("version", version);
    v.Opt("protocol", protocol);
    v.Opt("revision", revision);
    v.Opt("tasks", tasks);
    v.Opt("methods", methods);
    v.Opt("default_method", default_method);
    v.Opt("default_queries_per_model", default_queries_per_model);
    v.Opt("formats", formats);
    v.Opt("tree_name_rule", tree_name_rule);
    v.Opt("replay_queries", replay_queries);
    v.Opt("replay_sim_seed", replay_sim_seed);
    v.Opt("replay_agreement", replay_agreement);
    v.Opt("executors", executors);
    v.Opt("default_executor", default_executor);
  }
};

// cluster.status (rev 7): a worker gemd talks to.
struct ClusterWorker {
  std::string id;         // "123_4.0"
  std::string slurm_job;  // "123_4"
  std::string node;
  std::string gpu;
  std::string device;
  std::string tree;  // the tree it holds ("<tree>/<task>@<fingerprint>")
  bool busy = false;
  double idle_s = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("id", id);
    v.Opt("slurm_job", slurm_job);
    v.Opt("node", node);
    v.Opt("gpu", gpu);
    v.Opt("device", device);
    v.Opt("tree", tree);
    v.Opt("busy", busy);
    v.Opt("idle_s", idle_s);
  }
};

// cluster.status (rev 7): an array task of a worker job gemd submitted.
struct ClusterTask {
  std::string slurm_task;  // "123_4"
  std::string submission;  // "s3": its directory under the work dir
  std::string state;       // squeue's state (PENDING, RUNNING, ...), or ENDED
  std::string node;
  std::string reason;  // squeue's reason (why pending)
  uint32_t workers = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("slurm_task", slurm_task);
    v.Opt("submission", submission);
    v.Opt("state", state);
    v.Opt("node", node);
    v.Opt("reason", reason);
    v.Opt("workers", workers);
  }
};

struct ClusterStatusReply {
  bool enabled = false;  // the slurm executor is configured
  std::string endpoint;  // what workers dial
  std::string default_executor;
  std::vector<ClusterWorker> workers;
  std::vector<ClusterTask> tasks;
  std::map<std::string, uint64_t> counters;  // units_done, units_requeued, results_written, ...
  template <class V>
  void Fields(V& v) {
    v.Req("enabled", enabled);
    v.Opt("endpoint", endpoint);
    v.Opt("default_executor", default_executor);
    v.Opt("workers", workers);
    v.Opt("tasks", tasks);
    v.Opt("counters", counters);
  }
};

// shutdown.
struct ShutdownReply {
  std::string state;  // "stopping"
  template <class V>
  void Fields(V& v) {
    v.Req("state", state);
  }
};

struct EmptyReply {  // the body of an error reply
  template <class V>
  void Fields(V&) {}
};

// ---- report replies (rev 4; docs/PROTOCOL.md, "Reports") ------------------------------------

// One model of a tree, for a report (ReportTreeReply::models).
struct ReportModel {
  uint32_t index = 0;
  std::string name;
  std::string kind;        // "base", "finetune", "adapter" (manifest trees); "" (replay trees)
  std::string relation;    // manifest trees: the manifest's relation ("" when it states none)
  int64_t parent = -1;     // the index of its parent in this tree; -1 none or not in the tree
  double popularity = -1;  // downloads (or a replay file's proxy); -1 unknown
  std::string digest;      // hex model digest (docs/GEMD.md)
  std::string folder;      // manifest trees: the model's folder on gemd's host
  // What the cache holds for the task: per config (prompt variant; replay trees have one), the
  // queries with a result and the correct ones among them.
  std::vector<uint32_t> answered;
  std::vector<uint32_t> correct;
  bool complete = false;  // every query has a result in every variant
  template <class V>
  void Fields(V& v) {
    v.Req("index", index);
    v.Opt("name", name);
    v.Opt("kind", kind);
    v.Opt("relation", relation);
    v.Opt("parent", parent);
    v.Opt("popularity", popularity);
    v.Opt("digest", digest);
    v.Opt("folder", folder);
    v.Opt("answered", answered);
    v.Opt("correct", correct);
    v.Opt("complete", complete);
  }
};

// report.tree (and the tree of report.search).
struct ReportTreeReply {
  TreeInfo tree;
  std::string task;
  uint32_t num_queries = 0;         // the task's queries
  uint32_t variants = 1;            // configs per query (manifest trees: the two prompt variants)
  std::vector<ReportModel> models;  // by index
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Opt("task", task);
    v.Opt("num_queries", num_queries);
    v.Opt("variants", variants);
    v.Opt("models", models);
  }
};

// One round of a search's trace (gem::RoundTrace): survivors by model index, and each survivor's
// queries and correct answers so far.
struct ReportRound {
  uint32_t round = 0;
  std::vector<uint32_t> survivors;
  uint32_t queries_per_survivor = 0;
  uint64_t spent = 0;
  bool correlated = false;
  std::vector<uint32_t> pulls;
  std::vector<uint32_t> wins;
  template <class V>
  void Fields(V& v) {
    v.Req("round", round);
    v.Opt("survivors", survivors);
    v.Opt("queries_per_survivor", queries_per_survivor);
    v.Opt("spent", spent);
    v.Opt("correlated", correlated);
    v.Opt("pulls", pulls);
    v.Opt("wins", wins);
  }
};

// A search's per-round trace as gemd persists it (docs/GEMD.md, "Store layout": trace/<id>).
struct SearchTraceRecord {
  std::vector<ReportRound> rounds;
  template <class V>
  void Fields(V& v) {
    v.Opt("rounds", rounds);
  }
};

// report.search.
struct ReportSearchReply {
  SearchResultReply result;
  ReportTreeReply tree;
  bool trace_recorded = false;  // false: the job ran on a gemd that kept no trace
  std::vector<ReportRound> rounds;
  template <class V>
  void Fields(V& v) {
    v.Req("result", result);
    v.Req("tree", tree);
    v.Opt("trace_recorded", trace_recorded);
    v.Opt("rounds", rounds);
  }
};

using ReplyBody = std::variant<EmptyReply, HealthReply, TreeReply, TreeListReply, TreeShowReply,
                               JobReply, JobListReply, SearchResultReply, WatchEvent,
                               CacheStatsReply, CacheExportReply, CacheImportReply, ShutdownReply,
                               InfoReply, ReportTreeReply, ReportSearchReply, ClusterStatusReply>;

struct Reply {
  uint64_t id = 0;
  std::string type;   // the request's type ("" when the request's type was unreadable)
  Status status;      // OK, or the error
  bool more = false;  // more replies to this id follow (search.watch)
  ReplyBody body;     // EmptyReply when !status.ok()
};

// ---- records gemd persists (docs/GEMD.md, "Store layout") ----------------------------------

// The msgpack encoding of a record: the same map as on the wire. Instantiated for JobInfo,
// SearchResultReply and SearchTraceRecord (gemd's job records; tree records are libgem's,
// docs/SEARCHABLE.md). DecodeRecord fails with Corruption naming the problem and leaves *record
// unspecified.
template <class M>
std::string EncodeRecord(const M& record);
template <class M>
Status DecodeRecord(std::string_view bytes, M* record);

// ---- encoding and decoding -------------------------------------------------------------------

// The frame for `request` (its type comes from the body's alternative).
std::string EncodeRequest(const Request& request);

// Decodes one request frame. On failure returns the problem and still fills out->id and
// out->type as far as they could be read, so the error reply can echo them.
// Errors: ResourceExhausted (frame larger than max_frame_bytes), InvalidArgument (not msgpack,
// truncated, trailing bytes, not a map, missing or mistyped field), NotSupported (other protocol
// version, unknown request type).
Status DecodeRequest(std::string_view frame, Request* out,
                     size_t max_frame_bytes = kDefaultMaxFrameBytes);

// The frame for `reply`. An error reply carries no body.
std::string EncodeReply(const Reply& reply);
// Builds an error reply.
Reply ErrorReply(uint64_t id, std::string type, Status status);

// Decodes a reply frame; the body alternative follows the reply's type (docs/PROTOCOL.md).
// Errors as DecodeRequest.
Status DecodeReply(std::string_view frame, Reply* out,
                   size_t max_frame_bytes = kDefaultMaxFrameBytes);

// The reply body as a JSON object (gemctl --json): the same field names as on the wire; NaN
// becomes null. An error reply gives {"error": {"code", "name", "message"}}.
std::string ReplyBodyJson(const Reply& reply, int indent = 2);

}  // namespace gem::protocol

#endif  // GEM_PROTOCOL_H_
