// Copyright the gem authors. Cache: every evaluation ever made, keyed by content digests.
//
// One entry per (model, query, config), holding the result: correct or not, the generated text
// (or, above CacheOptions::max_inline_output bytes, only its SHA-256 and length), tokens in and
// out, time taken, the grader's reason and the prompt variant. Keys are content digests, never
// names (gem/digest.h):
//   model  - the hash of the weights (base plus delta or adapter); computed by the tree part.
//   query  - the hash of the prompt content and the grader settings; computed by the task part.
//   config - the hash of decoding parameters, prompt template, system-prompt variant and engine
//            version: ConfigDigest(EvalConfig) below.
// Names (model name, task name, query id) are labels kept beside the results for display and
// export; they never decide a lookup. docs/CACHE.md documents the key layout and value encoding
// (versioned), durability, and the import/export formats (gem/cache_io.h).
//
// Typical use (gemd):
//   auto store = Store::Open(data_dir + "/db");             // one per data directory
//   Cache cache(store->get());                              // shared by every search
//   CachedEvaluator ev(&cache, &engine_or_replay, model_digests, query_digests, config,
//                      {.task = task_digest});
//   Search(options, &ev, &result);   // hits answered by MultiGet, misses by one inner call
//   ev.evaluations_run(), ev.evaluations_cached();
//
// Durability: each Put/PutBatch is one atomic RocksDB write through the WAL, fsync'ed when the
// Store was opened with StoreOptions::sync (the default). CachedEvaluator writes a batch's results
// as soon as the inner evaluator returns them, so a crash loses at most the batch in flight (bound
// its size with CachedEvaluatorOptions::max_inner_batch); an evaluator that produces results one
// by one may also Put() each itself.
//
// Thread-safety: a Cache is thread-safe: every method may be called concurrently (RocksDB is
// thread-safe and the Cache holds no other mutable state), so one Cache is shared by all
// concurrent searches in gemd. Concurrent writes of the same key: last writer wins (both are
// results of the same deterministic evaluation). A CachedEvaluator follows the Evaluator rule
// (one search at a time); its counters may be read from any thread.
#ifndef GEM_CACHE_H_
#define GEM_CACHE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/digest.h"
#include "gem/evaluator.h"
#include "gem/status.h"
#include "gem/store.h"

namespace gem {

// ---------------------------------------------------------------------------------------------
// Keys and values

// The identity of one result. Encoded as model || query || config (96 bytes, docs/CACHE.md).
struct ResultKey {
  Digest model;
  Digest query;
  Digest config;

  static constexpr size_t kEncodedSize = 96;
  std::string Encode() const;
  static Result<ResultKey> Decode(std::string_view bytes);  // Corruption unless 96 bytes

  friend bool operator==(const ResultKey&, const ResultKey&) = default;
  friend auto operator<=>(const ResultKey&, const ResultKey&) = default;
};

// Where a result came from. Persisted: do not renumber.
enum class ResultSource : uint8_t {
  kEvaluated = 0,       // written by CachedEvaluator / an evaluator
  kImportedCsv = 1,     // ImportMatrixCsv
  kImportedLmEval = 2,  // ImportLmEvalSamples
};

// Generated text up to this many bytes is stored in the entry; longer text is stored as its
// SHA-256 and length only (generations are normally far shorter; a runaway generation should not
// bloat every export and lookup).
inline constexpr size_t kDefaultMaxInlineOutput = 16 * 1024;

struct CachedResult {
  uint8_t correct = 0;                  // 1 when the grader accepted the output
  std::string output;                   // the generated text, when kept (see output_digest)
  std::optional<Digest> output_digest;  // set when the text was too long to keep: its SHA-256
  uint64_t output_bytes = 0;            // length of the full generated text
  std::string reason;                   // the grader's reason
  uint32_t tokens_in = 0;
  uint32_t tokens_out = 0;
  float seconds = 0;    // wall time of this evaluation
  uint8_t variant = 0;  // prompt variant (0: no system prompt)
  ResultSource source = ResultSource::kEvaluated;
  int64_t written_unix_ms = 0;  // set by the cache on write when 0
  // Imports: who imported it (gemd writes the importer's principal, "uid:1000" or "key:alice";
  // "" when unknown). gemd's searches use another user's imports only when an admin trusts the
  // importer (docs/SECURITY.md). Value field 12, appended in 2026-12 (older values: "").
  std::string imported_by;

