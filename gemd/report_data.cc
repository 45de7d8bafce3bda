// Copyright the gem authors. Report data in gemd (report_data.h).
#include "report_data.h"

#include <cstdio>

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

std::string TraceKey(uint64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "trace/%020llu", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace

Status StoreSearchTrace(Context& ctx, uint64_t job, const gem::SearchResult& result) {
  proto::SearchTraceRecord rec;
  for (const auto& rt : result.rounds) {
    proto::ReportRound r;
    r.round = rt.round;
    r.survivors = rt.survivors;
    r.queries_per_survivor = rt.queries_per_survivor;
    r.spent = rt.spent;
    r.correlated = rt.correlated;
    r.pulls = rt.pulls;
    r.wins = rt.wins;
    rec.rounds.push_back(std::move(r));
  }
  return ctx.cache->store()->Put(gem::Family::kJobs, TraceKey(job), proto::EncodeRecord(rec));
}

gem::Result<proto::SearchTraceRecord> LoadSearchTrace(Context& ctx, uint64_t job) {
  std::string value;
  GEM_RETURN_IF_ERROR(ctx.cache->store()->Get(gem::Family::kJobs, TraceKey(job), &value));
  proto::SearchTraceRecord rec;
  GEM_RETURN_IF_ERROR(proto::DecodeRecord(value, &rec));
  return rec;
}

gem::Result<proto::ReportTreeReply> TreeReportData(Context& ctx, const gem::SearchableTree& tree,
                                                   std::string_view task) {
  auto answers = gem::CountCachedAnswers(tree, task, *ctx.cache);
  if (!answers.ok()) return answers.status();
  proto::ReportTreeReply out;
  out.tree = InfoOf(tree.record());
  out.task = std::string(task);
  out.num_queries = (*tree.GetTask(task))->num_queries();
  out.variants = tree.num_variants();
  for (uint32_t i = 0; i < tree.num_models(); ++i) {
    const gem::SearchableModel& model = tree.models()[i];
    gem::CachedAnswers& a = (*answers)[i];
    proto::ReportModel m;
    m.index = i;
    m.name = model.name;
    m.kind = model.kind;
    m.relation = model.relation;
    m.parent = model.parent;
    m.popularity = model.popularity_known ? model.popularity : -1;
    m.digest = model.digest.Hex();
    m.folder = model.folder;
    m.answered = std::move(a.answered);
    m.correct = std::move(a.correct);
    m.complete = a.complete;
    out.models.push_back(std::move(m));
  }
  return out;
}

}  // namespace gemd
