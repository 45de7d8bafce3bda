// Copyright the gem authors. Import and export: the gem-matrix CSV round trip, plain matrices,
// malformed input, and lm-evaluation-harness samples_*.jsonl (hand-written, see data/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cache_test_util.h"
#include "gem/cache.h"
#include "gem/cache_io.h"

namespace gem {
namespace {

using testing::CountingMatrixEvaluator;
using testing::D;
using testing::Digests;
using testing::TempDir;

const std::string kData = std::string(GEM_SOURCE_DIR) + "/tests/cache/data";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::unique_ptr<Cache> OpenCache(const TempDir& dir, const std::string& name) {
  auto c = Cache::Open(dir.Sub(name));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

// A cache with task "arith" (10 registered queries q0..q9), three labelled models (one name
// holds a comma and a quote) and part of the 3 x 10 matrix evaluated: row 0 all queries, rows
// 1-2 queries 0-5 only.
struct Populated {
  TempDir dir;
  std::unique_ptr<Cache> cache = OpenCache(dir, "a");
  std::vector<Digest> models = Digests("weights", 3);
  std::vector<Digest> queries = Digests("prompt", 10);
  Digest task = D("arith task");
  Digest config = D("greedy config");
  CountingMatrixEvaluator inner{testing::RandomMatrix(3, 10, 3)};

  Populated() {
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) ids.push_back("q" + std::to_string(i));
    EXPECT_TRUE(cache->RegisterTask(task, "arith", queries, ids).ok());
    EXPECT_TRUE(cache
                    ->SetLabels(std::vector<Label>{{LabelKind::kModel, models[0], "zeta-base"},
                                                   {LabelKind::kModel, models[1], "alpha, \"v2\""},
                                                   {LabelKind::kModel, models[2], "mid"}})
                    .ok());
    CachedEvaluatorOptions o;
    o.task = task;
    CachedEvaluator ev(cache.get(), &inner, models, queries, config, o);
    std::vector<EvalRequest> req;
    for (uint32_t q = 0; q < 10; ++q) req.push_back({0, q});
    for (uint32_t m = 1; m < 3; ++m)
      for (uint32_t q = 0; q < 6; ++q) req.push_back({m, q});
    std::vector<EvalOutcome> out(req.size());
    EXPECT_TRUE(ev.Evaluate(req, out, nullptr).ok());
  }
};

std::string Export(const Cache& c, const Digest& task, bool digests = true,
                   std::optional<Digest> config = {}, ExportSummary* sum = nullptr) {
  std::ostringstream out;
  ExportOptions o;
  o.with_digests = digests;
  o.config = config;
  Status s = ExportMatrixCsv(c, task, o, out, sum);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out.str();
}

TEST(MatrixCsvTest, ExportLayoutCellsAndEmptyMeansNotEvaluated) {
  Populated p;
  ExportSummary sum;
  std::string csv = Export(*p.cache, p.task, true, {}, &sum);
  EXPECT_EQ(sum.models, 3u);
  EXPECT_EQ(sum.queries, 10u);
  EXPECT_EQ(sum.cells_filled, 22u);
  EXPECT_EQ(sum.config, p.config);
  auto lines = Lines(csv);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "# gem-matrix v1; task_digest=" + p.task.Hex() +
                          "; config_digest=" + p.config.Hex() + "; task=arith");
  EXPECT_EQ(lines[1], "model,model_digest,q0,q1,q2,q3,q4,q5,q6,q7,q8,q9");
  EXPECT_EQ(lines[2].substr(0, 15), "#query_digest,,");
  EXPECT_NE(lines[2].find(p.queries[9].Hex()), std::string::npos);
  // Rows sorted by name; the quoted name sorts by its text.
  std::string row_alpha = "\"alpha, \"\"v2\"\"\"," + p.models[1].Hex();
  for (uint32_t q = 0; q < 10; ++q) {
    row_alpha += ",";
    if (q < 6) row_alpha += std::to_string(p.inner.answer(1, q));
  }
  EXPECT_EQ(lines[3], row_alpha);
  EXPECT_EQ(lines[4].substr(0, 4), "mid,");
  std::string row_zeta = "zeta-base," + p.models[0].Hex();
  for (uint32_t q = 0; q < 10; ++q) row_zeta += "," + std::to_string(p.inner.answer(0, q));
  EXPECT_EQ(lines[5], row_zeta);

