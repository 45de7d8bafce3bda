// Copyright the gem authors. Population: a model tree as data, for replaying searches.
//
// The paper's experiments replay searches against a models x queries 0/1 matrix: entry (m, q) is
// 1 when model m answered query q correctly. Real per-query data is rarely public, so this header
// offers two ways to get one:
//   - from a per-model accuracy table (data/trees/*.csv: one row per model, an accuracy column and
//     a popularity column), by simulating a matrix whose row means reproduce the accuracies and
//     whose answers agree across models the way fine-tunes of one base do (SimulatePopulation);
//   - from a real 0/1 matrix CSV (LoadMatrixCsv).
// MatrixEvaluator then answers a search from the matrix (gem::Evaluator).
//
// docs/SEARCH.md ("Population simulator") describes the simulator's model, the imputation of
// clipped values and the agreement it produces; the CSV formats are described below and there.
//
// Thread-safety: TreeTable, Population and ResponseMatrix are values; const access from many
// threads is safe. A MatrixEvaluator is used by one search at a time (as every Evaluator), but any
// number of MatrixEvaluators may share one const ResponseMatrix across threads.
#ifndef GEM_POPULATION_H_
#define GEM_POPULATION_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gem/evaluator.h"
#include "gem/status.h"

namespace gem {

// ---------------------------------------------------------------------------------------------
// Per-model accuracy tables (data/trees/*.csv).
//
// Format: comma-separated, first line a header naming the columns; one line per model; '#' lines
// and blank lines are ignored. Columns used (others are ignored):
//   node_id                 model id (optional; the 0-based row number when absent)
//   <metric>                accuracy, in percent when the name ends in "_pct" (else in [0, 1])
//   <metric stem>_clipped   optional; 1 where the value is only an upper bound (the figure's
//                           colour scale bottomed out), e.g. routerbench_total_clipped
//   <popularity column>     optional; larger = more popular (downloads, or diameter_pt)

struct TreeCsvOptions {
  // The accuracy column. Default: the paper's Table 2 metric.
  std::string metric = "routerbench_total_pct";
  // The popularity column; when absent from the file, TreeTable::popularity is left empty.
  std::string popularity_column = "diameter_pt";
};

struct TreeTable {
  std::string name;                    // the file's stem ("qwen2.5_3b"), or the name given
  std::string metric;                  // the accuracy column that was read
  std::vector<std::string> model_ids;  // node_id values (or row numbers)
  std::vector<double> accuracy;        // in [0, 1]; clipped rows hold the upper bound shown
  std::vector<uint8_t> clipped;        // 1 = value is an upper bound (all 0 without the column)
  std::vector<double> popularity;      // empty when the file has no popularity column

  uint32_t size() const { return static_cast<uint32_t>(accuracy.size()); }
};

// Parses a tree table from CSV text. `name` labels the result (and error messages). Fails with
// InvalidArgument naming the line and column when the metric column is missing, a value does not
// parse or is outside [0, 100] (percent) / [0, 1], or there are no rows.
Result<TreeTable> ParseTreeCsv(std::string_view text, const TreeCsvOptions& options = {},
                               std::string_view name = "tree");
// Reads and parses a file; IOError when it cannot be read. The name is the file's stem.
Result<TreeTable> LoadTreeCsv(const std::string& path, const TreeCsvOptions& options = {});

// ---------------------------------------------------------------------------------------------
// A bit-packed models x queries 0/1 matrix.
class ResponseMatrix {
 public:
  ResponseMatrix() = default;
  // All zeros. REQUIRES: num_queries > 0 when num_models > 0.
  ResponseMatrix(uint32_t num_models, uint32_t num_queries);

  uint32_t num_models() const { return num_models_; }
  uint32_t num_queries() const { return num_queries_; }

  // REQUIRES: model < num_models(), query < num_queries().
  bool Get(uint32_t model, uint32_t query) const {
    return (bits_[static_cast<size_t>(model) * words_ + (query >> 6)] >> (query & 63)) & 1u;
  }
  void Set(uint32_t model, uint32_t query, bool correct);

  // Number of queries the model answers correctly / its accuracy over all queries.
  uint32_t RowCount(uint32_t model) const;
  double RowMean(uint32_t model) const;
  // Queries on which both models are correct.
  uint32_t BothCorrect(uint32_t a, uint32_t b) const;

 private:
  uint32_t num_models_ = 0;
  uint32_t num_queries_ = 0;
  size_t words_ = 0;            // 64-bit words per row
  std::vector<uint64_t> bits_;  // row-major, words_ per model
};

// A replayable population: the matrix plus what a replay reports beside it.
struct Population {
  std::string name;    // e.g. "qwen2.5_3b"
  std::string metric;  // e.g. "routerbench_total_pct" ("matrix" for CSVs)
  std::vector<std::string> model_ids;
  std::vector<double> popularity;  // empty when unknown
  std::shared_ptr<const ResponseMatrix> matrix;
  // Exhaustive accuracy of each model = the matrix's row means (what ranks are computed from).
  std::vector<double> accuracy;
  // For simulated populations: the per-model accuracy the simulation aimed at, after imputing
  // clipped values (row means equal it up to rounding to whole queries). Empty for real matrices.
  std::vector<double> target_accuracy;