  // Builds a result from an evaluator's answer; keeps the text when it is at most
  // `max_inline_output` bytes, else its digest and length.
  static CachedResult FromDetail(uint8_t correct, const EvalDetail& detail,
                                 size_t max_inline_output = kDefaultMaxInlineOutput);
  // The EvalDetail an evaluator would have given (output empty when only the digest is kept).
  EvalDetail ToDetail() const;

  // The value encoding (msgpack, versioned; docs/CACHE.md).
  std::string Encode() const;
  static Result<CachedResult> Decode(std::string_view bytes);  // Corruption names the problem
};

// ---------------------------------------------------------------------------------------------
// Config digests

// Everything about how a query is evaluated that is not the model or the query itself. Two
// evaluations with equal EvalConfig must give equal results (greedy decoding is deterministic),
// so its digest is part of every key. Text fields hold CONTENT (the template text, the system
// prompt text), not names, so editing a template changes the digest.
struct EvalConfig {
  std::string engine_version;   // e.g. "gem-engine 0.1.0"; "replay" for replayed matrices
  std::string prompt_template;  // the chat template text ("" when prompts are raw)
  std::string system_prompt;    // the system-prompt variant text ("" = none)
  uint32_t max_new_tokens = 0;
  double temperature = 0;  // 0 = greedy (gem evaluates greedily)
  double top_p = 1;
  uint32_t top_k = 0;  // 0 = off
  double repetition_penalty = 1;
  std::vector<std::string> stop;  // stop strings, in order
  uint64_t seed = 0;              // sampling seed (irrelevant when greedy, still hashed)
  std::string extra;              // any further setting, canonical "key=value\n" lines, sorted
};

// SHA-256 over a domain tag "gem.config.v1" and every field of `config` in declaration order,
// each as a length-prefixed Hasher::Field (doubles as their IEEE-754 bits, little-endian; the stop
// list as its count then each string). Stable across builds and platforms; docs/CACHE.md.
Digest ConfigDigest(const EvalConfig& config);

// What a digest labels.
enum class LabelKind : uint8_t {
  kModel = 'm',
  kTask = 't',
  kQuery = 'q',
  kConfig = 'c',
};

// The digest of something known only by name (imported results, replayed matrices): SHA-256 over
// "gem.name.v1", the kind, and the name. Distinct kinds never collide. Prefer real content
// digests whenever the content is available.
Digest NameDigest(LabelKind kind, std::string_view name);

// The digest of query `query_id` of a task known only by ids (e.g. a plain matrix import):
// NameDigest(kQuery, task.Hex() + "/" + query_id). Query ids repeat across tasks, so the task is
// part of it.
Digest QueryNameDigest(const Digest& task, std::string_view query_id);

// ---------------------------------------------------------------------------------------------
// The cache

struct CacheOptions {
  // See kDefaultMaxInlineOutput. Applies to FromDetail() calls the cache makes (CachedEvaluator).
  size_t max_inline_output = kDefaultMaxInlineOutput;
};

struct Label {
  LabelKind kind = LabelKind::kModel;
  Digest digest;
  std::string name;
};

// One query of a task, in the task's order.
struct TaskQuery {
  uint32_t ordinal = 0;  // position in the task
  Digest query;
  std::string id;  // the query's label ("" when none)
};

struct TaskStats {
  Digest task;
  std::string name;      // label ("" when none)
  uint64_t queries = 0;  // registered queries (RegisterTask / imports)
  uint64_t results = 0;  // results indexed under the task (all configs)
  uint64_t models = 0;   // distinct models with at least one result
  uint64_t configs = 0;  // distinct configs with at least one result
};

struct CacheStats {
  std::string path;
  uint32_t format_version = 0;
  uint64_t results = 0;  // entries in the results family (exact count)
  uint64_t labels = 0;
  uint64_t size_on_disk_bytes = 0;  // the whole store (all families)
  std::vector<TaskStats> tasks;     // by task name, then digest
};

class Cache {
 public:
  // Uses the result families of `store`. REQUIRES: store outlives the Cache.
  explicit Cache(Store* store, const CacheOptions& options = {});
  // Opens a store at `path` and a cache over it; the cache owns the store (store() gives it).
  static Result<std::unique_ptr<Cache>> Open(const std::string& path,
                                             const StoreOptions& store_options = {},
                                             const CacheOptions& options = {});
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  Store* store() const { return store_; }
  const CacheOptions& options() const { return options_; }

