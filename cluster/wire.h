// Copyright the gem authors. The worker protocol: how gem-worker and gemd talk (version 1).
//
// docs/WORKER_PROTOCOL.md is the specification in prose; this header is its code. A gem-worker
// (usually a task of a Slurm job, docs/CLUSTER.md) connects a DEALER socket to gemd's worker
// ROUTER over tcp with CURVE (the worker's key is its Slurm job's, gemd's is pinned). Every
// message is one frame holding one msgpack map, {"v": kWireVersion, "type": T, "body": {...}},
// with T one of the message structs' kType below. Field names are the same in the structs, on
// the wire and in the prose.
//
//   worker -> gemd   hello, ready, loaded, result, heartbeat, bye
//   gemd -> worker   welcome, refuse, load, unit, heartbeat, stop
//
// A session: hello -> welcome; then the worker says `ready` whenever it can take a unit; gemd
// answers with `load` first when the unit's tree is not the one the worker holds (the worker
// builds it and answers `loaded` with its fingerprint, which must equal gemd's), then `unit`;
// the worker evaluates it and sends `result`, then `ready` again. Both sides send `heartbeat`
// when they have sent nothing else for heartbeat_ms; a peer silent for liveness x heartbeat_ms
// is gone. A unit is leased: gemd accepts a result only for a lease it still holds; a unit whose
// worker is gone is leased again to another worker (docs/WORKER_PROTOCOL.md, "Faults").
//
// Decoding never throws and never trusts the frame (the codec of gemd's client protocol,
// libgem/src/protocol/codec.h): wrong types, missing fields, unknown types and other versions
// are non-OK Statuses whose message names the field. Unknown fields are ignored.
//
// Thread-safety: all functions are reentrant; the structs are plain values.
#ifndef GEM_CLUSTER_WIRE_H_
#define GEM_CLUSTER_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gem/digest.h"
#include "gem/status.h"

namespace gem::cluster {

// Bumped on any incompatible change (docs/WORKER_PROTOCOL.md keeps the history).
inline constexpr uint32_t kWireVersion = 1;

// Defaults of the liveness settings; gemd sends the ones it uses in `welcome`.
inline constexpr uint32_t kDefaultHeartbeatMs = 1000;
inline constexpr uint32_t kDefaultLiveness = 5;

// ---- worker -> gemd --------------------------------------------------------------------------

// The first message of a session (and again after gemd restarted: see `refuse`).
struct Hello {
  static constexpr const char* kType = "hello";
  std::string worker;  // unique: "<slurm job>.<task>" ("123_4.0"), or "<host>:<pid>" outside Slurm
  std::string slurm_job;  // "123_4" (array job 123, task 4), "123", or "" outside Slurm
  std::string node;       // Slurm's node name (SLURMD_NODENAME), else the host name
  std::string device;     // what it evaluates on, gemd's vocabulary: "cpu:0", "cuda:0"
  std::string gpu;        // the node's GPU index(es) Slurm gave it (SLURM_STEP_GPUS), "" if none
  uint64_t pid = 0;
  std::string version;  // gem version of the worker binary
  std::string tree;     // the tree it holds (a Load's `tree`), "" when none
  template <class V>
  void Fields(V& v) {
    v.Req("worker", worker);
    v.Opt("slurm_job", slurm_job);
    v.Opt("node", node);
    v.Req("device", device);
    v.Opt("gpu", gpu);
    v.Opt("pid", pid);
    v.Opt("version", version);
    v.Opt("tree", tree);
  }
};

// The worker can take one more unit.
struct Ready {
  static constexpr const char* kType = "ready";
  template <class V>
  void Fields(V&) {}
};

// The answer to `load`: the fingerprint of the tree the worker built (TreeFingerprint), or why
// it could not build it.
struct Loaded {
  static constexpr const char* kType = "loaded";
  std::string tree;
  std::string fingerprint;  // hex; "" on error
  std::string error;        // "" on success
  double seconds = 0;       // time to build it (loading a base model takes long)
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Opt("fingerprint", fingerprint);
    v.Opt("error", error);
    v.Opt("seconds", seconds);
  }
};

// One evaluated (query, variant) of a unit: what the engine's gem::EvalDetail holds.
struct QueryResult {
  uint32_t query = 0;
  uint32_t variant = 0;
  bool correct = false;
  std::string output;
  std::string reason;
  uint32_t tokens_in = 0;
  uint32_t tokens_out = 0;
  double seconds = 0;
  template <class V>
  void Fields(V& v) {
    v.Req("query", query);
    v.Opt("variant", variant);
    v.Req("correct", correct);
    v.Opt("output", output);
    v.Opt("reason", reason);
    v.Opt("tokens_in", tokens_in);
    v.Opt("tokens_out", tokens_out);
    v.Opt("seconds", seconds);
  }
};