  auto plain = Lines(Export(*p.cache, p.task, false));
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain[0], "model,q0,q1,q2,q3,q4,q5,q6,q7,q8,q9");
  EXPECT_EQ(plain[3].substr(0, 10), "zeta-base,");
}

TEST(MatrixCsvTest, RoundTripIntoAFreshCacheKeepsDigestsAndAnswers) {
  Populated p;
  const std::string csv = Export(*p.cache, p.task);
  auto b = OpenCache(p.dir, "b");
  std::istringstream in(csv);
  ImportSummary sum;
  Status s = ImportMatrixCsv(b.get(), in, "export.csv", {}, &sum);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sum.task, p.task);
  EXPECT_EQ(sum.config, p.config);
  EXPECT_EQ(sum.results_written, 22u);
  EXPECT_EQ(sum.results_kept, 0u);
  EXPECT_EQ(sum.cells_empty, 8u);
  EXPECT_EQ(sum.models, 3u);
  EXPECT_EQ(sum.queries, 10u);
  EXPECT_EQ(Export(*b, p.task), csv);  // byte for byte

  // The imported results answer a search over the same digests without any evaluator.
  CachedEvaluator only(b.get(), nullptr, p.models, p.queries, p.config);
  std::vector<EvalRequest> req = {{0, 9}, {1, 5}, {2, 0}};
  std::vector<EvalOutcome> out(3);
  ASSERT_TRUE(only.Evaluate(req, out, nullptr).ok());
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(out[i].correct, p.inner.answer(req[i].model, req[i].query));
  }
  std::vector<uint8_t> known(1);
  ASSERT_TRUE(only.Known(std::vector<EvalRequest>{{1, 6}}, known).ok());
  EXPECT_EQ(known[0], 0);  // empty cell: not evaluated, not imported as 0

  // Importing again keeps what is there.
  std::istringstream again(csv);
  ASSERT_TRUE(ImportMatrixCsv(b.get(), again, "export.csv", {}, &sum).ok());
  EXPECT_EQ(sum.results_written, 0u);
  EXPECT_EQ(sum.results_kept, 22u);
}

