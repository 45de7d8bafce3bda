// Copyright the gem authors. Grader tables: realistic outputs per task (right, wrong, malformed,
// empty), graded against real queries loaded from data/tasks.
#include "gem/grader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "gem/task.h"

namespace gem {
namespace {

std::string TasksDir() { return std::string(GEM_SOURCE_DIR) + "/data/tasks"; }

const Query& Get(const std::string& task, const std::string& id) {
  static std::map<std::string, std::shared_ptr<const Task>> cache;
  auto& t = cache[task];
  if (!t) {
    TaskOptions o;
    o.data_dir = TasksDir();
    auto r = LoadTask(task, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    t = *r;
  }
  auto i = t->Find(id);
  EXPECT_TRUE(i.ok()) << i.status().ToString();
  return t->query(*i);
}

struct Row {
  const char* output;
  bool correct;
  const char* extracted;  // nullptr: don't check
};

void RunTable(const Query& q, const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    auto g = GradeOutput(q, row.output);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->correct, row.correct) << q.id << " output: \"" << row.output
                                       << "\" reason: " << g->reason;
    if (row.extracted) {
      EXPECT_EQ(g->extracted, row.extracted) << "output: " << row.output;
    }
    EXPECT_FALSE(g->reason.empty());
  }
}

TEST(GraderTest, Gsm8k) {
  const Query& q = Get("gsm8k", "gsm8k/0");  // Janet's ducks: 18
  ASSERT_EQ(q.reference, "18");
  RunTable(q, {
      {"Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\n#### 18",
       true, "18"},
      {"Janet has 16 - 3 - 4 = 9 eggs left. 9 * $2 = $18.\nThe final answer is 18", true, "18"},
      {"She earns 9 x 2 dollars.\nThe final answer is $18.", true, "18"},
      {"Step 1: 16-3-4 = 9.\nStep 2: 9*2 = 18.\nThe final answer is: **18**", true, "18"},
      {"So she makes \\boxed{18} dollars a day.", true, "18"},
      {"She makes $18 every day at the market...", true, "18"},
      {"16 - 3 - 4 = 9, 9 * 2 = 18.00", true, "18.00"},
      {"16 - 3 = 13, 13 - 4 = 9, 9 + 2 = 11.\nThe final answer is 11", false, "11"},
      {"#### 20\nThe final answer is 18", false, "20"},  // strict #### wins
      {"She sells the remaining eggs at the farmers' market.", false, ""},
      {"", false, ""},
      {"   \n ", false, ""},
  });
  Query strict = q;
  strict.grader.params = "{\"mode\":\"strict\"}";
  RunTable(strict, {
      {"9 * 2 = 18\n#### 18", true, "18"},
      {"The final answer is 18", false, ""},
  });
  Query thousands = q;
  thousands.reference = "1000";
  RunTable(thousands, {
      {"The total is 1,000 dollars.\n#### 1,000", true, "1000"},
      {"The final answer is $1,000.", true, "1000"},
      {"The final answer is 100", false, "100"},
  });
}

TEST(GraderTest, Mmlu) {
  const Query& q = Get("mmlu", "mmlu/abstract_algebra/0");  // Q(sqrt2,sqrt3,sqrt18): B (4)
  ASSERT_EQ(q.reference, "B");
  EXPECT_EQ(q.max_new_tokens, 50u);
  RunTable(q, {
      {"B", true, "B"},
      {"B. 4", true, "B"},
      {" (B)", true, "B"},
      {"**B**", true, "B"},
      {"The answer is B.", true, "B"},
      {"Answer: B", true, "B"},
      {"The degree of the extension is 4, so the correct answer is B.", true, "B"},
      {"The final answer is \\boxed{B}", true, "B"},
      {"C", false, "C"},
      {"The correct answer is D. 6", false, "D"},
      {"I'm not sure about field extensions.", false, ""},
      {"", false, ""},
  });
}

TEST(GraderTest, ArcChallenge) {
  const Query& q = Get("arc_challenge", "arc_challenge/Mercury_7175875");
  ASSERT_EQ(q.reference, "C");  // Planetary days will become shorter.
  RunTable(q, {
      {"C", true, "C"},
      {"C. Planetary days will become shorter.", true, "C"},
      {"Planetary days will become shorter.", true, "C"},  // option text
      {"A planet that rotates faster has shorter days, so the answer is C.", true, "C"},
      {"A", false, "A"},
      {"Answer: (B) Planetary years will become longer.", false, "B"},
      {"A faster rotation means something changes.", false, ""},  // "A" is an article
      {"", false, ""},
  });
  // Numeric labels "1".."4" are shown and graded as letters by position.
  const Query& n = Get("arc_challenge", "arc_challenge/NYSEDREGENTS_2008_8_11");
  EXPECT_EQ(n.reference, "D");  // answerKey "4": dead organisms
  EXPECT_NE(n.user.find("\nD. dead organisms\nAnswer:"), std::string::npos) << n.user;
  RunTable(n, {{"D", true, "D"}, {"dead organisms", true, "D"}, {"4", false, ""}});
  // A three-choice item offers only A-C.
  const Query& t = Get("arc_challenge", "arc_challenge/NYSEDREGENTS_2010_4_4");
  EXPECT_EQ(t.reference, "A");
  EXPECT_EQ(t.user.find("\nD. "), std::string::npos);
  RunTable(t, {{"A", true, "A"}, {"D", false, ""}});
}

TEST(GraderTest, Winogrande) {
  const Query& q = Get("winogrande", "winogrande/0");  // Sarah / Maria, answer 2
  ASSERT_EQ(q.reference, "B");
  EXPECT_NE(q.user.find("so _ always got the easier cases.\nA. Sarah\nB. Maria\nAnswer:"),
            std::string::npos)
      << q.user;
  RunTable(q, {
      {"B", true, "B"},
      {"Answer: B", true, "B"},
      {"B. Maria", true, "B"},
      {"Maria", true, "B"},
      {"Maria always got the easier cases.", true, "B"},
      {"A", false, "A"},
      {"Sarah", false, "A"},
      {"Sarah was the better surgeon, so Maria got the easier cases.", false, ""},  // ambiguous
      {"", false, ""},
  });
}

TEST(GraderTest, Mbpp) {
  const Query& q = Get("mbpp", "mbpp/11");  // remove_Occ
  ASSERT_NE(q.reference.find("assert remove_Occ(\"hello\",\"l\") == \"heo\""), std::string::npos);
  const char* good =
      "def remove_Occ(s, ch):\n"
      "    i = s.find(ch)\n"
      "    if i != -1:\n"
      "        s = s[:i] + s[i + 1:]\n"
      "    j = s.rfind(ch)\n"
      "    if j != -1:\n"
      "        s = s[:j] + s[j + 1:]\n"
      "    return s\n";
  std::string fenced = std::string("Here is the function:\n\n```python\n") + good +
                       "```\n\nIt removes the first and last occurrence.";
  std::string begin_done = std::string("[BEGIN]\n") + good + "[DONE]";
  RunTable(q, {
      {good, true, nullptr},
      {fenced.c_str(), true, nullptr},
      {begin_done.c_str(), true, nullptr},
      {"```python\ndef remove_Occ(s, ch):\n    return s[1:-1]\n```", false, nullptr},
      {"def remove_Occ(s, ch):\n    return s[\n", false, nullptr},
      {"def remove_occurrences(s, ch):\n    return s.replace(ch, '')\n", false, nullptr},
      {"I cannot write this function.", false, nullptr},
      {"", false, ""},
  });
  auto wrong = GradeOutput(q, "def remove_Occ(s, ch):\n    return s[1:-1]\n");
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(wrong->reason.find("assert 1 of 3 failed"), std::string::npos) << wrong->reason;
  auto syntax = GradeOutput(q, "def remove_Occ(s, ch):\n    return s[\n");
  ASSERT_TRUE(syntax.ok());
  EXPECT_NE(syntax->reason.find("SyntaxError"), std::string::npos) << syntax->reason;
  auto name = GradeOutput(q, "def remove_occurrences(s, ch):\n    return s\n");
  ASSERT_TRUE(name.ok());
  EXPECT_NE(name->reason.find("NameError"), std::string::npos) << name->reason;
}

TEST(GraderTest, MbppSetupCodeRunsAfterTheSolution) {
  // Task 367's test_setup_code builds trees from the solution's Node class.
  const Query& q = Get("mbpp", "mbpp/367");
  const char* solution =
      "class Node:\n"
      "    def __init__(self, data):\n"
      "        self.data = data\n"
      "        self.left = None\n"
      "        self.right = None\n"
      "def height(n):\n"
      "    return 0 if n is None else 1 + max(height(n.left), height(n.right))\n"
      "def is_tree_balanced(n):\n"
      "    if n is None:\n"
      "        return True\n"
      "    return (abs(height(n.left) - height(n.right)) <= 1 and is_tree_balanced(n.left)\n"
      "            and is_tree_balanced(n.right))\n";
  auto g = GradeOutput(q, solution);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->correct) << g->reason;
}

