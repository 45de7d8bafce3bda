// Copyright the gem authors. Searchable trees: a model tree (or a replay source), registered once,
// opened ready to search with the result cache in front of it.
//
// A SearchableTree is what a search needs of a tree: its models (name, cache digest, popularity),
// its tasks (queries and their cache digests) and the configs its results are cached under.
// There are two kinds:
//   * a manifest tree: real models, a base and its fine-tunes and LoRA adapters
//     (docs/MANIFEST.md). Registration turns every fine-tune into a lossless delta in the data dir
//     (gem/tree.h); the open tree holds its base model resident and its tasks (custom JSONL, or
//     built-in benchmarks loaded from tasks_dir). A search runs the inference engine
//     (gem/engine_evaluator.h) in both prompt variants and scores each model by its better one.
//   * a replay source: a per-model accuracy CSV, each *_pct column a task simulated into a 0/1
//     matrix exactly as gem::SimulatePopulation does (seed, queries and agreement are kept in the
//     record), or a real 0/1 matrix CSV (one task). A search replays the matrix.
// Either way MakeEvaluator() builds the whole evaluator stack, the cache in front, so repeated and
// overlapping searches (by any program on the same store) pay only for what nobody evaluated
// before; search_options() gives the options gem::Search needs beyond method, budget and seed.
// CountCachedAnswers() says what the cache holds of a task, model by model (a report's data).
//
// The tree record. Registration returns a tree whose record() holds all that is needed to open
// it again: the replay file's bytes, the simulation parameters, the tasks' JSONL, the
// registration outcome of every candidate. It is stored once: StoreTree() puts it in a cache's
// store (family "trees", key = the tree's name) and OpenStoredTree() opens it from there; nothing
// is written to <data_dir>/trees/ (docs/SEARCHABLE.md, "Tree records", version 2). Records of
// version 1, which gemd wrote before this part existed (a store record plus
// <data_dir>/trees/<name>.json), are read as they are.
//
// Cache identities (docs/SEARCHABLE.md, "Digests"). Manifest trees use content digests: model =
// weights digest (adapters: base and adapter digests), task and query = the task's content
// (gem/task.h), config = each prompt variant's EvalConfig; so their results are shared with every
// libgem program on the same models and tasks. Replay trees derive theirs from the CSV's bytes:
//   content  = SHA-256(file bytes)
//   model i  = H("gem.replay.model.v1", content, i)              i = the row index in the file
//   task     = H("gem.replay.task.v1", content, task, simulation)
//   query j  = H("gem.replay.query.v1", content, task, simulation, j)
//   config   = gem::ConfigDigest({engine_version = "gem.replay.v1"})
// (H: SHA-256 over gem::Hasher fields; simulation = "sim:<seed>:<queries>:<agreement %.17g>" for
// accuracy trees, "matrix" for matrix trees). Two names for one file share every result. These
// strings are persisted in every cache key: never change them.
//
// Example: a search on a registered tree (docs/examples/search_tree.cc, which the tests build):
//   gem::SearchableOptions options;
//   options.data_dir = data_dir;
//   auto cache = gem::Cache::Open(data_dir + "/db");
//   auto tree = gem::OpenStoredTree(cache->get(), "demo-tree", options);
//   auto evaluator = gem::MakeEvaluator(**tree, "demo_add", cache->get());
//   gem::SearchResult result;
//   gem::Status s = gem::Search((*tree)->search_options(), evaluator->get(), &result);
// (each Result checked with ok() before use).
//
// Thread-safety: a SearchableTree is immutable once returned and may be shared by any number of
// threads. Searches of manifest trees on the same base take turns (MakeEvaluator waits for the
// base; the TreeEvaluator holds it until destroyed). A TreeEvaluator is used by one search at a
// time. ResidentBases is thread-safe. Register() of manifest trees into one data dir must not run
// concurrently (they write the same delta files).
#ifndef GEM_SEARCHABLE_TREE_H_
#define GEM_SEARCHABLE_TREE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gem/cache.h"
#include "gem/digest.h"
#include "gem/engine_evaluator.h"
#include "gem/evaluator.h"
#include "gem/model.h"
#include "gem/population.h"
#include "gem/sandbox.h"
#include "gem/search.h"
#include "gem/status.h"
#include "gem/store.h"
#include "gem/task.h"
#include "gem/tree.h"