TEST(MatrixCsvTest, PlainMatrixImportsByNames) {
  Populated p;
  const std::string plain = Export(*p.cache, p.task, false);
  auto c = OpenCache(p.dir, "c");
  std::istringstream in(plain);
  MatrixImportOptions o;
  o.task_name = "arith";
  ImportSummary sum;
  ASSERT_TRUE(ImportMatrixCsv(c.get(), in, "plain.csv", o, &sum).ok());
  EXPECT_EQ(sum.results_written, 22u);
  EXPECT_EQ(sum.task, NameDigest(LabelKind::kTask, "arith"));
  EXPECT_EQ(sum.config, NameDigest(LabelKind::kConfig, "imported"));
  // Same names, ids and cells (the digests are name-derived, so only the plain form matches).
  EXPECT_EQ(Export(*c, sum.task, false), plain);
  CachedResult r;
  ASSERT_TRUE(
      c->Get({NameDigest(LabelKind::kModel, "mid"), QueryNameDigest(sum.task, "q3"), sum.config},
             &r)
          .ok());
  EXPECT_EQ(r.correct, p.inner.answer(2, 3));
  EXPECT_EQ(r.source, ResultSource::kImportedCsv);
  // A second plain import into the same cache resolves the names through the labels.
  std::istringstream in2(plain);
  ASSERT_TRUE(ImportMatrixCsv(c.get(), in2, "plain.csv", o, &sum).ok());
  EXPECT_EQ(sum.results_written, 0u);
  EXPECT_EQ(sum.results_kept, 22u);
  // Without a task the import cannot know where the rows belong.
  std::istringstream in3(plain);
  Status s = ImportMatrixCsv(c.get(), in3, "plain.csv", {}, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST(MatrixCsvTest, MalformedFilesNameTheLineAndWriteNothing) {
  TempDir dir;
  auto c = OpenCache(dir, "db");
  MatrixImportOptions o;
  o.task_name = "t";
  struct Case {
    std::string text;
    std::string want;  // part of the message
  };
  std::vector<Case> cases = {
      {"model,a,b\nm1,1,0\nm2,1\n", "plain.csv:3"},
      {"model,a,b\nm1,1,2\n", "column 3"},
      {"model,a,b\nm1,1,\"0\nm2,0,0\n", "unterminated"},
      {"model,a,a\nm1,1,0\n", "repeated"},
      {"model,a\nm1,1\nm1,0\n", "appears twice"},
      {"model\nm1\n", "no query columns"},
      {"", "empty file"},
      {"# gem-matrix v2; task=t\nmodel,a\nm1,1\n", "newer"},
  };
  for (const auto& k : cases) {
    std::istringstream in(k.text);
    Status s = ImportMatrixCsv(c.get(), in, "plain.csv", o, nullptr);
    EXPECT_FALSE(s.ok()) << k.text;
    EXPECT_NE(s.message().find(k.want), std::string::npos) << s.ToString() << "\n" << k.text;
  }
  EXPECT_EQ(c->Stats()->results, 0u);
  EXPECT_EQ(c->Stats()->labels, 0u);
  // CRLF line ends, a byte-order mark and true/false cells are fine.
  std::istringstream ok("\xEF\xBB\xBFmodel,a,b\r\nm1,true,FALSE\r\nm2,, 1 \r\n");
  ImportSummary sum;
  ASSERT_TRUE(ImportMatrixCsv(c.get(), ok, "ok.csv", o, &sum).ok());
  EXPECT_EQ(sum.results_written, 3u);
  EXPECT_EQ(sum.cells_empty, 1u);
}

TEST(MatrixCsvTest, SeveralConfigsMustBeChosen) {
  Populated p;
  ASSERT_TRUE(
      p.cache->Put({p.models[0], p.queries[0], D("other config")}, CachedResult{}, &p.task).ok());
  std::ostringstream out;
  Status s = ExportMatrixCsv(*p.cache, p.task, {}, out);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find(p.config.Hex()), std::string::npos);
  ExportSummary sum;
  Export(*p.cache, p.task, true, D("other config"), &sum);
  EXPECT_EQ(sum.models, 1u);
  EXPECT_EQ(sum.cells_filled, 1u);
  EXPECT_EQ(sum.queries, 10u);  // registered queries are columns even when empty
  std::ostringstream none;
  EXPECT_TRUE(ExportMatrixCsv(*p.cache, D("unknown task"), {}, none).IsNotFound());
}

TEST(MatrixCsvTest, FileHelpersReportPaths) {
  Populated p;
  const std::string path = p.dir.Sub("m.csv");
  ASSERT_TRUE(ExportMatrixCsvFile(*p.cache, p.task, {}, path).ok());
  auto b = OpenCache(p.dir, "b");
  ImportSummary sum;
  ASSERT_TRUE(ImportMatrixCsvFile(b.get(), path, {}, &sum).ok());
  EXPECT_EQ(sum.results_written, 22u);
  Status s = ImportMatrixCsvFile(b.get(), p.dir.Sub("missing.csv"), {}, nullptr);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(s.message().find("missing.csv"), std::string::npos);
}

// --- lm-evaluation-harness samples ---

const std::string kGsmA = kData + "/model_a/samples_gsm8k_2024-06-01T10-00-00.123456.jsonl";
const std::string kGsmB = kData + "/model_b/samples_gsm8k_2024-06-01T10-00-00.123456.jsonl";
const std::string kArcA = kData + "/model_a/samples_arc_easy_2024-06-01T10-00-00.123456.jsonl";

TEST(LmEvalImportTest, GenerativeSamplesMapToResults) {
  TempDir dir;
  auto c = OpenCache(dir, "db");
  LmEvalImportOptions o;
  o.model_name = "model-a";
  ImportSummary sum;
  Status s = ImportLmEvalSamplesFile(c.get(), kGsmA, o, &sum);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sum.lines_read, 8u);
  EXPECT_EQ(sum.results_written, 4u);
  EXPECT_EQ(sum.queries, 4u);
  EXPECT_EQ(sum.task, NameDigest(LabelKind::kTask, "gsm8k"));  // from the file name
  EXPECT_EQ(sum.config, NameDigest(LabelKind::kConfig, "lm-eval"));
  ASSERT_EQ(sum.warnings.size(), 1u);
  EXPECT_NE(sum.warnings[0].find("flexible-extract"), std::string::npos);

  auto tq = c->TaskQueries(sum.task);
  ASSERT_TRUE(tq.ok());
  ASSERT_EQ(tq->size(), 4u);
  const Digest model = NameDigest(LabelKind::kModel, "model-a");
  const std::vector<uint8_t> strict = {1, 1, 0, 1};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*tq)[i].ordinal, i);
    EXPECT_EQ((*tq)[i].id, std::to_string(i));
    CachedResult r;
    ASSERT_TRUE(c->Get({model, (*tq)[i].query, sum.config}, &r).ok());
    EXPECT_EQ(r.correct, strict[i]) << "doc " << i;
    EXPECT_EQ(r.source, ResultSource::kImportedLmEval);
    EXPECT_NE(r.reason.find("filter=strict-match"), std::string::npos) << r.reason;
  }
  CachedResult r2;
  ASSERT_TRUE(c->Get({model, (*tq)[2].query, sum.config}, &r2).ok());
  EXPECT_EQ(r2.output, "12 * 14 = 168 pages, so the answer is 168.");
  EXPECT_NE(r2.reason.find("exact_match=0.0"), std::string::npos) << r2.reason;
  EXPECT_NE(r2.reason.find("extracted=[invalid]"), std::string::npos) << r2.reason;
  std::string name;
  ASSERT_TRUE(c->GetLabel(LabelKind::kModel, model, &name).ok());
  EXPECT_EQ(name, "model-a");
}

