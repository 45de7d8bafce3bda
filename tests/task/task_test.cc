// Copyright the gem authors. Task loading, query identity, seeded order, routerbench, custom
// tasks and prompt variants.
#include "gem/task.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "gem/grader.h"
#include "gem/prompt.h"
#include "task/test_util.h"

namespace gem {
namespace {

TaskOptions Opts(uint64_t seed = 0, uint32_t size = 0) {
  TaskOptions o;
  o.data_dir = std::string(GEM_SOURCE_DIR) + "/data/tasks";
  o.seed = seed;
  o.size = size;
  return o;
}

std::shared_ptr<const Task> MustLoad(const std::string& name, const TaskOptions& o) {
  auto r = LoadTask(name, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : nullptr;
}

TEST(SeededPermutationTest, IsAPermutationFixedBySeed) {
  auto p = SeededPermutation(1000, 7);
  std::set<uint32_t> s(p.begin(), p.end());
  EXPECT_EQ(s.size(), 1000u);
  EXPECT_EQ(*s.rbegin(), 999u);
  EXPECT_EQ(p, SeededPermutation(1000, 7));
  EXPECT_NE(p, SeededPermutation(1000, 8));
  EXPECT_TRUE(SeededPermutation(0, 1).empty());
  // Pinned (checked against an independent Python transcription of the algorithm in
  // docs/TASKS.md): the order is part of the format (docs/TASKS.md); a change here moves every
  // search's queries and must be a deliberate, versioned change.
  EXPECT_EQ(SeededPermutation(10, 0),
            (std::vector<uint32_t>{6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
}

TEST(QueryDigestTest, ContentOnly) {
  Query a;
  a.id = "x/1";
  a.source = "x";
  a.user = "What is 2+2?";
  a.system = "You are a helpful assistant.";
  a.reference = "4";
  a.grader = {"numeric", "{}"};
  a.max_new_tokens = 50;
  Query b = a;
  b.id = "y/9";
  b.source = "y";
  EXPECT_EQ(QueryDigest(a), QueryDigest(b));  // labels are not identity
  for (auto change : std::vector<std::function<void(Query&)>>{
           [](Query& q) { q.user += " "; },
           [](Query& q) { q.system = ""; },
           [](Query& q) { q.reference = "4.0"; },
           [](Query& q) { q.grader.name = "exact"; },
           [](Query& q) { q.grader.params = "{\"abs_tol\":0.5}"; },
           [](Query& q) { q.max_new_tokens = 51; },
           [](Query& q) { q.stop = {"\n"}; },
       }) {
    Query c = a;
    change(c);
    EXPECT_NE(QueryDigest(a), QueryDigest(c));
  }
  // Pinned (checked against an independent Python computation of the fields in
  // docs/TASKS.md), for the same reason as the permutation.
  EXPECT_EQ(QueryDigest(a).Hex(), "85bf3875187452ad97d02ccd4b47a642c1ce9d9ad93ea8fc4a825572ffdee7fc");
}

TEST(TaskTest, BuiltinsLoadWithTheirSizesAndBudgets) {
  const std::map<std::string, std::pair<uint32_t, uint32_t>> want = {
      {"gsm8k", {1319, 512}}, {"arc_challenge", {1172, 50}}, {"mmlu", {14042, 50}},
      {"winogrande", {1267, 50}}, {"mbpp", {500, 512}},
  };
  for (const auto& [name, sz] : want) {
    auto t = MustLoad(name, Opts());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->name(), name);
    EXPECT_EQ(t->size(), sz.first) << name;
    std::set<std::string> ids;
    for (const auto& q : t->queries()) {
      ids.insert(q.id);
      EXPECT_EQ(q.max_new_tokens, sz.second) << q.id;
      EXPECT_EQ(q.source, name);
      EXPECT_FALSE(q.user.empty());
      EXPECT_FALSE(q.reference.empty()) << q.id;
      EXPECT_EQ(q.digest, QueryDigest(q));
      EXPECT_TRUE(ValidateGraderSpec(q.grader).ok()) << q.id;
    }
    EXPECT_EQ(ids.size(), t->size()) << name << ": ids are not unique";
  }
}

TEST(TaskTest, OrderIsASeededPermutationAndSizeTakesAPrefix) {
  auto a = MustLoad("gsm8k", Opts(3));
  auto b = MustLoad("gsm8k", Opts(3));
  auto c = MustLoad("gsm8k", Opts(4));
  auto small = MustLoad("gsm8k", Opts(3, 25));
  ASSERT_TRUE(a && b && c && small);
  EXPECT_EQ(a->digest(), b->digest());
  EXPECT_NE(a->digest(), c->digest());
  ASSERT_EQ(small->size(), 25u);
  for (uint32_t i = 0; i < 25; ++i) EXPECT_EQ(small->query(i).id, a->query(i).id);
  // Same queries, other order: the digests are the same set.
  std::set<Digest> da, dc;
  for (const auto& q : a->queries()) da.insert(q.digest);
  for (const auto& q : c->queries()) dc.insert(q.digest);
  EXPECT_EQ(da, dc);
}

TEST(TaskTest, FindByIdDigestAndPosition) {
  auto t = MustLoad("mbpp", Opts());
  ASSERT_TRUE(t);
  auto i = t->Find("mbpp/11");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(t->query(*i).id, "mbpp/11");
  auto j = t->Find(t->query(*i).digest.Hex().substr(0, 12));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j, *i);
  auto k = t->Find("@3");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, 3u);
  EXPECT_TRUE(t->Find("mbpp/9999").status().IsNotFound());
  EXPECT_TRUE(t->Find("@500").status().IsNotFound());
  EXPECT_TRUE(t->Find("@x").status().IsInvalidArgument());
}

TEST(TaskTest, RouterBenchIsSpreadEvenlyAndSeeded) {
  auto r = MustLoad("routerbench", Opts());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2500u);
  std::map<std::string, int> per;
  std::set<std::string> ids;
  for (const auto& q : r->queries()) {
    per[q.source]++;
    ids.insert(q.id);
  }
  EXPECT_EQ(ids.size(), 2500u);
  for (const char* s : {"gsm8k", "arc_challenge", "mmlu", "winogrande", "mbpp"}) {
    EXPECT_EQ(per[s], 500) << s;
  }
  // Interleaved, not blocked: the first 50 already hold several benchmarks.
  std::set<std::string> head;
  for (uint32_t i = 0; i < 50; ++i) head.insert(r->query(i).source);
  EXPECT_GE(head.size(), 4u);
  // Reproducible; another seed draws another sample.
  EXPECT_EQ(MustLoad("routerbench", Opts())->digest(), r->digest());
  auto other = MustLoad("routerbench", Opts(1));
  std::set<std::string> other_ids;
  for (const auto& q : other->queries()) other_ids.insert(q.id);
  EXPECT_NE(other_ids, ids);
  // A routerbench query is the same query (same digest) as in its source task.
  auto g = MustLoad("gsm8k", Opts());
  for (const auto& q : r->queries()) {
    if (q.source != "gsm8k") continue;
    auto i = g->Find(q.id);
    ASSERT_TRUE(i.ok());
    EXPECT_EQ(g->query(*i).digest, q.digest);
    break;
  }
  // Uneven sizes give the remainder to the first benchmarks.
  auto odd = MustLoad("routerbench", Opts(0, 12));
  std::map<std::string, int> per_odd;
  for (const auto& q : odd->queries()) per_odd[q.source]++;
  EXPECT_EQ(per_odd["arc_challenge"], 3);
  EXPECT_EQ(per_odd["winogrande"], 3);
  EXPECT_EQ(per_odd["gsm8k"], 2);
}

TEST(TaskTest, MaxNewTokensOverride) {
  TaskOptions o = Opts(0, 5);
  auto a = MustLoad("gsm8k", o);
  o.max_new_tokens = 64;
  auto b = MustLoad("gsm8k", o);
  EXPECT_EQ(b->query(0).max_new_tokens, 64u);
  EXPECT_NE(a->query(0).digest, b->query(0).digest);
}

TEST(TaskTest, UnknownTaskAndMissingDataAreClearErrors) {
  auto r = LoadTask("hellaswag", Opts());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find("hellaswag"), std::string::npos);
  TaskOptions o = Opts();
  o.data_dir = "/nonexistent";
  auto m = LoadTask("gsm8k", o);
  EXPECT_TRUE(m.status().IsNotFound());
  EXPECT_NE(m.status().message().find("/nonexistent/gsm8k/test.jsonl"), std::string::npos);
}

TEST(TaskTest, TruncatedBenchmarkFileIsCorruption) {
  testing::TempDir d;
  ASSERT_EQ(system(("mkdir -p " + d.path() + "/gsm8k && head -n 100 " + GEM_SOURCE_DIR +
                    "/data/tasks/gsm8k/test.jsonl > " + d.path() + "/gsm8k/test.jsonl").c_str()),
            0);
  TaskOptions o = Opts();
  o.data_dir = d.path();
  auto r = LoadTask("gsm8k", o);
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
}

constexpr char kCustom[] =
    "{\"format\": \"gem-task/1\", \"system\": \"You are terse.\", \"grader\": \"exact\"}\n"
    "{\"id\": \"capital\", \"prompt\": \"Capital of France?\", \"answer\": \"Paris\"}\n"
    "\n"
    "{\"id\": 2, \"prompt\": \"2+2?\", \"answer\": 4, \"grader\": {\"name\": \"numeric\"}}\n"
    "{\"prompt\": \"Say yes\", \"answer\": \"yes\", \"grader\": {\"name\": \"regex\", "
    "\"pattern\": \"(yes|no)\", \"ignore_case\": true}, \"max_new_tokens\": 8, "
    "\"stop\": [\"\\n\"], \"meta\": {\"source\": \"me\"}}\n"
    "{\"prompt\": \"Write f returning 1\", \"answer\": [\"assert f() == 1\"], \"grader\": \"mbpp\"}\n";

TEST(CustomTaskTest, ParsesTheDocumentedFormat) {
  auto r = ParseCustomTask("mine", kCustom, "mine.jsonl", Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Task& t = **r;
  ASSERT_EQ(t.size(), 4u);
  auto cap = t.Find("mine/capital");
  ASSERT_TRUE(cap.ok());
  const Query& q = t.query(*cap);
  EXPECT_EQ(q.system, "You are terse.");
  EXPECT_EQ(q.grader.name, "exact");
  EXPECT_EQ(q.max_new_tokens, 50u);
  auto two = t.Find("mine/2");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(t.query(*two).reference, "4");
  auto yes = t.Find("mine/3");  // ids default to the 1-based row number
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(t.query(*yes).max_new_tokens, 8u);
  EXPECT_EQ(t.query(*yes).stop, std::vector<std::string>{"\n"});
  auto g = GradeOutput(t.query(*yes), "YES!");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->correct) << g->reason;
  auto code = t.Find("mine/4");
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(t.query(*code).max_new_tokens, 512u);
  auto run = GradeOutput(t.query(*code), "def f():\n    return 1\n");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_TRUE(run->correct) << run->reason;
}

TEST(CustomTaskTest, ErrorsNameTheLineAndTheProblem) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"prompt\": \"x\", \"answer\": \"y\"}\n", "mine.jsonl:1: missing \"grader\""},
           {"{\"prompt\": \"x\", \"answer\": \"y\", \"grader\": \"exact\"}\n{\"prompt\": 1}\n",
            "mine.jsonl:2"},
           {"{\"prompt\": \"x\", \"answer\": \"y\", \"grader\": \"exakt\"}\n", "unknown"},
           {"{\"prompt\": \"x\", \"answr\": \"y\", \"grader\": \"exact\"}\n", "unknown key \"answr\""},
           {"not json\n", "mine.jsonl:1: not valid JSON"},
           {"{\"format\": \"gem-task/2\"}\n", "gem-task/1"},
           {"{\"id\": \"a\", \"prompt\": \"x\", \"answer\": \"y\", \"grader\": \"exact\"}\n"
            "{\"id\": \"a\", \"prompt\": \"x\", \"answer\": \"y\", \"grader\": \"exact\"}\n",
            "duplicate id"},
           {"{\"prompt\": \"x\", \"answer\": \"y\", \"grader\": {\"name\": \"regex\"}}\n",
            "pattern"},
           {"", "holds no queries"},
       }) {
    auto r = ParseCustomTask("mine", c.text, "mine.jsonl", Opts());
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().ToString().find(c.needle), std::string::npos)
        << r.status().ToString() << " lacks " << c.needle;
  }
}

