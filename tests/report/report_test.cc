// Copyright the gem authors. The report writer (gem/report.h): what the figures compute, and
// that the page carries every model, marks and text alternatives, and nothing from the network.
#include "gem/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

namespace gem::report {
namespace {

ReportInput SmallTree() {
  ReportInput in;
  in.tree = "t";
  in.task = "add";
  in.num_queries = 100;
  auto add = [&](std::string name, std::string kind, int parent, double pop, uint32_t correct) {
    ModelPoint m;
    m.index = static_cast<uint32_t>(in.models.size());
    m.name = std::move(name);
    m.kind = std::move(kind);
    m.parent = parent;
    m.popularity = pop;
    m.all_known = true;
    m.all_queries = 100;
    m.all_correct = correct;
    m.folder = "/models/" + m.name;
    in.models.push_back(m);
  };
  add("base", "base", -1, 100000, 40);
  add("gem-ft", "finetune", 0, 12, 80);
  add("near", "adapter", 0, 50, 44);             // better, but not by the margin
  add("popular-ish", "finetune", 0, 99999, 90);  // better, but not less popular? it is less
  add("q4", "quantization", 0, 3000, 39);
  add("merged <x>", "merge", 1, 7, 60);
  return in;
}

TEST(Report, MostPopularAndHiddenGems) {
  ReportInput in = SmallTree();
  EXPECT_EQ(MostPopular(in), 0);
  // Gems: less popular than the base and more than 5 points above 40%: by accuracy.
  EXPECT_EQ(HiddenGems(in), (std::vector<uint32_t>{3, 1, 5}));
  in.gem_margin = 0.45;
  EXPECT_EQ(HiddenGems(in), (std::vector<uint32_t>{3}));
  // A model seen on part of the queries counts by its 95% lower bound: 6 of 10 (60%, lower
  // bound 31%) is not above 40% + 5; 60 of 100 (lower bound 50.2%) is.
  in.gem_margin = 0.05;
  in.models[1].all_known = false;
  in.models[1].seen_queries = 10;
  in.models[1].seen_correct = 6;
  EXPECT_EQ(HiddenGems(in), (std::vector<uint32_t>{3, 5}));
  in.models[1].seen_queries = 100;
  in.models[1].seen_correct = 60;
  EXPECT_EQ(HiddenGems(in), (std::vector<uint32_t>{3, 1, 5}));  // 1 and 5 tie at 60%: by position
  in.models[0].all_known = false;  // the popular model without accuracy: no gems
  EXPECT_TRUE(HiddenGems(in).empty());
}

TEST(Report, WilsonInterval) {
  const Interval none = Wilson(0, 0);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
  // 6 of 29 (worked by hand from the Wilson formula, z = 1.96): [0.0985, 0.3839].
  const Interval i = Wilson(6, 29);
  EXPECT_NEAR(i.low, 0.0985, 5e-4);
  EXPECT_NEAR(i.high, 0.3839, 5e-4);
  const Interval all = Wilson(10, 10);
  EXPECT_NEAR(all.high, 1.0, 1e-12);
  EXPECT_NEAR(all.low, 0.7225, 5e-4);
}

TEST(Report, ProbabilityBest) {
  // Two models with the same record: one half each, by symmetry.
  EXPECT_NEAR(ProbabilityBest({5, 5}, {10, 10}, 0), 0.5, 1e-3);
  // Three alike: a third.
  EXPECT_NEAR(ProbabilityBest({7, 7, 7}, {20, 20, 20}, 2), 1.0 / 3, 1e-3);
  // A clear leader.
  EXPECT_GT(ProbabilityBest({90, 10}, {100, 100}, 0), 0.999999);
  EXPECT_LT(ProbabilityBest({90, 10}, {100, 100}, 1), 1e-6);
  // P(Beta(2,1) > Beta(1,2)) = 5/6 exactly (1 of 1 against 0 of 1).
  EXPECT_NEAR(ProbabilityBest({1, 0}, {1, 1}, 0), 5.0 / 6, 1e-4);
  // The probabilities of all survivors sum to one.
  const std::vector<uint32_t> w = {30, 28, 25, 10}, n = {50, 50, 50, 50};
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) sum += ProbabilityBest(w, n, i);
  EXPECT_NEAR(sum, 1.0, 1e-3);
}

TEST(Report, RoundLeaderIsTheBestMeanEarliestOnTies) {
  RoundPoint r;
  r.survivors = {4, 7, 9};
  r.pulls = {10, 20, 10};
  r.wins = {5, 10, 6};
  EXPECT_EQ(RoundLeader(r), 2);
  r.wins = {5, 10, 5};
  EXPECT_EQ(RoundLeader(r), 0);
}

TEST(Report, PageCarriesEveryModelMarksAndTextAlternatives) {
  ReportInput in = SmallTree();
  in.has_search = true;
  in.search.job = 7;
  in.search.method = "gem";
  in.search.budget = 600;
  in.search.spent = 550;
  in.search.chosen = 3;
  in.search.rounds_recorded = true;
  RoundPoint r1;
  r1.round = 1;
  r1.survivors = {0, 1, 2, 3, 4, 5};
  r1.queries_per_survivor = 10;
  r1.spent = 60;
  r1.pulls = {10, 10, 10, 10, 10, 10};
  r1.wins = {4, 8, 4, 9, 4, 6};
  RoundPoint r2 = r1;
  r2.round = 2;
  r2.survivors = {1, 3};
  r2.pulls = {60, 60};
  r2.wins = {48, 54};
  r2.spent = 100;
  in.search.rounds = {r1, r2};
  const std::string html = RenderHtml(in);
  EXPECT_EQ(html, RenderHtml(in)) << "not deterministic";
  for (const char* fig : {"atlas", "scatter", "rounds"}) {
    EXPECT_NE(html.find("aria-labelledby=\"" + std::string(fig) + "-title " + fig + "-desc\""),
              std::string::npos)
        << fig;
  }
  // Every model in the atlas and in the scatter plot.
  for (const auto& m : in.models) {
    const std::string node = "data-model=\"" +
                             (m.name == "merged <x>" ? std::string("merged &lt;x&gt;") : m.name) +
                             "\"";
    size_t count = 0;
    for (size_t p = html.find(node); p != std::string::npos; p = html.find(node, p + 1)) ++count;
    EXPECT_GE(count, 2u) << m.name;
  }
  EXPECT_EQ(html.find("merged <x>"), std::string::npos) << "a name went out unescaped";
  EXPECT_NE(html.find("FOUND: popular-ish"), std::string::npos);
  EXPECT_NE(html.find("MOST POPULAR: base"), std::string::npos);
  EXPECT_NE(html.find("class=\"found-ring\""), std::string::npos);
  EXPECT_NE(html.find("class=\"popular-ring\""), std::string::npos);
  EXPECT_NE(html.find("class=\"gem-star\""), std::string::npos);
  EXPECT_NE(html.find("href=\"file:///models/gem-ft\""), std::string::npos);
  // Nothing is fetched: the only URL is the SVG namespace name.
  const std::string no_ns =
      std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_EQ(no_ns.find("http:"), std::string::npos);
  EXPECT_EQ(no_ns.find("https:"), std::string::npos);
  EXPECT_EQ(no_ns.find("<script"), std::string::npos);
  EXPECT_EQ(no_ns.find("<img"), std::string::npos);
  // The round leader's confidence is in the rounds table: round 2, popular-ish 54/60 against
  // gem-ft 48/60.
  const double p = ProbabilityBest({48, 54}, {60, 60}, 1);
  char want[32];
  std::snprintf(want, sizeof want, "%.1f%%", 100 * p);
  EXPECT_NE(html.find(want), std::string::npos) << want;
}

TEST(Report, TreeReportWithoutParentsOrSearch) {
  ReportInput in = SmallTree();
  for (auto& m : in.models) m.parent = -1;
  const std::string html = RenderHtml(in);
  EXPECT_EQ(RoundsSvg(in), "");
  EXPECT_NE(html.find("the tree names no parents"), std::string::npos);
  EXPECT_NE(html.find("most accurate"), std::string::npos);
  EXPECT_EQ(html.find("id=\"rounds\""), std::string::npos);
}

}  // namespace
}  // namespace gem::report