TEST(LmEvalImportTest, TwoModelsShareQueriesAndExportAsAMatrix) {
  TempDir dir;
  auto c = OpenCache(dir, "db");
  LmEvalImportOptions a, b;
  a.model_name = "model-a";
  b.model_name = "model-b";
  ImportSummary sa, sb;
  ASSERT_TRUE(ImportLmEvalSamplesFile(c.get(), kGsmA, a, &sa).ok());
  ASSERT_TRUE(ImportLmEvalSamplesFile(c.get(), kGsmB, b, &sb).ok());
  EXPECT_EQ(sa.task, sb.task);
  auto lines = Lines(Export(*c, sa.task, false));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "model,0,1,2,3");
  EXPECT_EQ(lines[1], "model-a,1,1,0,1");
  EXPECT_EQ(lines[2], "model-b,0,0,1,0");

  // Another filter is another grader setting: other queries, its own scores.
  LmEvalImportOptions flex = a;
  flex.filter = "flexible-extract";
  ImportSummary sf;
  ASSERT_TRUE(ImportLmEvalSamplesFile(c.get(), kGsmA, flex, &sf).ok());
  EXPECT_EQ(sf.results_written, 4u);
  EXPECT_TRUE(sf.warnings.size() == 1 && sf.warnings[0].find("strict-match") != std::string::npos);
  auto st = c->Stats();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_EQ(st->tasks[0].name, "gsm8k");
  EXPECT_EQ(st->tasks[0].results, 12u);
  EXPECT_EQ(st->tasks[0].queries, 8u);
  EXPECT_EQ(st->tasks[0].models, 2u);
}