namespace gem {

// ---------------------------------------------------------------------------------------------
// Resident base models

// A base model loaded once and turned into each candidate in turn (tensor overrides, gem/tree.h).
// `mu` is held by the TreeEvaluator using the model, for its whole life.
struct ResidentBase {
  std::string path;              // the checkpoint directory it was loaded from
  Digest digest;                 // its weights digest (RegisteredTree::base_digest)
  std::string device;            // "" (the shared copy trees open with) or the device it is
                                 // a copy for, e.g. "cpu:2" (ResidentBases::Get)
  std::mutex mu;                 // held while a search uses `model`
  std::unique_ptr<Model> model;  // with its tokenizer; used only under mu
};

// The base models of every open manifest tree, by weights digest: trees on one base share it.
// Thread-safe. Bases stay loaded until the pool and every tree holding one are gone.
class ResidentBases {
 public:
  // `threads`: engine threads of each loaded model (0 = all cores). `log`, optional, gets a line
  // per load ("base model <path> resident (1.2 s; weights bf16 x112, f32 x1)"), on the loading
  // thread. `weights`: how bases hold their weights (LoadOptions::weights: "stored", "f32" or a
  // weight type to quantise to).
  explicit ResidentBases(int threads = 0, std::function<void(const std::string&)> log = {},
                         std::string weights = "stored")
      : threads_(threads), log_(std::move(log)), weights_(std::move(weights)) {}

  // The resident base of `digest`, loading it from `path` (with its tokenizer) the first time.
  // `device` "" is the copy trees open with; any other name ("cpu:2") is a copy of its own for
  // that device, loaded once and kept, so that a search can spread over several devices
  // (TreeEvaluatorOptions::more_bases). A "cuda:<g>" or "cuda:<g>.<w>" copy runs through the CUDA
  // backend of GPU g (engine/cuda/backend_cuda.h; NotSupported in a build without CUDA). Errors
  // are the loader's (they name the file); InvalidArgument when it has no tokenizer.
  Result<std::shared_ptr<ResidentBase>> Get(const std::string& path, const Digest& digest,
                                            const std::string& device = "");

  size_t size() const;  // bases loaded (device copies included)