  uint32_t size() const { return static_cast<uint32_t>(accuracy.size()); }
};

// ---------------------------------------------------------------------------------------------
// The simulator (docs/SEARCH.md, "Population simulator").
//
// Item-response model with one shared latent: every query q has an easiness z_q ~ N(0,1) shared
// by all models (all are fine-tunes of one base, so they find the same queries easy), and model
// m's propensity on q is  L_mq = sqrt(agreement) * z_q + sqrt(1 - agreement) * e_mq  with
// e_mq ~ N(0,1) independent. Model m is correct on exactly round(a_m * Q) queries: those with the
// highest L_mq. So row means reproduce the accuracies exactly (to 1/Q), agreement = 1 gives
// perfectly nested answers (a stronger model is right wherever a weaker one is), agreement = 0
// gives independent models. MeasureAgreement() reports what a given setting produces.
struct SimulationOptions {
  // Q: queries per model in the matrix. The paper's subsample has 2,500 (Appendix C).
  uint32_t num_queries = 2500;
  // Every random draw of the simulation derives from this seed.
  uint64_t seed = 0;
  // Correlation of two models' propensities on a query, in [0, 1] (see above). The default is
  // documented and measured in docs/SEARCH.md.
  double agreement = 0.99;
  // The population's true mean accuracy in [0, 1] (e.g. the paper's Random Selection accuracy),
  // or NaN when unknown. When given, clipped rows are imputed below their shown bound so that the
  // mean of all rows equals it (docs/SEARCH.md, "Population simulator", item 4); when unknown,
  // clipped rows keep the bound shown. Fails with InvalidArgument when the mean cannot be reached
  // (above the mean with every clipped row at its bound, or below what clipped rows at 0 give).
  double population_mean = std::numeric_limits<double>::quiet_NaN();
};

// The per-model accuracies the simulator aims at: the table's, with clipped rows imputed as
// described for SimulationOptions::population_mean. Deterministic (no randomness).
Result<std::vector<double>> ImputeClipped(const TreeTable& tree, double population_mean);

// Limits checked before anything is allocated (InvalidArgument naming them when exceeded).
inline constexpr uint32_t kMaxSimulatedQueries = 10'000'000;
inline constexpr uint64_t kMaxSimulatedCells = uint64_t{1} << 31;  // 256 MiB of answer bits

// Builds a population from a tree table. Deterministic in (tree, options).
Result<Population> SimulatePopulation(const TreeTable& tree, const SimulationOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Real 0/1 matrices.
//
// Format: comma-separated; one line per model; '#' lines and blank lines are ignored. The first
// line is a header when any of its fields is not 0/1; header columns named "model" (or
// "model_id", "node_id", "name") hold model ids and "popularity" the popularity; every other
// column is a query whose cells must be 0 or 1. Without a header every column is a query. All
// rows must have the same number of fields. Fails with InvalidArgument naming line and column.
Result<Population> ParseMatrixCsv(std::string_view text, std::string_view name = "matrix");
Result<Population> LoadMatrixCsv(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Measurements.

// How alike the models' answers are, over pairs of models drawn from `models` (all when empty).
struct AgreementStats {
  uint32_t pairs = 0;
  // Mean fraction of queries on which a pair is both right or both wrong.
  double agreement = 0;
  // The same for independent models with the same accuracies (the coin-flip baseline).
  double agreement_independent = 0;
  // Nestedness: mean over pairs (weaker w, stronger s) of P(s correct | w correct). 1 = nested.
  double nestedness = 0;
  // Mean fraction of queries on which a pair disagrees (the variance a shared-query difference
  // estimate pays per query; independent sampling pays about 2 a (1 - a) instead).
  double disagreement = 0;
  // Mean Pearson correlation (phi) of two models' answers across queries.
  double phi = 0;
};
AgreementStats MeasureAgreement(const ResponseMatrix& matrix,
                                std::span<const uint32_t> models = {});

// Ranks by accuracy, 1 = best, ties sharing their averaged rank (the paper's Table 2 convention:
// Best Base's 56.5). Values equal to within 1e-12 are ties.
std::vector<double> AverageRanks(std::span<const double> accuracy);

// ---------------------------------------------------------------------------------------------
// An Evaluator that answers from a ResponseMatrix. Cheap: one bit read per request. Not
// thread-safe (like any Evaluator); the matrix itself may be shared by many evaluators on many
// threads.
class MatrixEvaluator final : public Evaluator {
 public:
  // REQUIRES: matrix != nullptr. `replay_record`: outcomes carry from_cache = 1 (the answer is a
  // record, no model ran: gem-replay). Pass false to let the matrix stand in for an engine, e.g.
  // behind a cache under test, so its answers count as fresh evaluations.
  explicit MatrixEvaluator(std::shared_ptr<const ResponseMatrix> matrix, bool replay_record = true);

  uint32_t num_models() const override { return matrix_->num_models(); }
  uint32_t num_queries() const override { return matrix_->num_queries(); }

  // InvalidArgument (naming the request) when a model or query index is out of range.
  // `details`, when given, is resized and left empty.
  Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) override;
  // Known(): the Evaluator default (nothing is known in advance).

  // Requests answered so far (for budget checks in tests and benches).
  uint64_t evaluations() const { return evaluations_; }
  const ResponseMatrix& matrix() const { return *matrix_; }

 private:
  std::shared_ptr<const ResponseMatrix> matrix_;
  uint8_t from_cache_ = 1;
  uint64_t evaluations_ = 0;
};

}  // namespace gem

#endif  // GEM_POPULATION_H_