TEST(GraderTest, GoldAnswersGradeCorrectOnEveryQuery) {
  // GSM8K: the dataset's own worked answer ("... #### 18") is right for every test row.
  {
    std::ifstream in(std::string(GEM_SOURCE_DIR) + "/data/tasks/gsm8k/test.jsonl");
    std::string line;
    int row = 0, wrong = 0;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      const Query& q = Get("gsm8k", "gsm8k/" + std::to_string(row++));
      auto g = GradeOutput(q, j["answer"].get<std::string>());
      ASSERT_TRUE(g.ok());
      if (!g->correct && ++wrong <= 3) ADD_FAILURE() << q.id << ": " << g->reason;
    }
    EXPECT_EQ(row, 1319);
    EXPECT_EQ(wrong, 0);
  }
  // Multiple choice: the gold letter, stated the usual ways, is right for every query.
  for (const char* task : {"arc_challenge", "mmlu", "winogrande"}) {
    TaskOptions o;
    o.data_dir = std::string(GEM_SOURCE_DIR) + "/data/tasks";
    auto t = LoadTask(task, o);
    ASSERT_TRUE(t.ok());
    int wrong = 0;
    for (const auto& q : (*t)->queries()) {
      for (const std::string& out : {q.reference, "The answer is " + q.reference + ".",
                                     "(" + q.reference + ")", "Answer: " + q.reference}) {
        auto g = GradeOutput(q, out);
        ASSERT_TRUE(g.ok());
        if (!g->correct && ++wrong <= 3) ADD_FAILURE() << q.id << " \"" << out << "\": " << g->reason;
      }
    }
    EXPECT_EQ(wrong, 0) << task;
  }
}

