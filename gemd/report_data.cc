// Copyright the gem authors. Report data in gemd (report_data.h).
#include "report_data.h"

#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>

#include "manifest_trees.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

std::string TraceKey(uint64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "trace/%020llu", static_cast<unsigned long long>(id));
  return buf;
}

// Structure of a manifest tree: kind, relation, parent, folder and downloads per model, in the
// tree's model order (the base, then the registered candidates in manifest order).
void FillManifestModels(const EngineTree& engine, std::vector<proto::ReportModel>* models) {
  const gem::RegisteredTree& reg = engine.registered;
  struct Entry {
    const gem::ModelMeta* meta;
    std::string folder;
  };
  std::vector<Entry> entries = {{&reg.base_meta, reg.base_path}};
  for (const auto& c : reg.candidates) {
    if (c.registered) entries.push_back({&c.meta, c.path});
  }
  std::map<std::string, int64_t> by_name;
  for (size_t i = 0; i < models->size() && i < entries.size(); ++i) {
    by_name.emplace((*models)[i].name, static_cast<int64_t>(i));
  }
  for (size_t i = 0; i < models->size() && i < entries.size(); ++i) {
    proto::ReportModel& m = (*models)[i];
    const gem::ModelMeta& meta = *entries[i].meta;
    m.kind = i < engine.kinds.size() ? engine.kinds[i] : "";
    m.relation = meta.relation;
    m.folder = entries[i].folder;
    m.popularity = meta.downloads >= 0 ? static_cast<double>(meta.downloads) : -1;
    if (i > 0 && !meta.parent.empty()) {
      if (auto it = by_name.find(meta.parent); it != by_name.end() && it->second != int64_t(i)) {
        m.parent = it->second;
      }
    }
  }
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

gem::Result<proto::ReportTreeReply> TreeReportData(Context& ctx, const ServedTree& tree,
                                                   const ServedTask& task) {
  proto::ReportTreeReply out;
  out.tree = tree.record.info;
  out.task = task.name;
  out.num_queries = task.num_queries();
  std::vector<gem::Digest> configs;
  if (tree.engine) {
    configs.assign(std::begin(tree.engine->config_digests), std::end(tree.engine->config_digests));
  } else {
    configs = {tree.config_digest};
  }
  out.variants = static_cast<uint32_t>(configs.size());
  for (uint32_t i = 0; i < tree.model_digests.size(); ++i) {
    proto::ReportModel m;
    m.index = i;
    m.name = i < tree.model_ids.size() ? tree.model_ids[i] : "";
    m.digest = tree.model_digests[i].Hex();
    m.popularity = i < tree.popularity.size() ? tree.popularity[i] : -1;
    out.models.push_back(std::move(m));
  }
  if (tree.engine) FillManifestModels(*tree.engine, &out.models);

  // Walk the task's index (what the cache holds for this task, config by config) rather than
  // look up every (model, query): a tree of hundreds of models is mostly not evaluated.
  std::unordered_map<gem::Digest, uint32_t> model_of, query_of;
  for (uint32_t i = 0; i < tree.model_digests.size(); ++i)
    model_of.emplace(tree.model_digests[i], i);
  for (uint32_t q = 0; q < task.query_digests.size(); ++q)
    query_of.emplace(task.query_digests[q], q);
  for (auto& m : out.models) {
    m.answered.assign(configs.size(), 0);
    m.correct.assign(configs.size(), 0);
  }
  std::vector<gem::ResultKey> keys;
  std::vector<uint32_t> owner;
  std::vector<std::optional<gem::CachedResult>> found;
  for (size_t v = 0; v < configs.size(); ++v) {
    keys.clear();
    owner.clear();
    GEM_RETURN_IF_ERROR(
        ctx.cache->ForEachTaskResult(task.digest, &configs[v], [&](const gem::ResultKey& k) {
          auto m = model_of.find(k.model);
          if (m != model_of.end() && query_of.count(k.query)) {
            keys.push_back(k);
            owner.push_back(m->second);
          }
          return true;
        }));
    GEM_RETURN_IF_ERROR(ctx.cache->MultiGet(keys, &found));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!found[i]) continue;  // indexed but gone: not an answer
      ++out.models[owner[i]].answered[v];
      out.models[owner[i]].correct[v] += found[i]->correct != 0;
    }
  }
  for (auto& m : out.models) {
    m.complete = task.num_queries() > 0;
    for (uint32_t a : m.answered) m.complete = m.complete && a == task.num_queries();
  }
  return out;
}

}  // namespace gemd