// A unit's results: every (query, variant) the unit asked for, or `error` when the evaluation
// failed (an engine or grader error; it fails the search, as it would locally).
struct UnitResult {
  static constexpr const char* kType = "result";
  uint64_t unit = 0;
  uint64_t lease = 0;
  std::vector<QueryResult> results;
  std::string error;
  double seconds = 0;  // wall time of the unit on the worker
  template <class V>
  void Fields(V& v) {
    v.Req("unit", unit);
    v.Req("lease", lease);
    v.Opt("results", results);
    v.Opt("error", error);
    v.Opt("seconds", seconds);
  }
};

struct Heartbeat {
  static constexpr const char* kType = "heartbeat";
  template <class V>
  void Fields(V&) {}
};

// The worker leaves (SIGTERM from scancel or preemption, its idle or lost timeout, a `stop`).
// gemd leases its unfinished units to other workers at once.
struct Bye {
  static constexpr const char* kType = "bye";
  std::string reason;
  template <class V>
  void Fields(V& v) {
    v.Opt("reason", reason);
  }
};

// ---- gemd -> worker --------------------------------------------------------------------------

struct Welcome {
  static constexpr const char* kType = "welcome";
  std::string worker;  // the id gemd knows it by
  uint32_t heartbeat_ms = kDefaultHeartbeatMs;
  uint32_t liveness = kDefaultLiveness;
  template <class V>
  void Fields(V& v) {
    v.Req("worker", worker);
    v.Opt("heartbeat_ms", heartbeat_ms);
    v.Opt("liveness", liveness);
  }
};

// gemd does not (or no longer) know this worker: after `hello` the worker may not join (another
// protocol version, its job is no longer gemd's); after any other message (gemd restarted and
// lost the session) it should say hello again. `rejoin` says which.
struct Refuse {
  static constexpr const char* kType = "refuse";
  std::string reason;
  bool rejoin = false;
  template <class V>
  void Fields(V& v) {
    v.Opt("reason", reason);
    v.Opt("rejoin", rejoin);
  }
};

// Build this tree (and drop the one held): its tree record (gem::EncodeTreeRecord, as gemd
// stores it), the task the units will ask, and where the node finds gemd's data dir (deltas,
// adapters) and the built-in tasks.
struct Load {
  static constexpr const char* kType = "load";
  std::string tree;      // an id for this tree in this session: "<name>@<fingerprint prefix>"
  std::string record;    // gem::EncodeTreeRecord bytes
  std::string task;      // the task's name
  std::string data_dir;  // gemd's data dir as the node sees it
  std::string origin_data_dir;  // gemd's data dir as gemd sees it (paths in the record use it)
  std::string tasks_dir;
  double replay_delay_ms = 0;  // replay trees: pretend each evaluation takes this long (gemd's
                               // replay.eval_delay_ms, for demos and tests)
  template <class V>
  void Fields(V& v) {
    v.Req("tree", tree);
    v.Req("record", record);
    v.Req("task", task);
    v.Opt("data_dir", data_dir);
    v.Opt("origin_data_dir", origin_data_dir);
    v.Opt("tasks_dir", tasks_dir);
    v.Opt("replay_delay_ms", replay_delay_ms);
  }
};

// Evaluate model `model` of the loaded tree on `queries` of the task, in each prompt variant of
// `variants` (replay trees: only 0). Indices are the tree's model order and the task's query
// order.
struct Unit {
  static constexpr const char* kType = "unit";
  uint64_t unit = 0;
  uint64_t lease = 0;
  uint64_t job = 0;  // gemd's search job, for the worker's log
  std::string tree;
  uint32_t model = 0;
  std::vector<uint32_t> queries;
  std::vector<uint32_t> variants;
  template <class V>
  void Fields(V& v) {
    v.Req("unit", unit);
    v.Req("lease", lease);
    v.Opt("job", job);
    v.Req("tree", tree);
    v.Req("model", model);
    v.Req("queries", queries);
    v.Req("variants", variants);
  }
};

// Leave: finish nothing more, say bye and exit (gemd releases the worker: idle, or stopping).
struct Stop {
  static constexpr const char* kType = "stop";
  std::string reason;
  template <class V>
  void Fields(V& v) {
    v.Opt("reason", reason);
  }
};

using Message = std::variant<Hello, Ready, Loaded, UnitResult, Heartbeat, Bye, Welcome, Refuse,
                             Load, Unit, Stop>;

// One frame. Encode never fails.
std::string Encode(const Message& message);
// Decodes one frame of at most max_bytes. InvalidArgument / NotSupported naming the problem.
Status Decode(std::string_view frame, Message* out, size_t max_bytes = 1u << 30);
// "hello", "unit", ... of a decoded message.
const char* TypeOf(const Message& message);

// What gemd and a worker must agree on before a unit is sent: SHA-256 over the domain tag
// "gem.cluster.tree.v1", then every model digest, the task digest, every query digest and every
// config digest (one per prompt variant), each as a Hasher::Field, with the counts first. Equal
// fingerprints mean that model i, query j and variant v name the same cache key on both sides.
Digest TreeFingerprint(const std::vector<Digest>& models, const Digest& task,
                       const std::vector<Digest>& queries, const std::vector<Digest>& configs);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_WIRE_H_
