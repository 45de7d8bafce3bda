// Copyright the gem authors. Cache import and export: models x queries matrices and lm-eval logs.
//
// Formats (docs/CACHE.md has the full prose, versioned):
//
// Matrix CSV, "gem-matrix v1": one (task, config) as a models x queries table. RFC 4180 CSV,
// UTF-8, "\n" line ends:
//   line 1   # gem-matrix v1; task_digest=<hex>; config_digest=<hex>; task=<name>
//   line 2   model,model_digest,<query id 1>,...,<query id n>
//   line 3   #query_digest,,<hex 1>,...,<hex n>
//   then     <model name>,<model hex>,<cell>,...      one row per model
// A cell is 1 (correct), 0 (incorrect) or EMPTY: NOT EVALUATED (nothing cached for that pair).
// Columns follow the task's query order (registered ordinals, then unregistered queries by id);
// rows are sorted by model name then digest. Load in pandas with
//   pd.read_csv(path, skiprows=[0, 2], index_col=0).drop(columns="model_digest")
// With ExportOptions::with_digests = false, lines 1 and 3 and the model_digest column are left
// out: a plain matrix for spreadsheets, importable only by names.
//
// Import accepts that format, and the plain matrix (first column model names, header = query
// ids, cells 0/1/empty; also "true"/"false"). Names without digests are resolved through the
// cache's labels (task queries by id, models by name); still unknown names get
// NameDigest(kind, name) digests and labels (so the 0/1 matrices of ../shared/data import as is).
//
// lm-evaluation-harness samples_<task>_<date>.jsonl (written with --log_samples): one JSON object
// per line per (doc, filter) with doc_id, doc, target, arguments, resps, filtered_resps, filter,
// metrics, doc_hash, prompt_hash, target_hash and one field per metric (e.g. "exact_match": 1.0,
// "acc": 0.0). The importer maps, per selected line:
//   model      LmEvalImportOptions::model_name (required) -> model digest (given, or NameDigest)
//   task       task_name (default: from the file name) -> task digest (given, or NameDigest)
//   query      query_digests[doc_id] when given (the task part's digests for the same docs);
//              otherwise SHA-256("gem.lm-eval.query.v1", task name, doc_hash (or, when absent,
//              prompt_hash, else the doc_id), filter, metric); label = doc_id; ordinal = doc_id
//   config     given, or NameDigest(kConfig, "lm-eval") (labelled "lm-eval")
//   correct    the metric value: 1/1.0/true -> 1, 0/0.0/false -> 0; anything else is an error
//              naming the line (the metric must be a per-sample 0/1 score)
//   output     resps[0][0] when it is a string (the raw generation), else empty (loglikelihood
//              tasks log numbers, not text)
//   reason     "lm-eval <metric>=<value> filter=<filter> target=<target> extracted=<filtered>"
//   tokens, seconds: 0 (lm-eval does not log them); source kImportedLmEval
// The metric defaults to the first of exact_match, acc, pass@1, pass_at_1 that the first line has;
// the filter defaults to the first filter in the file (other filters' lines are skipped and
// reported in the summary's warnings). Gzipped files are not read (gunzip them first).
//
// Thread-safety: each function is thread-safe with respect to the Cache (see gem/cache.h).
#ifndef GEM_CACHE_IO_H_
#define GEM_CACHE_IO_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "gem/cache.h"
#include "gem/digest.h"
#include "gem/status.h"

namespace gem {

struct ExportOptions {
  // Which config's results; default: the task's only config (InvalidArgument listing the
  // configs when it has several; NotFound when it has none).
  std::optional<Digest> config;
  // Write the digest lines and column (the round-trippable format). See above.
  bool with_digests = true;
};

struct ExportSummary {
  Digest task;
  Digest config;
  uint32_t models = 0;
  uint32_t queries = 0;
  uint64_t cells_filled = 0;  // non-empty cells
};

// Writes the gem-matrix CSV of `task` to `out`. IOError when the stream fails.
Status ExportMatrixCsv(const Cache& cache, const Digest& task, const ExportOptions& options,
                       std::ostream& out, ExportSummary* summary = nullptr);

struct ImportSummary {
  Digest task;
  Digest config;
  uint64_t lines_read = 0;
  uint64_t results_written = 0;
  uint64_t results_kept = 0;  // already cached and kept (overwrite = false)
  uint64_t cells_empty = 0;   // matrix cells left empty (not evaluated)
  uint32_t models = 0;
  uint32_t queries = 0;
  std::vector<std::string> warnings;
};

struct MatrixImportOptions {
  // The task: default the file's task_digest line; else task_name's digest (label lookup, else
  // NameDigest). One of them must be present (InvalidArgument otherwise).
  std::optional<Digest> task;
  std::string task_name;
  // The config: default the file's config_digest; else NameDigest(kConfig, "imported").
  std::optional<Digest> config;
  // Replace results already cached (default: keep them; they are counted in results_kept).
  bool overwrite = false;
  // Recorded in every imported result (CachedResult::imported_by): who imported it.
  std::string imported_by = "";
};

// Imports a matrix CSV (`source_name` names it in messages). All results are written in one
// atomic write, after the whole file parsed; a malformed file writes nothing and the error names
// the line and column.
Status ImportMatrixCsv(Cache* cache, std::istream& in, const std::string& source_name,
                       const MatrixImportOptions& options, ImportSummary* summary = nullptr);

struct LmEvalImportOptions {
  std::string model_name;             // required: the model these samples are from (its label)
  std::optional<Digest> model;        // its weights digest when known; default NameDigest
  std::string task_name;              // default: <task> of samples_<task>_<date>.jsonl
  std::optional<Digest> task;         // default: label lookup of task_name, else NameDigest
  std::optional<Digest> config;       // default: NameDigest(kConfig, "lm-eval")
  std::string metric;                 // default: see above
  std::string filter;                 // default: the first filter in the file
  std::vector<Digest> query_digests;  // optional: indexed by doc_id
  bool overwrite = false;
  std::string imported_by = "";  // recorded in every imported result (CachedResult::imported_by)
};

// Imports one samples_*.jsonl file. `source_name` is the file name (used for the default task
// name and in messages). Atomic like ImportMatrixCsv.
Status ImportLmEvalSamples(Cache* cache, std::istream& in, const std::string& source_name,
                           const LmEvalImportOptions& options, ImportSummary* summary = nullptr);

// File-path conveniences (IOError naming the path when it cannot be opened).
Status ExportMatrixCsvFile(const Cache& cache, const Digest& task, const ExportOptions& options,
                           const std::string& path, ExportSummary* summary = nullptr);
Status ImportMatrixCsvFile(Cache* cache, const std::string& path,
                           const MatrixImportOptions& options, ImportSummary* summary = nullptr);
Status ImportLmEvalSamplesFile(Cache* cache, const std::string& path,
                               const LmEvalImportOptions& options,
                               ImportSummary* summary = nullptr);

}  // namespace gem

#endif  // GEM_CACHE_IO_H_
