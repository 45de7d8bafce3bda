// Copyright the gem authors. Searchable trees (gem/searchable_tree.h) on replay sources: the
// registration rules (format, name, simulation), the tree record's round trip and its store,
// searches through MakeEvaluator: a repeat is answered by the cache, a stop flag stops it; and
// what the cache holds of a tree (CountCachedAnswers) after searches.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "gem/searchable_tree.h"
#include "task/test_util.h"

namespace gem {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TreeSource QwenSource() {
  TreeSource s;
  s.content = ReadText(std::string(GEM_SOURCE_DIR) + "/data/trees/qwen2.5_3b.csv");
  s.file_name = "qwen2.5_3b.csv";
  s.queries = 40;
  return s;
}

TEST(SearchableTree, AccuracyCsvRegistersItsColumnsAsSimulatedTasks) {
  SearchableOptions o;
  o.replay.seed = 3;
  o.replay.agreement = 0.9;
  o.registered_by = "tester";
  auto tree = SearchableTree::Register(QwenSource(), o);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const TreeRecord& r = (*tree)->record();
  EXPECT_EQ(r.name, "qwen2.5_3b") << "the file's stem when no name is given";
  EXPECT_EQ(r.format, "accuracy");
  EXPECT_EQ(r.tasks, (std::vector<std::string>{"gsm8k", "mbpp", "routerbench"}));
  EXPECT_EQ(r.num_models, 450u);
  EXPECT_EQ(r.num_queries, 40u);
  EXPECT_EQ(r.sim_seed, 3u);
  EXPECT_EQ(r.agreement, 0.9);
  EXPECT_EQ(r.registered_by, "tester");
  EXPECT_EQ((*tree)->num_variants(), 1u);
  EXPECT_FALSE((*tree)->config_digest(1).ok());
  EXPECT_EQ((*tree)->search_options().popularity.size(), 450u);
  EXPECT_FALSE((*tree)->search_options().shuffle_queries);
  const SearchableTask* gsm8k = (*tree)->FindTask("gsm8k");
  ASSERT_NE(gsm8k, nullptr);
  EXPECT_EQ(gsm8k->num_queries(), 40u);
  EXPECT_EQ(gsm8k->query_id(7), "q7");
  auto missing = (*tree)->GetTask("arc");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().ToString().find("answers: gsm8k, mbpp, routerbench"),
            std::string::npos)
      << missing.status().ToString();

  // Another simulation is another set of queries; the same file is the same models.
  o.replay.seed = 4;
  auto other = SearchableTree::Register(QwenSource(), o);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->model_digests(), (*tree)->model_digests());
  EXPECT_NE((*other)->FindTask("gsm8k")->digest, gsm8k->digest);
}

TEST(SearchableTree, RegistrationErrorsNameTheProblem) {
  SearchableOptions o;
  TreeSource s = QwenSource();
  s.name = "bad name";
  auto r = SearchableTree::Register(s, o);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().ToString().find("tree name 'bad name'"), std::string::npos);

  s = QwenSource();
  s.name = "q";
  o.check_name = [](const std::string& name) {
    return Status::FailedPrecondition("tree '" + name + "'", "is already registered");
  };
  r = SearchableTree::Register(s, o);
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition) << r.status().ToString();
  o.check_name = nullptr;

  s.content = "model,q0,q1\nm0,1,0\nm1,0,x\n";
  s.file_name = "m.csv";
  r = SearchableTree::Register(s, o);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().ToString().find("tree 'q': m.csv:3: column 3"), std::string::npos)
      << r.status().ToString();

  s.content.clear();
  r = SearchableTree::Register(s, o);
  EXPECT_NE(r.status().ToString().find("the replay file is empty"), std::string::npos);

  TreeSource m;
  m.manifest = "relative/tree.json";
  m.tasks = {{"t", "", ""}};
  o.data_dir = "/tmp";
  r = SearchableTree::Register(m, o);
  EXPECT_NE(r.status().ToString().find("must be an absolute path"), std::string::npos);
  m.manifest = "/nonexistent/tree.json";
  m.tasks.clear();
  r = SearchableTree::Register(m, o);
  EXPECT_NE(r.status().ToString().find("at least one task"), std::string::npos);
  EXPECT_NE(r.status().ToString().find("gsm8k"), std::string::npos) << "lists the built-ins";
}

TEST(SearchableTree, RecordRoundTripsThroughTheStore) {
  testing::TempDir dir;
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  TreeSource s;
  s.name = "bits";
  s.task = "coin";
  s.file_name = "bits.csv";
  s.content = "# a comment\nmodel,popularity,a,b,c\nx,5,1,0,1\ny,9,0,0,1\n\xff\xfe,1,1,1,1\n";
  auto tree = SearchableTree::Register(s, {});
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ((*tree)->record().format, "matrix");
  ASSERT_TRUE(StoreTree(cache->get(), **tree).ok());
  auto back = OpenStoredTree(cache->get(), "bits", {});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->record().source.content, s.content) << "bytes kept, not UTF-8 checked";
  EXPECT_EQ((*back)->record().version, kTreeRecordVersion);
  EXPECT_EQ((*back)->model_digests(), (*tree)->model_digests());
  EXPECT_EQ((*back)->tasks()[0].name, "coin");
  EXPECT_EQ((*back)->tasks()[0].query_digests, (*tree)->tasks()[0].query_digests);
  EXPECT_EQ((*back)->models()[1].popularity, 9);
  EXPECT_TRUE((*back)->models()[1].popularity_known);
  EXPECT_EQ((*back)->models()[1].parent, -1) << "replay trees have no structure";
  std::string label;
  ASSERT_TRUE((*cache)->GetLabel(LabelKind::kModel, (*tree)->models()[1].digest, &label).ok());
  EXPECT_EQ(label, "bits/y");
  EXPECT_TRUE(OpenStoredTree(cache->get(), "nope", {}).status().IsNotFound());

  ASSERT_TRUE((*cache)->store()->Put(Family::kTrees, "junk", "\x01\x02").ok());
  std::vector<Status> unreadable;
  auto all = ReadStoredTrees(*(*cache)->store(), &unreadable);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  ASSERT_EQ(unreadable.size(), 1u);
  EXPECT_NE(unreadable[0].ToString().find("junk"), std::string::npos);
  EXPECT_TRUE(DecodeTreeRecord("\x81\xaerecord_version\x09").status().IsNotSupported());
}