 private:
  const int threads_;
  const std::function<void(const std::string&)> log_;
  const std::string weights_;
  mutable std::mutex mu_;
  // By "<digest hex>@<device>"; guarded by mu_.
  std::map<std::string, std::shared_ptr<ResidentBase>> bases_;
};

// ---------------------------------------------------------------------------------------------
// What registration is given, and the record it returns

// A task of a manifest tree: a custom task's JSONL (docs/TASKS.md) or, with `content` empty,
// the name of a built-in benchmark (gem::BuiltinTaskNames()) loaded from tasks_dir.
struct TaskSource {
  std::string name;       // the task's name in searches, [A-Za-z0-9._-]{1,64}
  std::string content;    // JSONL bytes; "" for a built-in task
  std::string file_name;  // for messages only
};

// A tree to register: a manifest (by path) with its tasks, or a replay CSV (by content).
struct TreeSource {
  // The tree's name, [A-Za-z0-9._-]{1,64}. Empty: the source's own name, i.e. the manifest's
  // "name" (else its file's stem, as ReadManifest decides), or the replay file_name's stem.
  std::string name;
  // "manifest", "accuracy", "matrix" or "auto": manifest when `manifest` is set, else accuracy
  // when a header field ends in "_pct", else matrix.
  std::string format = "auto";
  std::string content;    // replay formats: the CSV's bytes (required for them)
  std::string file_name;  // replay formats: the file's name, for messages and the default name
  uint32_t queries = 0;   // accuracy trees: queries simulated per task (0: options.replay's)
  std::string task;       // matrix trees: the task the matrix answers ("" = "matrix")
  std::string manifest;   // manifest trees: the manifest's absolute path
  std::vector<TaskSource> tasks;  // manifest trees: at least one
};

// The tree record version this build writes (docs/SEARCHABLE.md, "Tree records").
inline constexpr uint32_t kTreeRecordVersion = 2;

// A registered tree as stored: what it was registered from and what registration found.
// A value; EncodeTreeRecord/DecodeTreeRecord give its persisted form.
struct TreeRecord {
  uint32_t version = kTreeRecordVersion;  // the version it was written in (1 or 2)
  std::string name;
  std::string format;     // "accuracy", "matrix" or "manifest" (never "auto")
  std::string file_name;  // replay: the CSV's file name; manifest: the manifest's path
  std::string digest;     // hex SHA-256 of the CSV's bytes or of the manifest file
  uint32_t num_models = 0;
  uint32_t num_queries = 0;          // replay: per task; manifest: the largest task's
  uint64_t sim_seed = 0;             // accuracy trees: the simulation's seed ...
  double agreement = 0;              // ... and agreement (num_queries is its Q)
  std::vector<std::string> tasks;    // task names, sorted
  std::string registered_by;         // who registered it (free text; gemd: the user)
  int64_t registered_at = 0;         // unix seconds
  std::string base;                  // manifest trees: the base model's name (model 0)
  std::vector<std::string> refused;  // manifest trees: "<candidate>: <why>" per refusal
  TreeSource source;                 // as given (content and task contents kept)
  // Manifest trees, version 2: the registration outcome (deltas, adapters, digests).
  std::optional<RegisteredTree> registration;
  // Manifest trees, version 1: the name of the record file <data_dir>/trees/<name>.json that
  // holds the registration outcome instead.
  std::string legacy_record_name;
};

// The persisted form (msgpack, docs/SEARCHABLE.md). Encoding fails only for a registration that
// JSON cannot hold (InvalidArgument, e.g. a path that is not UTF-8). Decoding reads versions 1
// and 2 and fails with Corruption naming the problem, or NotSupported for a newer version.
Result<std::string> EncodeTreeRecord(const TreeRecord& record);
Result<TreeRecord> DecodeTreeRecord(std::string_view bytes);

// ---------------------------------------------------------------------------------------------
// The tree

// One model of a tree, in the tree's order (manifest trees: the base first, then each
// registered candidate in manifest order; replay trees: the CSV's rows).
struct SearchableModel {
  std::string name;       // the manifest's name for it, or the CSV's model id
  Digest digest;          // its cache identity
  double popularity = 0;  // downloads (manifest; 0 when unknown) or the CSV's popularity
  std::string kind;       // manifest trees: "base", "finetune" or "adapter"; replay: ""
  // Whether `popularity` was given (the manifest states the model's downloads, the CSV has a
  // popularity column) rather than 0 for unknown.
  bool popularity_known = false;
  // Manifest trees (replay trees: -1, "", ""): the model its manifest entry names as `parent`,
  // as an index into models() (-1 for the base, and for a parent that is not a model of the
  // tree); the manifest's `relation` to it ("" when it states none; docs/MANIFEST.md); and its
  // folder (for fine-tunes and adapters the directory the manifest named).
  int parent = -1;
  std::string relation;
  std::string folder;
};

// One task of a tree.
struct SearchableTask {
  std::string name;
  std::string column;                 // accuracy trees: the CSV column it comes from
  Population population;              // replay trees: the 0/1 matrix and its accuracies
  std::shared_ptr<const Task> task;   // manifest trees: the queries the engine answers
  Digest digest;                      // its cache identity
  std::vector<Digest> query_digests;  // query j's cache identity
  uint32_t num_queries() const { return static_cast<uint32_t>(query_digests.size()); }
  // Query j's label: the task's id for it, or "q<j>" for replayed queries.
  std::string query_id(uint32_t j) const;
};

struct SearchableOptions {
  // Manifest trees: where registration stores deltas and adapters (created if needed), and where
  // an open tree finds them. Required for manifest trees. Default: "".
  std::string data_dir;
  // Where built-in tasks are loaded from. Default "": gem::DefaultTasksDir().
  std::string tasks_dir;
  // Accuracy trees: the simulation a registration uses (num_queries when the source gives none;
  // seed; agreement). Recorded with the tree, so later changes do not change registered trees.
  SimulationOptions replay;
  // Share base models with other trees. Default nullptr: the tree loads its own base.
  ResidentBases* bases = nullptr;
  // Engine threads of a base the tree loads itself (0 = all cores).
  int threads = 0;
  // Register only: recorded as TreeRecord::registered_by.
  std::string registered_by;
  // Register only, optional: called with the tree's name once it is known, before anything
  // expensive; a non-OK status ends the registration with it (gemd: "the name is taken").
  std::function<Status(const std::string& name)> check_name;
  // Optional progress lines ("ft-math: writing xor delta"), on the registering thread.
  std::function<void(const std::string&)> progress;
};

namespace searchable_internal {
struct TreeBuilder;
}

class SearchableTree {
 public:
  enum class Kind : uint8_t { kReplay, kManifest };