  // --- results ---
  // Writes one result (atomic, durable on return). When `task` is given, also indexes the result
  // under that task (see ForEachTaskResult). Overwrites an existing entry.
  Status Put(const ResultKey& key, const CachedResult& result, const Digest* task = nullptr);
  // Writes results[i] under keys[i], all in one atomic write. REQUIRES: equal sizes.
  Status PutBatch(std::span<const ResultKey> keys, std::span<const CachedResult> results,
                  const Digest* task = nullptr);
  // NotFound when absent; Corruption when the stored value does not decode.
  Status Get(const ResultKey& key, CachedResult* result) const;
  // One batched lookup: (*results)[i] is the entry of keys[i] or nullopt. Fails on the first
  // I/O error or undecodable value.
  Status MultiGet(std::span<const ResultKey> keys,
                  std::vector<std::optional<CachedResult>>* results) const;
  // Like MultiGet without decoding: found[i] = 1 when keys[i] has an entry.
  // REQUIRES: found.size() == keys.size().
  Status MultiContains(std::span<const ResultKey> keys, std::span<uint8_t> found) const;
  // Calls fn for every result of `model` (any query, any config), in key order; fn returns false
  // to stop. (A model-prefix scan; keys start with the model digest.)
  Status ForEachModelResult(const Digest& model,
                            const std::function<bool(const ResultKey&)>& fn) const;

  // --- labels ---
  Status SetLabel(LabelKind kind, const Digest& digest, std::string_view name);
  Status SetLabels(std::span<const Label> labels);  // one atomic write
  Status GetLabel(LabelKind kind, const Digest& digest, std::string* name) const;  // NotFound
  // Every digest of `kind` labelled exactly `name` (a scan over that kind's labels).
  Result<std::vector<Digest>> FindByLabel(LabelKind kind, std::string_view name) const;

  // --- tasks ---
  // Records a task: its label and its queries in order (ordinal = position), with their ids as
  // query labels (query_ids empty, or the same size as queries). Re-registering replaces the
  // ordinals of the given queries; queries registered before and absent now stay listed.
  Status RegisterTask(const Digest& task, std::string_view name, std::span<const Digest> queries,
                      std::span<const std::string> query_ids = {});
  // The registered queries of a task, by ordinal (empty when none).
  Result<std::vector<TaskQuery>> TaskQueries(const Digest& task) const;
  // Calls fn for every result indexed under `task` (restricted to `config` when given), grouped
  // by config then model then query digest. fn returns false to stop.
  Status ForEachTaskResult(const Digest& task, const Digest* config,
                           const std::function<bool(const ResultKey&)>& fn) const;
  // The configs with results under `task`.
  Result<std::vector<Digest>> TaskConfigs(const Digest& task) const;
  // Every task known to the cache (labelled, registered or with indexed results).
  Result<std::vector<Digest>> Tasks() const;
  // A task from what a user typed: a 64-hex digest, a unique hex prefix (>= 8 chars) of a known
  // task, or an exact task label. InvalidArgument when ambiguous (the message lists candidates),
  // NotFound when nothing matches.
  Result<Digest> ResolveTask(std::string_view name_or_hex) const;
  // Same for models (labels of kind kModel; digests from ForEachTaskResult / labels).
  Result<Digest> ResolveModel(std::string_view name_or_hex) const;