TEST(CustomTaskTest, LoadTaskAcceptsAJsonlPath) {
  testing::TempDir d;
  std::string path = d.path() + "/quiz.jsonl";
  testing::WriteFile(path, kCustom);
  auto r = LoadTask(path, Opts());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->name(), "quiz");
  EXPECT_TRUE((*r)->Find("quiz/capital").ok());
}

TEST(PromptTest, TwoVariants) {
  auto t = MustLoad("mmlu", Opts(0, 1));
  const Query& q = t->query(0);
  TaskPrompt p0 = MakePrompt(q, kNoSystemPrompt, "You are Qwen.");
  EXPECT_EQ(p0.chat.system, "");
  EXPECT_EQ(p0.chat.user, q.user);
  EXPECT_EQ(p0.max_new_tokens, 50u);
  EXPECT_EQ(MakePrompt(q, kWithSystemPrompt, "You are Qwen.").chat.system, "You are Qwen.");
  EXPECT_EQ(MakePrompt(q, kWithSystemPrompt, "").chat.system, kFallbackSystemPrompt);
  EXPECT_NE(q.user.find("There is a single choice question about"), std::string::npos);
  EXPECT_TRUE(q.user.ends_with("\nAnswer: "));
}

TEST(PromptTest, CutAtStopAndBetterVariant) {
  EXPECT_EQ(CutAtStop("42\nQuestion: next", {"Question:", "\n\n"}), "42\n");
  EXPECT_EQ(CutAtStop("abc", {}), "abc");
  VariantTally t;
  EXPECT_EQ(BetterVariant(t), kNoSystemPrompt);  // ties: the plainer prompt
  t.correct[1] = 3;
  t.correct[0] = 2;
  EXPECT_EQ(BetterVariant(t), kWithSystemPrompt);
}

}  // namespace
}  // namespace gem