  // Registers `source` (see TreeSource and the top of this file) and returns the open tree;
  // its record() is the tree record to store (StoreTree). Nothing is stored by this call.
  // Errors: InvalidArgument for a bad or missing name, an empty replay file, a CSV that does not
  // parse (the message names line and column), a relative manifest path, no task, a bad task
  // name or a task given twice, a malformed task (file and line), a manifest none of whose
  // candidates fits the base (each named with why); NotFound for a manifest, model file or
  // built-in task that does not exist; check_name's status; the loader's errors (they name the
  // file). Errors after the name is known carry "tree '<name>'" as context.
  static Result<std::shared_ptr<const SearchableTree>> Register(const TreeSource& source,
                                                                const SearchableOptions& options);

  // Opens a registered tree from its record: parses (and for accuracy trees simulates) the
  // replay file, or loads the manifest tree's tasks and makes its base resident. Deterministic
  // in the record and the files it names. Errors: those of Register's steps; NotFound when a
  // version 1 record's file or a delta is missing.
  static Result<std::shared_ptr<const SearchableTree>> Open(const TreeRecord& record,
                                                            const SearchableOptions& options);

  const TreeRecord& record() const { return record_; }
  const std::string& name() const { return record_.name; }
  Kind kind() const { return kind_; }

  uint32_t num_models() const { return static_cast<uint32_t>(models_.size()); }
  const std::vector<SearchableModel>& models() const { return models_; }
  std::vector<Digest> model_digests() const;

  // Tasks sorted by name.
  const std::vector<SearchableTask>& tasks() const { return tasks_; }
  // nullptr when the tree has no such task.
  const SearchableTask* FindTask(std::string_view name) const;
  // FindTask, or NotFound naming the task and the tree's tasks ("tree 'x' answers: a, b").
  Result<const SearchableTask*> GetTask(std::string_view name) const;
  std::string TaskList() const;  // "gsm8k, mbpp, routerbench"

  // The configs results are cached under: 1 for replay trees, kNumPromptVariants for manifest
  // trees (variant v's, v = 0 without a system prompt, 1 with).
  uint32_t num_variants() const { return static_cast<uint32_t>(configs_.size()); }
  // Variant v's config digest; InvalidArgument for a variant the tree has not (the message
  // says which it has).
  Result<Digest> config_digest(uint32_t variant) const;

  // What gem::Search needs of this tree: the popularity prior (when every model has one) and
  // shuffle_queries = false (a task's order is already a seeded permutation, so repeated and
  // overlapping searches land on the same queries and reuse the cache). Set method,
  // queries_per_model and seed on the copy.
  SearchOptions search_options() const;

  // Manifest trees: the engine candidates (model i = candidates()[i]) and the resident base.
  // Empty / nullptr for replay trees.
  const std::vector<EngineCandidate>& candidates() const { return candidates_; }
  const std::shared_ptr<ResidentBase>& base() const { return base_; }

