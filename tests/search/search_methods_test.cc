// Copyright the gem authors. Properties every search method must have: it finds a clearly best
// model, never exceeds the budget, never repeats a (model, query) pair, replays bit for bit from
// its seed, and fails cleanly.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>

#include "gem/population.h"
#include "gem/schedule.h"
#include "gem/search.h"
#include "search/test_util.h"

namespace gem {
namespace {

using testing::MakeMatrix;
using testing::RecordingEvaluator;

class EveryMethod : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Search, EveryMethod, ::testing::ValuesIn(SearchMethods()),
                         [](const auto& info) { return info.param; });

TEST(SearchMethods, ListsEveryMethodOnceWithTheDefaultAmongThem) {
  const auto m = SearchMethods();
  EXPECT_EQ(std::set<std::string>(m.begin(), m.end()).size(), m.size());
  for (const char* want : {"uniform", "ucb", "ucb_e", "ucb_stddev", "ttts", "successive_rejects",
                           "bayes_elim", "sequential_halving", "paper", "paper_no_corr",
                           "paper_sh_schedule", "paper_sh_round", "gem", "gem_v1"}) {
    EXPECT_NE(std::find(m.begin(), m.end(), want), m.end()) << want;
  }
  EXPECT_NE(std::find(m.begin(), m.end(), kDefaultSearchMethod), m.end());
}

// A stored search runs the algorithm it was started with: "gem" recorded before the adaptive
// default took the name (revision 0: no revision recorded, or 1) runs gem_v1; at revision 2, gem.
TEST(SearchMethods, RevisionsResolveToTheAlgorithmASearchStartedWith) {
  EXPECT_EQ(SearchMethodRevision("gem"), 2u);
  EXPECT_EQ(SearchMethodRevision("gem_v1"), 1u);
  EXPECT_EQ(SearchMethodRevision("paper"), 1u);
  EXPECT_EQ(SearchMethodRevision("no_such_method"), 0u);
  for (const std::string& m : SearchMethods()) {
    const uint32_t current = SearchMethodRevision(m);
    ASSERT_GE(current, 1u) << m;
    auto now = ResolveSearchMethod(m, current);
    ASSERT_TRUE(now.ok()) << m << ": " << now.status().ToString();
    EXPECT_EQ(*now, m) << "the current revision of a name is the name itself";
    auto newer = ResolveSearchMethod(m, current + 1);
    EXPECT_FALSE(newer.ok()) << m;
    EXPECT_NE(newer.status().ToString().find("newer build"), std::string::npos)
        << newer.status().ToString();
  }
  EXPECT_EQ(*ResolveSearchMethod("gem", 0), "gem_v1");
  EXPECT_EQ(*ResolveSearchMethod("gem", 1), "gem_v1");
  EXPECT_EQ(*ResolveSearchMethod("gem", 2), "gem");
  EXPECT_EQ(*ResolveSearchMethod("paper", 0), "paper");
  EXPECT_EQ(*ResolveSearchMethod("gem_v1", 0), "gem_v1");
  EXPECT_FALSE(ResolveSearchMethod("no_such_method", 1).ok());

  // And the two really are different algorithms on the same options.
  std::vector<double> acc;
  for (int i = 0; i < 40; ++i) acc.push_back(0.40 + 0.3 * i / 39.0);
  auto matrix = MakeMatrix(acc, 200);
  ASSERT_NE(matrix, nullptr);
  SearchResult by_name[2];
  for (int v = 0; v < 2; ++v) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = *ResolveSearchMethod("gem", v + 1);
    o.queries_per_model = 25;
    o.seed = 3;
    ASSERT_TRUE(Search(o, &ev, &by_name[v]).ok());
  }
  EXPECT_NE(by_name[0].pulls, by_name[1].pulls);
}

TEST_P(EveryMethod, FindsAClearlyBestModel) {
  // 30 models: one at 0.90, the rest between 0.40 and 0.60.
  std::vector<double> acc;
  for (int i = 0; i < 30; ++i) acc.push_back(0.40 + 0.2 * i / 29.0);
  acc[17] = 0.90;
  auto matrix = MakeMatrix(acc, 1000);
  ASSERT_NE(matrix, nullptr);
  int found = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = GetParam();
    o.queries_per_model = 40;
    o.seed = seed;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok());
    found += r.chosen_model == 17;
  }
  EXPECT_GE(found, 9) << GetParam() << " found the 0.90 model in " << found << " of 10 searches";
}

