// Copyright the gem authors. gemctl search report / tree report (report.h).
#include "report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "gem/report.h"

namespace gemctl {

using gem::Status;
namespace proto = gem::protocol;
namespace rep = gem::report;

namespace {

std::string Now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// The report's models from gemd's tree data: accuracy over all queries where the cache holds
// every answer (a manifest tree's model scores its better prompt variant, docs/TASKS.md).
void FillModels(const proto::ReportTreeReply& t, rep::ReportInput* in) {
  in->tree = t.tree.name;
  in->task = t.task;
  in->num_queries = t.num_queries;
  for (const proto::ReportModel& m : t.models) {
    rep::ModelPoint p;
    p.index = m.index;
    p.name = m.name;
    p.kind = m.kind == "base" || m.relation.empty() ? m.kind : m.relation;
    p.parent = m.parent >= 0 && m.parent < static_cast<int64_t>(t.models.size())
                   ? static_cast<int>(m.parent)
                   : -1;
    p.popularity = m.popularity;
    p.digest = m.digest;
    p.folder = m.folder;
    if (m.complete && !m.correct.empty()) {
      p.all_known = true;
      p.all_queries = t.num_queries;
      p.all_correct = *std::max_element(m.correct.begin(), m.correct.end());
    }
    in->models.push_back(std::move(p));
  }
}

int Write(const rep::ReportInput& in, const std::string& out) {
  if (Status st = rep::WriteHtml(in, out); !st.ok()) return Complain(st);
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(out, ec).string();
  std::printf("wrote %s: %zu models, %zu hidden gems (open file://%s)\n", out.c_str(),
              in.models.size(), rep::HiddenGems(in).size(), abs.c_str());
  return 0;
}

std::string SafeName(std::string s) {
  for (char& c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  }
  return s;
}

}  // namespace

int SearchReport(Globals& g, uint64_t job, const ReportArgs& a) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  proto::Reply r;
  if (int rc = Request(g, c, proto::ReportSearchRequest{job}, &r)) return rc;
  if (g.json) {  // the data, for scripts; no page
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& d = std::get<proto::ReportSearchReply>(r.body);
  rep::ReportInput in;
  in.gem_margin = a.gem_margin;
  FillModels(d.tree, &in);
  for (const proto::ModelTally& t : d.result.models) {
    if (t.index < in.models.size()) {
      in.models[t.index].seen_queries = t.pulls;
      in.models[t.index].seen_correct = t.wins;
    }
  }
  in.has_search = true;
  rep::SearchSummary& s = in.search;
  const proto::JobInfo& j = d.result.job;
  s.job = j.id;
  s.method = j.method;
  s.queries_per_model = j.queries_per_model;
  s.seed = j.seed;
  s.budget = d.result.budget;
  s.spent = d.result.spent;
  s.evaluations_run = j.evaluations_run;
  s.evaluations_cached = j.evaluations_cached;
  s.chosen = j.chosen_model >= 0 && j.chosen_model < static_cast<int64_t>(in.models.size())
                 ? static_cast<int>(j.chosen_model)
                 : -1;
  s.estimated_accuracy = d.result.estimated_accuracy;
  s.ci_low = d.result.ci_low;
  s.ci_high = d.result.ci_high;
  s.p_best = d.result.p_best;
  s.p_top3 = d.result.p_top3;
  s.rounds_recorded = d.trace_recorded;
  for (const proto::ReportRound& pr : d.rounds) {
    rep::RoundPoint rp;
    rp.round = pr.round;
    rp.survivors = pr.survivors;
    rp.queries_per_survivor = pr.queries_per_survivor;
    rp.spent = pr.spent;
    rp.correlated = pr.correlated;
    rp.pulls = pr.pulls;
    rp.wins = pr.wins;
    // A trace that does not fit the tree (it changed since) is not drawn rather than misdrawn.
    const bool fits = rp.pulls.size() == rp.survivors.size() &&
                      rp.wins.size() == rp.survivors.size() &&
                      std::all_of(rp.survivors.begin(), rp.survivors.end(),
                                  [&](uint32_t m) { return m < in.models.size(); });
    if (!fits) {
      in.notes.push_back("round " + std::to_string(pr.round) +
                         " of the trace does not fit the tree's models; rounds not drawn");
      s.rounds.clear();
      break;
    }
    s.rounds.push_back(std::move(rp));
  }
  size_t complete = 0;
  for (const auto& m : in.models) complete += m.all_known;
  in.notes.push_back(std::to_string(complete) + " of " + std::to_string(in.models.size()) +
                     " models have every answer of " + in.task +
                     " in the cache; their colour and position use the accuracy over all " +
                     std::to_string(in.num_queries) +
                     " queries, the others' what the search saw (docs/REPORT.md).");
  in.generated_by = std::string("gemctl ") + GEM_VERSION + ", " + Now() + ".";
  return Write(in, a.out.empty() ? "search-" + std::to_string(job) + ".html" : a.out);
}

int TreeReport(Globals& g, const std::string& tree, const ReportArgs& a) {
  Client c;
  if (int rc = Open(g, &c)) return rc;
  std::string task = a.task;
  if (task.empty()) {  // the tree's only task
    proto::Reply r;
    if (int rc = Request(g, c, proto::TreeShowRequest{tree}, &r)) return rc;
    const auto& tasks = std::get<proto::TreeShowReply>(r.body).tree.tasks;
    if (tasks.size() != 1) {
      std::string list;
      for (const auto& t : tasks) list += (list.empty() ? "" : ", ") + t;
      return Complain(Status::InvalidArgument(
          "tree '" + tree + "'", "answers several tasks (" + list + "): choose one with --task"));
    }
    task = tasks[0];
  }
  proto::Reply r;
  if (int rc = Request(g, c, proto::ReportTreeRequest{tree, task}, &r)) return rc;
  if (g.json) {  // the data, for scripts; no page
    std::printf("%s\n", proto::ReplyBodyJson(r).c_str());
    return 0;
  }
  const auto& d = std::get<proto::ReportTreeReply>(r.body);
  rep::ReportInput in;
  in.gem_margin = a.gem_margin;
  FillModels(d, &in);
  std::vector<std::string> missing;
  for (const auto& m : d.models) {
    if (!m.complete) missing.push_back(m.name);
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 5) list += ", ...";
    const std::string what = std::to_string(missing.size()) + " of " +
                             std::to_string(d.models.size()) +
                             " models lack answers in the cache (" + list + ")";
    if (!a.partial) {
      return Complain(Status::FailedPrecondition(
          "tree '" + tree + "', task '" + task + "'",
          what + "; evaluate them all with: gemctl search start --tree " + tree + " --task " +
              task + " --method uniform --queries-per-model " + std::to_string(d.num_queries) +
              " --wait (or draw them as unknown with --partial)"));
    }
    in.notes.push_back(what + ": drawn without accuracy.");
  }
  in.generated_by = std::string("gemctl ") + GEM_VERSION + ", " + Now() +
                    "; every accuracy is over all " + std::to_string(d.num_queries) +
                    " queries, from gemd's result cache.";
  return Write(in, a.out.empty() ? SafeName(tree + "-" + task) + ".html" : a.out);
}

}  // namespace gemctl