 private:
  friend struct searchable_internal::TreeBuilder;
  SearchableTree() = default;

  TreeRecord record_;
  Kind kind_ = Kind::kReplay;
  std::vector<SearchableModel> models_;
  bool has_popularity_ = false;  // every model has one (SearchableModel::popularity)
  std::vector<SearchableTask> tasks_;
  std::vector<Digest> configs_;
  std::vector<EngineCandidate> candidates_;
  std::shared_ptr<ResidentBase> base_;
};

// ---------------------------------------------------------------------------------------------
// Stored trees

// Stores `tree`'s record in the cache's store (family "trees", key = its name; a record of that
// name is replaced) and labels its digests in the cache (models "<tree>/<model>", tasks
// "<tree>/<task>" with their query ids, configs), so exports and stats read by name.
// IOError from the store; InvalidArgument from EncodeTreeRecord.
Status StoreTree(Cache* cache, const SearchableTree& tree);

// Every tree record in `store`, by name. A record that does not decode is not returned: its
// Corruption status (naming the key) goes to *unreadable when given. IOError from the store.
Result<std::vector<TreeRecord>> ReadStoredTrees(const Store& store,
                                                std::vector<Status>* unreadable = nullptr);

// Opens the tree stored under `name` (NotFound naming it when there is none).
Result<std::shared_ptr<const SearchableTree>> OpenStoredTree(Cache* cache, std::string_view name,
                                                             const SearchableOptions& options);

// ---------------------------------------------------------------------------------------------
// What the cache holds of a tree

// One model's cached results for one task of a tree.
struct CachedAnswers {
  std::vector<uint32_t> answered;  // per variant (config_digest(v)): queries with a result
  std::vector<uint32_t> correct;   // per variant: the correct ones among them
  bool complete = false;  // every query of the task has a result in every variant (and it has some)
};

// What `cache` holds of `task` for each model of `tree` (by model index): the data of a tree's
// hidden-gem report (gem/report.h, docs/REPORT.md; gemd's report.tree). It walks the task's index
// in the cache (the results written for this task, as cache export reads them) and reads each
// result found, so its cost grows with what was evaluated, not with models x queries: 0.1 s for
// a 450-model replay tree with 4,499 results, 5 s with all its 1.1 million (a 2-core machine
// under load). Results of other models, queries or configs under the task are not counted.
// Errors: NotFound for an unknown task (listing the tree's); the cache's IOError or Corruption.
Result<std::vector<CachedAnswers>> CountCachedAnswers(const SearchableTree& tree,
                                                      std::string_view task, const Cache& cache);

// ---------------------------------------------------------------------------------------------
// The evaluator stack

struct TreeEvaluatorOptions {
  // Optional: when it becomes true, the next chunk (and a wait for the base) ends with
  // Status::Aborted("search stopped"). Pass the same flag as SearchOptions::cancel.
  const std::atomic<bool>* stop = nullptr;
  // Replay trees: make each replayed (model, query) take this long, as a real evaluation would,
  // so progress and cancellation can be seen and tested. Sleeps in 20 ms slices. Default 0.
  double delay_ms = 0;
  // Optional, the executor seam: what answers the cache's misses instead of the replayed matrix
  // or this process's engine, e.g. gemd's Slurm workers (docs/CLUSTER.md). below_cache(v) is the
  // evaluator of prompt variant v, for each v < tree.num_variants(); it must outlive the
  // TreeEvaluator and write each result it produces to the cache itself (the caches above it
  // do not write back, and pass a batch's misses at once: max_inner_batch and delay_ms are not
  // used). In the stack below, below_cache(v) takes the place of the matrix or the engine
  // variant; a manifest tree's base is then neither waited for nor used.
  std::function<Evaluator*(uint32_t variant)> below_cache;
  // Send cache misses below in chunks of at most this many requests, each written to the cache
  // as it returns (CachedEvaluatorOptions::max_inner_batch; 0 = a batch's misses at once).
  uint32_t max_inner_batch = 0;
  // Manifest trees: where generated code runs (e.g. hidden_paths = {the data dir}).
  SandboxHost sandbox;
  // Optional: which cached results this search may use (CachedEvaluatorOptions::accept; gemd:
  // evaluations, the job owner's own imports and trusted importers'). A refused result counts
  // as a miss: it is evaluated again and overwritten. Empty: every cached result.
  std::function<bool(const CachedResult&)> accept;
  // Manifest trees, optional: the engine's progress lines, on the evaluating thread.
  std::function<void(const std::string&)> progress;
  // Optional: called after each chunk that went below the cache, on the evaluating thread (live
  // progress within a round: a round of a large tree can take long on a real engine).
  std::function<void()> after_chunk;
  // Manifest trees, optional: further resident copies of the tree's base, one per further
  // device (ResidentBases::Get with that device's name). Each batch's models are then dealt over
  // the tree's base and these (gem/spread_evaluator.h), one engine per copy running on a thread
  // of its own; the search's result and its cache entries are the same as on one device. The
  // evaluator holds every copy, like the tree's base, until it is destroyed. Default: none.
  std::vector<std::shared_ptr<ResidentBase>> more_bases;
  // Manifest trees, optional: the resident copy of the tree's base the search runs on instead of
  // the one trees open with (a GPU worker's own copy, ResidentBases::Get with its name); more
  // copies may still come from more_bases. Default: the tree's.
  std::shared_ptr<ResidentBase> base;
};

// The stack MakeEvaluator builds, outermost first:
//   replay trees:    CachedEvaluator -> stop/delay -> MatrixEvaluator (the replayed 0/1 matrix;
//                    its answers count as evaluations run)
//   manifest trees:  BetterVariantEvaluator -> per prompt variant v: CachedEvaluator (config v)
//                    -> stop -> EngineEvaluator::variant(v) (both variants generated together),
//                    or, with more_bases, -> stop -> SpreadEvaluator over one EngineEvaluator
//                    per resident copy
// It owns every layer and, for a manifest tree, holds the base (ResidentBase::mu), and every
// copy in more_bases, until it is destroyed. Counters count results: one per (model, query) for
// replay trees, one per variant (two per pair) for manifest trees.
class TreeEvaluator final : public Evaluator {
 public:
  ~TreeEvaluator() override;