TEST_P(EveryMethod, NeverExceedsTheBudgetNorRepeatsAQuery) {
  struct Case {
    uint32_t k, n, q;
  };
  for (Case c : {Case{1, 5, 100}, Case{2, 1, 100}, Case{3, 7, 50}, Case{37, 1, 200},
                 Case{37, 10, 200}, Case{130, 25, 300}, Case{20, 80, 60}, Case{130, 25, 2500}}) {
    std::vector<double> acc;
    for (uint32_t i = 0; i < c.k; ++i) acc.push_back(0.3 + 0.5 * ((i * 7919) % c.k) / c.k);
    auto matrix = MakeMatrix(acc, c.q);
    MatrixEvaluator inner(matrix);
    RecordingEvaluator ev(&inner);
    SearchOptions o;
    o.method = GetParam();
    o.queries_per_model = c.n;
    o.seed = 42;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok()) << "K=" << c.k << " N=" << c.n;
    const uint64_t budget = uint64_t{c.k} * c.n;
    EXPECT_EQ(r.budget, budget);
    EXPECT_LE(ev.total, budget) << "K=" << c.k << " N=" << c.n;
    EXPECT_EQ(r.spent, ev.total);
    EXPECT_EQ(r.spent_cached, r.spent);  // a replay matrix marks its answers as records
    EXPECT_LT(r.chosen_model, c.k);
    std::set<std::pair<uint32_t, uint32_t>> seen;
    uint64_t pulls = 0;
    for (const auto& b : ev.batches) {
      for (const EvalRequest& q : b) {
        EXPECT_TRUE(seen.insert({q.model, q.query}).second)
            << GetParam() << " asked model " << q.model << " query " << q.query << " twice";
      }
    }
    for (uint32_t p : r.pulls) pulls += p;
    EXPECT_EQ(pulls, r.spent);
    uint64_t traced = 0;
    for (const RoundTrace& t : r.rounds) {
      traced += t.spent;
      EXPECT_EQ(t.means.size(), t.survivors.size());
    }
    EXPECT_EQ(traced, r.spent) << "the trace accounts for every evaluation";
    // Where the matrix is not exhausted, the methods spend (almost) all they are given.
    if (uint64_t{c.n} * 40 <= c.q && c.k > 2) {
      EXPECT_GE(r.spent, budget * 9 / 10) << GetParam() << " K=" << c.k << " N=" << c.n;
    }
  }
}

TEST_P(EveryMethod, ReplaysBitForBitFromItsSeed) {
  std::vector<double> acc;
  for (int i = 0; i < 60; ++i) acc.push_back(0.5 + 0.25 * ((i * 37) % 60) / 60.0);
  auto matrix = MakeMatrix(acc, 500);
  auto run = [&](uint64_t seed, SearchResult* r) {
    MatrixEvaluator ev(matrix);
    SearchOptions o;
    o.method = GetParam();
    o.queries_per_model = 15;
    o.seed = seed;
    ASSERT_TRUE(Search(o, &ev, r).ok());
  };
  SearchResult a, b, c;
  run(7, &a);
  run(7, &b);
  EXPECT_EQ(a.chosen_model, b.chosen_model);
  EXPECT_EQ(a.pulls, b.pulls);
  EXPECT_EQ(a.wins, b.wins);
  ASSERT_EQ(a.rounds.size(), b.rounds.size());
  for (size_t i = 0; i < a.rounds.size(); ++i) {
    EXPECT_EQ(a.rounds[i].survivors, b.rounds[i].survivors);
    EXPECT_EQ(a.rounds[i].means, b.rounds[i].means);
  }
  // A different seed draws different queries.
  run(8, &c);
  EXPECT_TRUE(a.pulls != c.pulls || a.wins != c.wins || a.chosen_model != c.chosen_model);
}

