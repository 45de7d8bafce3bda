// Copyright the gem authors. Importing lm-evaluation-harness samples_*.jsonl (gem/cache_io.h).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cache/keys.h"
#include "gem/cache_io.h"

namespace gem {

namespace ck = cache_keys;
using json = nlohmann::json;

namespace {

// Metrics tried in order when none is named: the 0/1 per-sample scores of generative and
// multiple-choice tasks.
constexpr const char* kDefaultMetrics[] = {"exact_match", "acc", "pass@1", "pass_at_1"};

// "samples_gsm8k_cot_2024-05-01T12-00-00.123456.jsonl" -> "gsm8k_cot".
std::string TaskFromFileName(const std::string& source) {
  std::string base = std::filesystem::path(source).filename().string();
  if (base.rfind("samples_", 0) != 0) return "";
  base = base.substr(8);
  if (auto dot = base.rfind(".jsonl"); dot != std::string::npos) base = base.substr(0, dot);
  auto us = base.rfind('_');
  if (us != std::string::npos && us + 5 < base.size() && std::isdigit(base[us + 1]) &&
      std::isdigit(base[us + 2]) && std::isdigit(base[us + 3]) && std::isdigit(base[us + 4]) &&
      base[us + 5] == '-') {
    base = base.substr(0, us);
  }
  return base;
}

std::string Brief(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

struct Sample {
  uint64_t line = 0;
  uint64_t doc_id = 0;
  uint8_t correct = 0;
  std::string output;
  std::string reason;
  std::string identity;  // doc_hash, prompt_hash or doc_id (see cache_io.h)
};

}  // namespace

Status ImportLmEvalSamples(Cache* cache, std::istream& in, const std::string& source_name,
                           const LmEvalImportOptions& options, ImportSummary* summary) {
  auto where = [&](uint64_t line) { return source_name + ":" + std::to_string(line); };
  if (options.model_name.empty()) {
    return Status::InvalidArgument(source_name,
                                   "which model produced these samples? give its name");
  }
  std::string task_name =
      !options.task_name.empty() ? options.task_name : TaskFromFileName(source_name);
  if (task_name.empty() && !options.task) {
    return Status::InvalidArgument(source_name,
                                   "which task? the file is not named samples_<task>_<date>.jsonl;"
                                   " give the task name");
  }

  std::string metric = options.metric;
  std::string filter = options.filter;
  bool filter_known = !filter.empty();
  std::set<std::string> other_filters;
  std::map<uint64_t, Sample> samples;  // by doc_id
  std::string line;
  uint64_t lineno = 0;
  try {
    while (std::getline(in, line)) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (rec.is_discarded() || !rec.is_object()) {
        return Status::InvalidArgument(where(lineno), "not a JSON object");
      }
      if (!rec.contains("doc_id") || !rec["doc_id"].is_number_unsigned()) {
        return Status::InvalidArgument(where(lineno), "no non-negative integer doc_id");
      }
      std::string f = rec.contains("filter") && rec["filter"].is_string()
                          ? rec["filter"].get<std::string>()
                          : "none";
      if (!filter_known) {
        filter = f;
        filter_known = true;
      }
      if (f != filter) {
        other_filters.insert(f);
        continue;
      }
      if (metric.empty()) {
        for (const char* m : kDefaultMetrics) {
          if (rec.contains(m)) {
            metric = m;
            break;
          }
        }
        if (metric.empty()) {
          return Status::InvalidArgument(
              where(lineno),
              "none of exact_match, acc, pass@1, pass_at_1 in the record; "
              "name the 0/1 metric to import");
        }
      }
      if (!rec.contains(metric)) {
        return Status::InvalidArgument(where(lineno), "no field '" + metric + "'");
      }
      const json& mv = rec[metric];
      uint8_t correct;
      if (mv.is_boolean()) {
        correct = mv.get<bool>() ? 1 : 0;
      } else if (mv.is_number() && (mv.get<double>() == 1.0 || mv.get<double>() == 0.0)) {
        correct = mv.get<double>() == 1.0 ? 1 : 0;
      } else {
        return Status::InvalidArgument(where(lineno), "metric '" + metric + "' is " + Brief(mv) +
                                                          ", not a per-sample 0/1 score");
      }
      Sample s;
      s.line = lineno;
      s.doc_id = rec["doc_id"].get<uint64_t>();
      s.correct = correct;
      // resps: one list per request; generate_until logs [[ "text" ]].
      if (rec.contains("resps") && rec["resps"].is_array() && !rec["resps"].empty() &&
          rec["resps"][0].is_array() && !rec["resps"][0].empty() &&
          rec["resps"][0][0].is_string()) {
        s.output = rec["resps"][0][0].get<std::string>();
      }
      std::string extracted;
      if (rec.contains("filtered_resps") && rec["filtered_resps"].is_array() &&
          !rec["filtered_resps"].empty()) {
        extracted = Brief(rec["filtered_resps"][0]);
      }
      s.reason = "lm-eval " + metric + "=" + Brief(mv) + " filter=" + filter +
                 " target=" + (rec.contains("target") ? Brief(rec["target"]) : "?") +
                 " extracted=" + extracted;
      if (rec.contains("doc_hash") && rec["doc_hash"].is_string()) {
        s.identity = "doc_hash:" + rec["doc_hash"].get<std::string>();
      } else if (rec.contains("prompt_hash") && rec["prompt_hash"].is_string()) {
        s.identity = "prompt_hash:" + rec["prompt_hash"].get<std::string>();
      } else {
        s.identity = "doc_id:" + std::to_string(s.doc_id);
      }
      auto [it, inserted] = samples.emplace(s.doc_id, std::move(s));
      if (!inserted) {
        return Status::InvalidArgument(
            where(lineno), "doc_id " + std::to_string(it->first) + " again for filter '" + filter +
                               "' (first at line " + std::to_string(it->second.line) + ")");
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(where(lineno), std::string("bad record: ") + e.what());
  }
  if (in.bad()) return Status::IOError(source_name, "read failed");
  if (samples.empty()) {
    return Status::InvalidArgument(
        source_name,
        "no samples" + (filter_known ? " for filter '" + filter + "'" : std::string()));
  }

  // Identities.
  Digest task;
  if (options.task) {
    task = *options.task;
  } else {
    auto found = cache->FindByLabel(LabelKind::kTask, task_name);
    if (!found.ok()) return found.status();
    if (found->size() > 1) {
      return Status::InvalidArgument(
          source_name, "several tasks are labelled '" + task_name + "'; give the task digest");
    }
    task = found->empty() ? NameDigest(LabelKind::kTask, task_name) : (*found)[0];
  }
  const Digest model =
      options.model ? *options.model : NameDigest(LabelKind::kModel, options.model_name);
  const bool default_config = !options.config;
  const Digest config =
      options.config ? *options.config : NameDigest(LabelKind::kConfig, "lm-eval");

  std::vector<ResultKey> keys;
  std::vector<const Sample*> order;
  for (const auto& [doc_id, s] : samples) {
    Digest query;
    if (!options.query_digests.empty()) {
      if (doc_id >= options.query_digests.size()) {
        return Status::InvalidArgument(where(s.line),
                                       "doc_id " + std::to_string(doc_id) + " beyond the " +
                                           std::to_string(options.query_digests.size()) +
                                           " query digests given");
      }
      query = options.query_digests[doc_id];
    } else {
      Hasher h;
      h.Field("gem.lm-eval.query.v1")
          .Field(task_name)
          .Field(s.identity)
          .Field(filter)
          .Field(metric);
      query = h.Finish();
    }
    keys.push_back({model, query, config});
    order.push_back(&s);
  }

  std::vector<uint8_t> exists(keys.size(), 0);
  if (!options.overwrite) GEM_RETURN_IF_ERROR(cache->MultiContains(keys, exists));

  Store::Batch batch(cache->store());
  if (!task_name.empty()) ck::AddLabel(&batch, LabelKind::kTask, task, task_name);
  ck::AddLabel(&batch, LabelKind::kModel, model, options.model_name);
  if (default_config) ck::AddLabel(&batch, LabelKind::kConfig, config, "lm-eval");
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  uint64_t written = 0, kept = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Sample& s = *order[i];
    ck::AddLabel(&batch, LabelKind::kQuery, keys[i].query, std::to_string(s.doc_id));
    ck::AddTaskQuery(&batch, task, keys[i].query,
                     static_cast<uint32_t>(std::min<uint64_t>(s.doc_id, UINT32_MAX)));
    if (exists[i]) {
      ++kept;
      continue;
    }
    CachedResult v;
    v.correct = s.correct;
    v.output_bytes = s.output.size();
    if (s.output.size() <= cache->options().max_inline_output) {
      v.output = s.output;
    } else {
      v.output_digest = Sha256(s.output);
    }
    v.reason = s.reason;
    v.source = ResultSource::kImportedLmEval;
    v.imported_by = options.imported_by;
    v.written_unix_ms = now;
    ck::AddResult(&batch, keys[i], v.Encode(), &task);
    ++written;
  }
  GEM_RETURN_IF_ERROR(cache->store()->Write(&batch));

  if (summary) {
    summary->task = task;
    summary->config = config;
    summary->lines_read = lineno;
    summary->results_written = written;
    summary->results_kept = kept;
    summary->cells_empty = 0;
    summary->models = 1;
    summary->queries = static_cast<uint32_t>(keys.size());
    for (const auto& f : other_filters) {
      summary->warnings.push_back("skipped the lines of filter '" + f + "' (imported filter '" +
                                  filter + "'; choose another with the filter option)");
    }
  }
  return Status::OK();
}

Status ImportLmEvalSamplesFile(Cache* cache, const std::string& path,
                               const LmEvalImportOptions& options, ImportSummary* summary) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path, "cannot open for reading");
  return ImportLmEvalSamples(cache, in, path, options, summary);
}

}  // namespace gem