TEST(GraderTest, ExtractCode) {
  EXPECT_EQ(ExtractCode("```python\nx = 1\n```\ntext\n```python\ny = 2\n```"), "x = 1");
  EXPECT_EQ(ExtractCode("[BEGIN]\n'x = 1'\n[DONE]"), "x = 1");
  EXPECT_EQ(ExtractCode("```\nx = 1\n"), "x = 1");
  EXPECT_EQ(ExtractCode("\n\n    x = 1\n"), "    x = 1");
}

Query Custom(std::string grader, std::string params, std::string reference) {
  Query q;
  q.id = "custom/1";
  q.reference = std::move(reference);
  q.grader = {std::move(grader), std::move(params)};
  return q;
}

TEST(GraderTest, Exact) {
  RunTable(Custom("exact", "{}", "Paris"), {
      {"Paris", true, nullptr}, {"  Paris \n", true, nullptr}, {"paris", false, nullptr},
      {"Paris.", false, nullptr}, {"The capital is Paris", false, nullptr}, {"", false, nullptr},
  });
  RunTable(Custom("exact", "{\"ignore_case\":true,\"ignore_punctuation\":true}", "Paris"), {
      {"paris.", true, nullptr}, {"PARIS!", true, nullptr}, {"Lyon", false, nullptr},
  });
  RunTable(Custom("exact", "{\"scope\":\"first_line\"}", "Paris"), {
      {"\nParis\nbecause it is the capital", true, nullptr}, {"Lyon\nParis", false, nullptr},
  });
  RunTable(Custom("exact", "{\"scope\":\"prefix\"}", "B"), {
      {"B. because", true, nullptr}, {"B", true, nullptr}, {"Because", false, nullptr},
  });
}

TEST(GraderTest, Regex) {
  RunTable(Custom("regex", "{\"pattern\":\"ANSWER:\\\\s*(\\\\w+)\"}", "yes"), {
      {"thinking...\nANSWER: yes", true, "yes"},
      {"ANSWER: no", false, "no"},
      {"yes", false, ""},
      {"", false, ""},
  });
  RunTable(Custom("regex", "{\"pattern\":\"answer: (\\\\w+)\",\"ignore_case\":true,"
                           "\"select\":\"last\"}", "YES"),
           {{"Answer: no. Correction, answer: yes", true, "yes"}});
  RunTable(Custom("regex", "{\"pattern\":\"\\\\bdef \\\\w+\\\\(\",\"match_only\":true}", ""),
           {{"def f(x): pass", true, nullptr}, {"lambda x: x", false, nullptr}});
  auto bad = GradeOutput(Custom("regex", "{\"pattern\":\"(unclosed\"}", "x"), "x");
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
}

TEST(GraderTest, Numeric) {
  RunTable(Custom("numeric", "{}", "3.14"), {
      {"pi is about 3.14", true, "3.14"},
      {"3.14159", false, "3.14159"},
      {"It is 3 or 4", false, "4"},
      {"no idea", false, ""},
      {"", false, ""},
  });
  RunTable(Custom("numeric", "{\"rel_tol\":0.01}", "3.14"), {{"3.14159", true, "3.14159"}});
  RunTable(Custom("numeric", "{\"extract\":\"first\"}", "-1200"),
           {{"-1,200 then 5", true, "-1,200"}, {"$-1200", true, "-1200"}, {"-12 then -1200", false, "-12"}});
  auto bad = GradeOutput(Custom("numeric", "{}", "seven"), "7");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
}

TEST(GraderTest, BadSpecsAreErrorsNotGrades) {
  EXPECT_TRUE(GradeOutput(Custom("nope", "{}", "x"), "x").status().IsInvalidArgument());
  EXPECT_TRUE(GradeOutput(Custom("exact", "{\"scop\":1}", "x"), "x").status().IsInvalidArgument());
  EXPECT_TRUE(GradeOutput(Custom("choice", "{\"letters\":\"abc\"}", "a"), "a")
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(GradeOutput(Custom("exact", "[1]", "x"), "x").status().IsInvalidArgument());
}

TEST(GraderTest, SameInputSameGrade) {
  const Query& q = Get("gsm8k", "gsm8k/0");
  auto a = GradeOutput(q, "The final answer is 17");
  auto b = GradeOutput(q, "The final answer is 17");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->correct, b->correct);
  EXPECT_EQ(a->reason, b->reason);
  EXPECT_EQ(a->extracted, b->extracted);
}

}  // namespace
}  // namespace gem