TEST_P(EveryMethod, CancelledBeforeTheFirstBatchSpendsNothing) {
  auto matrix = MakeMatrix(std::vector<double>(20, 0.6), 400);
  MatrixEvaluator ev(matrix);
  std::atomic<bool> cancel{true};
  SearchOptions o;
  o.method = GetParam();
  o.cancel = &cancel;
  SearchResult r;
  EXPECT_TRUE(Search(o, &ev, &r).IsAborted());
  EXPECT_EQ(ev.evaluations(), 0u);
}

TEST_P(EveryMethod, CancelStopsWithAborted) {
  // uniform asks for everything in one batch: nothing is left to cancel once it has started.
  if (GetParam() == "uniform") return;
  auto matrix = MakeMatrix(std::vector<double>(50, 0.6), 400);
  MatrixEvaluator ev(matrix);
  std::atomic<bool> cancel{false};
  SearchOptions o;
  o.method = GetParam();
  o.queries_per_model = 20;
  o.cancel = &cancel;
  uint64_t calls = 0, last_spent = 0;
  bool monotone = true;
  o.on_progress = [&](const SearchProgress& p) {
    ++calls;
    monotone &= p.spent > last_spent && p.budget == 1000;
    last_spent = p.spent;
    if (p.spent >= 300) cancel = true;
  };
  SearchResult r;
  Status s = Search(o, &ev, &r);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_GT(calls, 0u);
  EXPECT_TRUE(monotone);
  EXPECT_LT(r.spent, 1000u);
  uint64_t traced = 0;
  for (const RoundTrace& t : r.rounds) traced += t.spent;
  EXPECT_EQ(traced, r.spent) << "the partial trace accounts for every evaluation";
}

TEST(Search, RejectsBadOptionsWithClearMessages) {
  auto matrix = MakeMatrix({0.5, 0.6}, 100);
  MatrixEvaluator ev(matrix);
  SearchResult r;
  SearchOptions o;
  o.method = "no_such_method";
  Status s = Search(o, &ev, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("no_such_method"), std::string::npos);
  EXPECT_NE(s.message().find("sequential_halving"), std::string::npos) << "lists the known ones";
  o.method = "paper";
  o.queries_per_model = 0;
  EXPECT_TRUE(Search(o, &ev, &r).IsInvalidArgument());
  o.queries_per_model = 10;
  o.popularity = {1, 2, 3};
  s = Search(o, &ev, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("popularity"), std::string::npos);
}

TEST(Search, CorrelatedRoundsGiveEverySurvivorTheSameQueries) {
  std::vector<double> acc;
  for (int i = 0; i < 250; ++i) acc.push_back(0.3 + 0.45 * ((i * 101) % 250) / 250.0);
  auto matrix = MakeMatrix(acc, 2500);
  for (const char* method : {"paper", "paper_sh_schedule", "paper_sh_round", "paper_no_corr"}) {
    MatrixEvaluator inner(matrix);
    RecordingEvaluator ev(&inner);
    SearchOptions o;
    o.method = method;
    o.queries_per_model = 20;
    o.seed = 3;
    SearchResult r;
    ASSERT_TRUE(Search(o, &ev, &r).ok());
    const bool shared = std::string(method) != "paper_no_corr";
    std::set<uint32_t> used_before;  // queries of earlier rounds
    size_t batch = 0;
    for (const RoundTrace& t : r.rounds) {
      if (t.spent == 0) continue;
      ASSERT_LT(batch, ev.batches.size());
      const auto& b = ev.batches[batch++];  // one batch per round
      std::map<uint32_t, std::set<uint32_t>> per_model;
      for (const EvalRequest& q : b) per_model[q.model].insert(q.query);
      EXPECT_EQ(per_model.size(), t.survivors.size());
      bool identical = true;
      for (const auto& [m, qs] : per_model) identical &= qs == per_model.begin()->second;
      EXPECT_EQ(t.correlated, shared) << method;
      if (shared) {
        EXPECT_TRUE(identical) << method << " round " << t.round;
        EXPECT_EQ(per_model.begin()->second.size(), t.queries_per_survivor);
        for (uint32_t q : per_model.begin()->second) {
          EXPECT_FALSE(used_before.count(q))
              << method << ": round " << t.round << " reused query " << q << " (not fresh)";
        }
        used_before.insert(per_model.begin()->second.begin(), per_model.begin()->second.end());
      } else if (per_model.size() > 1 && t.queries_per_survivor > 2) {
        EXPECT_FALSE(identical) << method << " round " << t.round;
      }
    }
  }
}