TEST(SearchableTree, SearchesAreAnsweredByTheCacheTheSecondTime) {
  testing::TempDir dir;
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  auto tree = SearchableTree::Register(QwenSource(), {});
  ASSERT_TRUE(tree.ok());
  SearchOptions so = (*tree)->search_options();
  so.queries_per_model = 5;
  so.seed = 2;
  SearchResult first, second;
  {
    uint64_t chunks = 0;
    TreeEvaluatorOptions eo;
    eo.max_inner_batch = 500;
    eo.after_chunk = [&] { ++chunks; };
    auto ev = MakeEvaluator(**tree, "mbpp", cache->get(), eo);
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    ASSERT_TRUE(Search(so, ev->get(), &first).ok());
    EXPECT_EQ((*ev)->evaluations_run(), first.spent);
    EXPECT_EQ((*ev)->evaluations_passed(), first.spent);
    EXPECT_EQ((*ev)->results_per_pair(), 1u);
    EXPECT_GE(chunks, first.spent / 500);
  }
  auto ev = MakeEvaluator(**tree, "mbpp", cache->get());
  ASSERT_TRUE(ev.ok());
  ASSERT_TRUE(Search(so, ev->get(), &second).ok());
  EXPECT_EQ((*ev)->evaluations_run(), 0u);
  EXPECT_EQ((*ev)->evaluations_cached(), second.spent);
  EXPECT_EQ(second.chosen_model, first.chosen_model);
  EXPECT_EQ(second.pulls, first.pulls);
  EXPECT_EQ(first.budget, SearchBudget(5, 450));

  std::atomic<bool> stop{true};
  TreeEvaluatorOptions eo;
  eo.stop = &stop;
  auto stopped = MakeEvaluator(**tree, "gsm8k", cache->get(), eo);
  ASSERT_TRUE(stopped.ok());
  SearchResult r;
  EXPECT_TRUE(Search(so, stopped->get(), &r).IsAborted());
}

TEST(SearchableTree, CountCachedAnswersIsWhatTheSearchesLeftInTheCache) {
  testing::TempDir dir;
  auto cache = Cache::Open(dir.path() + "/db");
  ASSERT_TRUE(cache.ok());
  TreeSource source = QwenSource();
  source.queries = 30;
  auto tree = SearchableTree::Register(source, {});
  ASSERT_TRUE(tree.ok());
  const uint32_t n = (*tree)->num_models();

  auto none = CountCachedAnswers(**tree, "gsm8k", **cache);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  ASSERT_EQ(none->size(), n);
  EXPECT_EQ((*none)[0].answered, std::vector<uint32_t>{0});
  EXPECT_FALSE((*none)[0].complete);
  auto unknown = CountCachedAnswers(**tree, "arc", **cache);
  EXPECT_TRUE(unknown.status().IsNotFound());
  EXPECT_NE(unknown.status().ToString().find("answers: gsm8k, mbpp, routerbench"),
            std::string::npos)
      << unknown.status().ToString();

  // After one search the cache holds exactly the queries it asked each model.
  SearchOptions so = (*tree)->search_options();
  so.queries_per_model = 4;
  so.seed = 5;
  SearchResult r;
  {
    auto ev = MakeEvaluator(**tree, "gsm8k", cache->get());
    ASSERT_TRUE(ev.ok());
    ASSERT_TRUE(Search(so, ev->get(), &r).ok());
  }
  auto counts = CountCachedAnswers(**tree, "gsm8k", **cache);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  uint64_t answered = 0;
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ((*counts)[i].answered, std::vector<uint32_t>{r.pulls[i]}) << "model " << i;
    EXPECT_EQ((*counts)[i].correct, std::vector<uint32_t>{r.wins[i]}) << "model " << i;
    answered += (*counts)[i].answered[0];
  }
  EXPECT_EQ(answered, r.spent);
  auto other_task = CountCachedAnswers(**tree, "mbpp", **cache);
  ASSERT_TRUE(other_task.ok());
  EXPECT_EQ((*other_task)[0].answered, std::vector<uint32_t>{0}) << "another task's index";

  // After an exhaustive one every model is complete, with the replayed matrix's accuracy.
  so.method = "uniform";
  so.queries_per_model = 30;
  {
    auto ev = MakeEvaluator(**tree, "gsm8k", cache->get());
    ASSERT_TRUE(ev.ok());
    ASSERT_TRUE(Search(so, ev->get(), &r).ok());
  }
  counts = CountCachedAnswers(**tree, "gsm8k", **cache);
  ASSERT_TRUE(counts.ok());
  const ResponseMatrix& matrix = *(*tree)->FindTask("gsm8k")->population.matrix;
  for (uint32_t i = 0; i < n; ++i) {
    ASSERT_TRUE((*counts)[i].complete) << "model " << i;
    EXPECT_EQ((*counts)[i].answered, std::vector<uint32_t>{30});
    EXPECT_EQ((*counts)[i].correct, std::vector<uint32_t>{matrix.RowCount(i)}) << "model " << i;
  }
}

}  // namespace
}  // namespace gem