TEST(LmEvalImportTest, MultipleChoiceUsesAccAndGivenDigests) {
  TempDir dir;
  auto c = OpenCache(dir, "db");
  LmEvalImportOptions o;
  o.model_name = "model-a";
  o.model = D("model-a weights");
  o.config = D("lm-eval arc config");
  o.query_digests = Digests("arc query", 3);
  ImportSummary sum;
  ASSERT_TRUE(ImportLmEvalSamplesFile(c.get(), kArcA, o, &sum).ok());
  EXPECT_EQ(sum.task, NameDigest(LabelKind::kTask, "arc_easy"));
  EXPECT_TRUE(sum.warnings.empty());
  std::vector<ResultKey> keys;
  for (const auto& q : o.query_digests) keys.push_back({*o.model, q, *o.config});
  std::vector<std::optional<CachedResult>> got;
  ASSERT_TRUE(c->MultiGet(keys, &got).ok());
  ASSERT_TRUE(got[0] && got[1] && got[2]);
  EXPECT_EQ(got[0]->correct, 1);
  EXPECT_EQ(got[1]->correct, 0);
  EXPECT_EQ(got[2]->correct, 0);
  EXPECT_TRUE(got[0]->output.empty());  // log-likelihoods, not text
  EXPECT_NE(got[0]->reason.find("acc=1.0"), std::string::npos) << got[0]->reason;

  o.query_digests.resize(2);  // doc 2 has no digest
  Status s = ImportLmEvalSamplesFile(c.get(), kArcA, o, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("doc_id 2"), std::string::npos) << s.ToString();
}

TEST(LmEvalImportTest, BadInputIsRefusedWithTheLine) {
  TempDir dir;
  auto c = OpenCache(dir, "db");
  LmEvalImportOptions o;
  o.model_name = "m";
  o.task_name = "t";
  struct Case {
    std::string text;
    std::string want;
  };
  std::vector<Case> cases = {
      {"{\"doc_id\": 0, \"bleu\": 0.37}\n", "x.jsonl:1"},  // no default metric
      {"{\"doc_id\": 0, \"exact_match\": 0.5}\n", "not a per-sample 0/1 score"},
      {"{\"doc_id\": 0, \"acc\": 1}\nnot json\n", "x.jsonl:2"},
      {"{\"acc\": 1}\n", "doc_id"},
      {"{\"doc_id\": 1, \"acc\": 1}\n{\"doc_id\": 1, \"acc\": 0}\n", "again"},
      {"\n", "no samples"},
  };
  for (const auto& k : cases) {
    std::istringstream in(k.text);
    Status s = ImportLmEvalSamples(c.get(), in, "x.jsonl", o, nullptr);
    EXPECT_FALSE(s.ok()) << k.text;
    EXPECT_NE(s.message().find(k.want), std::string::npos) << s.ToString();
  }
  LmEvalImportOptions bleu = o;
  bleu.metric = "bleu";
  std::istringstream in("{\"doc_id\": 0, \"bleu\": 0.37}\n");
  EXPECT_TRUE(ImportLmEvalSamples(c.get(), in, "x.jsonl", bleu, nullptr).IsInvalidArgument());
  LmEvalImportOptions nomodel;
  std::istringstream in2("{\"doc_id\": 0, \"acc\": 1}\n");
  EXPECT_TRUE(
      ImportLmEvalSamples(c.get(), in2, "samples_t_2024-01-01T00-00-00.jsonl", nomodel, nullptr)
          .IsInvalidArgument());
  EXPECT_EQ(c->Stats()->results, 0u);
}

}  // namespace
}  // namespace gem