  // --- stats ---
  // Counts by scanning (O(entries); fine for millions, meant for `gemctl cache stats`).
  Result<CacheStats> Stats() const;

 private:
  std::unique_ptr<Store> owned_store_;
  Store* store_;
  CacheOptions options_;
};

// ---------------------------------------------------------------------------------------------
// CachedEvaluator

struct CachedEvaluatorOptions {
  // Index written results under this task (for export and per-task stats). Recommended.
  std::optional<Digest> task;
  // Write results of misses back to the cache (false: read-through only, e.g. a dry run).
  bool write_back = true;
  // Which cached results this search may use (empty: all). A result it refuses counts as a miss:
  // it is evaluated again and the fresh result replaces it. gemd uses it so that one user's
  // imported results never decide another user's search unless an admin trusts them.
  // Called concurrently only if the evaluator is; must not block for long.
  std::function<bool(const CachedResult&)> accept = nullptr;
  // Send misses to the inner evaluator in calls of at most this many requests (0: all misses of
  // an Evaluate() call in one inner call), each written back as soon as it returns. Bounds what
  // a crash can lose at the price of smaller engine batches.
  uint32_t max_inner_batch = 0;
};

// Wraps any Evaluator with the cache: for each Evaluate() batch, one MultiGet for all requests;
// hits are answered from the cache (EvalOutcome::from_cache = 1, details from the entry); the
// distinct missing pairs go to the inner evaluator (one call, or chunks of max_inner_batch), and
// their results are written back (one atomic PutBatch per inner call) before Evaluate() returns.
// A pair repeated within one batch is evaluated once; its further occurrences count as cached.
// A miss keeps the inner evaluator's from_cache flag (a replay evaluator may set it).
//
// With inner == nullptr the evaluator answers only from the cache: a miss fails the batch with
// NotFound naming the model and query (use Known() to ask first). This is how results imported
// from elsewhere are searched.
//
// With options.accept set, a cached result it refuses is treated exactly like a missing one
// (Known() then reads the entries instead of only testing for them).
//
// Counters: evaluations_run() counts requests sent to the inner evaluator, evaluations_cached()
// requests answered without it; their sum is the number of requests answered. Known() answers
// from the cache only and counts nothing.
//
// Errors: a cache read error fails the batch before the inner evaluator runs; an inner error is
// returned as is (nothing of that inner call is written); a write-back error is returned after
// the outcomes are filled (the answers are right, they were just not persisted).
class CachedEvaluator final : public Evaluator {
 public:
  // model_digests[i] is the digest of model i, query_digests[j] of query j.
  // REQUIRES: cache (and inner, when given) outlive this object; when inner is given,
  // inner->num_models() == model_digests.size() and inner->num_queries() == query_digests.size().
  CachedEvaluator(Cache* cache, Evaluator* inner, std::vector<Digest> model_digests,
                  std::vector<Digest> query_digests, const Digest& config,
                  CachedEvaluatorOptions options = {});

  uint32_t num_models() const override;
  uint32_t num_queries() const override;
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override;
  Status Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) override;

  uint64_t evaluations_run() const { return run_.load(std::memory_order_relaxed); }
  uint64_t evaluations_cached() const { return cached_.load(std::memory_order_relaxed); }
  // Inner Evaluate() calls made (0 on a fully cached repeat).
  uint64_t inner_calls() const { return inner_calls_.load(std::memory_order_relaxed); }

  ResultKey KeyOf(const EvalRequest& request) const;

 private:
  Cache* cache_;
  Evaluator* inner_;
  std::vector<Digest> models_;
  std::vector<Digest> queries_;
  Digest config_;
  CachedEvaluatorOptions options_;
  std::atomic<uint64_t> run_{0};
  std::atomic<uint64_t> cached_{0};
  std::atomic<uint64_t> inner_calls_{0};
};

}  // namespace gem

#endif  // GEM_CACHE_H_