TEST(Search, WithoutShuffleCorrelatedRoundsTakeQueriesInTheEvaluatorsOrder) {
  std::vector<double> acc(40, 0.5);
  for (int i = 0; i < 40; ++i) acc[i] += 0.01 * i;
  auto matrix = MakeMatrix(acc, 500);
  MatrixEvaluator inner(matrix);
  RecordingEvaluator ev(&inner);
  SearchOptions o;
  o.method = "paper";
  o.queries_per_model = 20;
  o.shuffle_queries = false;
  SearchResult r;
  ASSERT_TRUE(Search(o, &ev, &r).ok());
  std::set<uint32_t> first;
  for (const EvalRequest& q : ev.batches.at(0)) first.insert(q.query);
  const uint32_t n = r.rounds.at(0).queries_per_survivor;
  EXPECT_EQ(first.size(), n);
  EXPECT_EQ(*first.rbegin(), n - 1) << "round 1 used queries 0.." << n - 1;
}

TEST(Search, ConfidenceFieldsDescribeTheChosenModel) {
  auto matrix = MakeMatrix({0.2, 0.3, 0.85, 0.4}, 800);
  MatrixEvaluator ev(matrix);
  SearchOptions o;
  o.method = "paper";
  o.queries_per_model = 100;
  SearchResult r;
  ASSERT_TRUE(Search(o, &ev, &r).ok());
  EXPECT_EQ(r.chosen_model, 2u);
  EXPECT_NEAR(r.estimated_accuracy, 0.85, 0.1);
  EXPECT_LE(r.ci_low, r.estimated_accuracy);
  EXPECT_GE(r.ci_high, r.estimated_accuracy);
}

TEST(ReplayPaperTable4, SpendsTheTablesCountsAndSharesPapersQueriesAndTies) {
  std::vector<double> acc;
  for (int i = 0; i < 246; ++i) acc.push_back(0.3 + 0.4 * ((i * 53) % 246) / 246.0);
  auto matrix = MakeMatrix(acc, 2500);
  for (uint32_t n : {10u, 50u}) {
    MatrixEvaluator inner(matrix);
    RecordingEvaluator ev(&inner);
    SearchOptions o;
    o.queries_per_model = n;
    o.seed = 5;
    SearchResult r;
    ASSERT_TRUE(ReplayPaperTable4(o, &ev, &r).ok());
    EXPECT_EQ(r.method, "paper_table4");
    EXPECT_EQ(r.budget, 246ull * n) << "the nominal budget";
    EXPECT_EQ(r.spent, ScheduleCost(PaperTable4Schedule(246, n, 2500)));
    EXPECT_GT(r.spent, r.budget) << "Table 4 as printed overspends a 246-model tree";
    EXPECT_EQ(r.spent, ev.total);
    ASSERT_EQ(r.rounds.size(), 5u);
    EXPECT_EQ(r.rounds.back().survivors.size(), 12u);
    // Round 1 is `paper`'s round 1 (60% of N per model, the same seeded queries).
    MatrixEvaluator inner2(matrix);
    RecordingEvaluator paper(&inner2);
    o.method = "paper";
    SearchResult p;
    ASSERT_TRUE(Search(o, &paper, &p).ok());
    ASSERT_FALSE(paper.batches.empty());
    EXPECT_EQ(paper.batches[0].size(), ev.batches[0].size());
    for (size_t i = 0; i < ev.batches[0].size(); ++i) {
      EXPECT_EQ(paper.batches[0][i].query, ev.batches[0][i].query);
    }
  }
  MatrixEvaluator ev(matrix);
  SearchOptions o;
  o.queries_per_model = 30;
  SearchResult r;
  const Status s = ReplayPaperTable4(o, &ev, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.ToString().find("N = 30"), std::string::npos) << s.ToString();
  o.method = "paper_table4";
  EXPECT_TRUE(Search(o, &ev, &r).IsInvalidArgument()) << "not a method a real search runs";
}

}  // namespace
}  // namespace gem