  uint32_t num_models() const override;
  uint32_t num_queries() const override;
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override;
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) override;

  // Results not found in the cache (evaluated), and found there, since creation. Updated when
  // each Evaluate() returns.
  uint64_t evaluations_run() const;
  uint64_t evaluations_cached() const;
  // Results sent below the cache so far, updated after every chunk (so within an Evaluate()).
  uint64_t evaluations_passed() const;
  // Results per (model, query) pair: 1 (replay) or kNumPromptVariants (manifest).
  uint32_t results_per_pair() const;
  // Manifest trees: what the engine did, summed over its devices (zeros for replay trees).
  EngineEvaluator::Stats engine_stats() const;
  // Devices the evaluator runs on: 1, or 1 + more_bases.size().
  size_t num_devices() const;

  // Replaces TreeEvaluatorOptions::after_chunk. REQUIRES: no Evaluate() is running.
  void set_after_chunk(std::function<void()> fn);

 private:
  friend Result<std::unique_ptr<TreeEvaluator>> MakeEvaluator(const SearchableTree&,
                                                              std::string_view, Cache*,
                                                              TreeEvaluatorOptions);
  struct Impl;
  explicit TreeEvaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds the evaluator stack of `task` on `tree` behind `cache`. For a manifest tree it first
// waits for the tree's base (another search may hold it; returns Aborted("search stopped") if
// options.stop is set meanwhile). Errors: NotFound for an unknown task (listing the tree's);
// the engine evaluator's. REQUIRES: cache outlives the evaluator.
Result<std::unique_ptr<TreeEvaluator>> MakeEvaluator(const SearchableTree& tree,
                                                     std::string_view task, Cache* cache,
                                                     TreeEvaluatorOptions options = {});

}  // namespace gem

#endif  // GEM_SEARCHABLE_TREE_H_
