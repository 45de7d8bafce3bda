// Copyright the gem authors. The gem-matrix CSV: export and import (gem/cache_io.h, CACHE.md).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <unordered_map>

#include "cache/keys.h"
#include "gem/cache_io.h"
#include "gem/csv.h"

namespace gem {

namespace ck = cache_keys;

namespace {

constexpr std::string_view kMagic = "# gem-matrix";
constexpr uint32_t kMatrixVersion = 1;
constexpr std::string_view kDigestRow = "#query_digest";
constexpr std::string_view kDigestColumn = "model_digest";

std::string LabelOr(const Cache& cache, LabelKind kind, const Digest& d, std::string fallback) {
  std::string name;
  if (cache.GetLabel(kind, d, &name).ok() && !name.empty()) return name;
  return fallback;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

// ------------------------------------------------------------------------------------- export

Status ExportMatrixCsv(const Cache& cache, const Digest& task, const ExportOptions& options,
                       std::ostream& out, ExportSummary* summary) {
  const std::string task_name = LabelOr(cache, LabelKind::kTask, task, "");
  const std::string task_desc = task_name.empty() ? task.ShortHex() : task_name;
  Digest config;
  if (options.config) {
    config = *options.config;
  } else {
    auto configs = cache.TaskConfigs(task);
    if (!configs.ok()) return configs.status();
    if (configs->empty()) {
      return Status::NotFound("task " + task_desc, "nothing cached for this task");
    }
    if (configs->size() > 1) {
      std::string list;
      for (const auto& c : *configs) {
        list += "\n  " + c.Hex();
        std::string l = LabelOr(cache, LabelKind::kConfig, c, "");
        if (!l.empty()) list += " (" + l + ")";
      }
      return Status::InvalidArgument("task " + task_desc,
                                     "results under several configs; choose one:" + list);
    }
    config = (*configs)[0];
  }

  // Models and queries with results under (task, config).
  std::set<Digest> models, result_queries;
  GEM_RETURN_IF_ERROR(cache.ForEachTaskResult(task, &config, [&](const ResultKey& k) {
    models.insert(k.model);
    result_queries.insert(k.query);
    return true;
  }));
  auto registered = cache.TaskQueries(task);
  if (!registered.ok()) return registered.status();

  struct Column {
    Digest query;
    std::string id;
  };
  std::vector<Column> columns;
  std::set<Digest> in_columns;
  for (const auto& q : *registered) {
    if (!in_columns.insert(q.query).second) continue;
    columns.push_back({q.query, q.id.empty() ? q.query.Hex() : q.id});
  }
  std::vector<Column> extra;
  for (const auto& q : result_queries) {
    if (in_columns.count(q)) continue;
    extra.push_back({q, LabelOr(cache, LabelKind::kQuery, q, q.Hex())});
  }
  std::sort(extra.begin(), extra.end(), [](const Column& a, const Column& b) {
    return a.id != b.id ? a.id < b.id : a.query < b.query;
  });
  columns.insert(columns.end(), extra.begin(), extra.end());

  struct Row {
    Digest model;
    std::string name;
  };
  std::vector<Row> rows;
  for (const auto& m : models) rows.push_back({m, LabelOr(cache, LabelKind::kModel, m, m.Hex())});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.name != b.name ? a.name < b.name : a.model < b.model;
  });

  std::string line;
  if (options.with_digests) {
    std::string meta = std::string(kMagic) + " v" + std::to_string(kMatrixVersion) +
                       "; task_digest=" + task.Hex() + "; config_digest=" + config.Hex() +
                       "; task=" + task_name;
    csv::AppendField(&line, meta);
    line.push_back('\n');
  }
  line += "model";
  if (options.with_digests) line += "," + std::string(kDigestColumn);
  for (const auto& c : columns) {
    line.push_back(',');
    csv::AppendField(&line, c.id);
  }
  line.push_back('\n');
  if (options.with_digests) {
    line += std::string(kDigestRow) + ",";
    for (const auto& c : columns) line += "," + c.query.Hex();
    line.push_back('\n');
  }
  out << line;

  uint64_t filled = 0;
  std::vector<ResultKey> keys(columns.size());
  std::vector<std::optional<CachedResult>> cells;
  for (const auto& r : rows) {
    for (size_t j = 0; j < columns.size(); ++j) keys[j] = {r.model, columns[j].query, config};
    GEM_RETURN_IF_ERROR(cache.MultiGet(keys, &cells));
    line.clear();
    csv::AppendField(&line, r.name);
    if (options.with_digests) line += "," + r.model.Hex();
    for (const auto& cell : cells) {
      line.push_back(',');
      if (cell) {
        line.push_back(cell->correct ? '1' : '0');
        ++filled;
      }
    }
    line.push_back('\n');
    out << line;
  }
  out.flush();
  if (!out) return Status::IOError("export of task " + task_desc, "write failed");
  if (summary) {
    summary->task = task;
    summary->config = config;
    summary->models = static_cast<uint32_t>(rows.size());
    summary->queries = static_cast<uint32_t>(columns.size());
    summary->cells_filled = filled;
  }
  return Status::OK();
}

Status ExportMatrixCsvFile(const Cache& cache, const Digest& task, const ExportOptions& options,
                           const std::string& path, ExportSummary* summary) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError(path, "cannot open for writing");
  Status s = ExportMatrixCsv(cache, task, options, out, summary);
  if (!s.ok()) return s.WithContext(path);
  out.close();
  if (!out) return Status::IOError(path, "write failed");
  return Status::OK();
}

// ------------------------------------------------------------------------------------- import

Status ImportMatrixCsv(Cache* cache, std::istream& in, const std::string& source_name,
                       const MatrixImportOptions& options, ImportSummary* summary) {
  std::vector<csv::Record> records;
  GEM_RETURN_IF_ERROR(csv::ReadAll(in, source_name, &records));
  auto where = [&](uint64_t line) { return source_name + ":" + std::to_string(line); };
  if (records.empty()) return Status::InvalidArgument(source_name, "empty file");

  size_t idx = 0;
  std::optional<Digest> file_task, file_config;
  std::string file_task_name;
  if (records[0].fields[0].rfind(kMagic, 0) == 0) {
    // "# gem-matrix v1; task_digest=<hex>; config_digest=<hex>; task=<name>"
    std::string_view meta = records[0].fields[0];
    meta.remove_prefix(kMagic.size());
    size_t semi = meta.find(';');
    std::string version = Trim(meta.substr(0, semi));
    if (version.size() < 2 || version[0] != 'v') {
      return Status::InvalidArgument(where(records[0].line), "malformed gem-matrix line");
    }
    uint32_t v = static_cast<uint32_t>(std::strtoul(version.c_str() + 1, nullptr, 10));
    if (v == 0) return Status::InvalidArgument(where(records[0].line), "bad version " + version);
    if (v > kMatrixVersion) {
      return Status::FailedPrecondition(
          where(records[0].line), "gem-matrix " + version + " is newer than this build reads (v" +
                                      std::to_string(kMatrixVersion) + ")");
    }
    while (semi != std::string_view::npos) {
      meta.remove_prefix(semi + 1);
      std::string_view part = meta;
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (part.rfind("task=", 0) == 0) {  // the name runs to the end of the line
        file_task_name = std::string(part.substr(5));
        break;
      }
      semi = meta.find(';');
      part = part.substr(0, part.find(';'));
      std::string item = Trim(part);
      auto eq = item.find('=');
      std::string key = item.substr(0, eq),
                  value = eq == std::string::npos ? "" : item.substr(eq + 1);
      if (key == "task_digest" || key == "config_digest") {
        auto d = Digest::FromHex(value);
        if (!d.ok()) return d.status().WithContext(where(records[0].line) + ": " + key);
        (key == "task_digest" ? file_task : file_config) = *d;
      }  // unknown keys: ignored (later minor additions)
    }
    ++idx;
  }
  if (idx >= records.size()) return Status::InvalidArgument(source_name, "no header line");
  const csv::Record& header = records[idx++];
  const bool digest_col = header.fields.size() >= 2 && header.fields[1] == kDigestColumn;
  const size_t first_q = digest_col ? 2 : 1;
  if (header.fields.size() <= first_q) {
    return Status::InvalidArgument(where(header.line), "no query columns in the header");
  }
  const size_t nq = header.fields.size() - first_q;
  std::vector<std::string> ids(nq);
  {
    std::set<std::string> unique;
    for (size_t j = 0; j < nq; ++j) {
      ids[j] = header.fields[first_q + j];
      if (!unique.insert(ids[j]).second) {
        return Status::InvalidArgument(where(header.line), "query '" + ids[j] + "' repeated");
      }
    }
  }
  std::vector<std::optional<Digest>> qdig(nq);
  if (idx < records.size() && records[idx].fields[0] == kDigestRow) {
    const csv::Record& r = records[idx++];
    if (r.fields.size() != header.fields.size()) {
      return Status::InvalidArgument(
          where(r.line), "query digest row has " + std::to_string(r.fields.size()) +
                             " fields, the header " + std::to_string(header.fields.size()));
    }
    for (size_t j = 0; j < nq; ++j) {
      auto d = Digest::FromHex(r.fields[first_q + j]);
      if (!d.ok()) {
        return d.status().WithContext(where(r.line) + " column " + std::to_string(first_q + j + 1));
      }
      qdig[j] = *d;
    }
  }

  // The task.
  std::string task_name = !options.task_name.empty() ? options.task_name : file_task_name;
  Digest task;
  if (options.task) {
    task = *options.task;
  } else if (file_task) {
    task = *file_task;
  } else if (!task_name.empty()) {
    auto found = cache->FindByLabel(LabelKind::kTask, task_name);
    if (!found.ok()) return found.status();
    if (found->size() > 1) {
      return Status::InvalidArgument(
          source_name, "several tasks are labelled '" + task_name + "'; give the task digest");
    }
    task = found->empty() ? NameDigest(LabelKind::kTask, task_name) : (*found)[0];
  } else {
    return Status::InvalidArgument(source_name, "which task? the file names none; give one");
  }
  const bool default_config = !options.config && !file_config;
  const Digest config = options.config ? *options.config
                        : file_config  ? *file_config
                                       : NameDigest(LabelKind::kConfig, "imported");

  // Query digests not in the file: the task's registered ids, a hex id, else derived from names.
  auto registered = cache->TaskQueries(task);
  if (!registered.ok()) return registered.status();
  std::unordered_map<std::string, Digest> by_id;
  std::map<Digest, uint32_t> ordinal_of;
  uint32_t next_ordinal = 0;
  for (const auto& q : *registered) {
    if (!q.id.empty()) by_id.emplace(q.id, q.query);
    ordinal_of[q.query] = q.ordinal;
    next_ordinal = std::max(next_ordinal, q.ordinal + 1);
  }
  std::vector<bool> id_is_label(nq, true);
  for (size_t j = 0; j < nq; ++j) {
    if (qdig[j]) continue;
    if (auto it = by_id.find(ids[j]); it != by_id.end()) {
      qdig[j] = it->second;
    } else if (IsHex64(ids[j])) {
      qdig[j] = *Digest::FromHex(ids[j]);
      id_is_label[j] = false;
    } else {
      qdig[j] = QueryNameDigest(task, ids[j]);
    }
  }

  // Rows.
  struct Cell {
    ResultKey key;
    uint8_t correct;
  };
  std::vector<Cell> cells;
  std::vector<Label> labels;
  std::set<Digest> row_models;
  uint64_t empty = 0;
  for (; idx < records.size(); ++idx) {
    const csv::Record& r = records[idx];
    if (r.fields.size() != header.fields.size()) {
      return Status::InvalidArgument(where(r.line), std::to_string(r.fields.size()) +
                                                        " fields, the header has " +
                                                        std::to_string(header.fields.size()));
    }
    const std::string& name = r.fields[0];
    Digest model;
    if (digest_col && !r.fields[1].empty()) {
      auto d = Digest::FromHex(r.fields[1]);
      if (!d.ok()) return d.status().WithContext(where(r.line) + " model_digest");
      model = *d;
    } else {
      auto found = cache->FindByLabel(LabelKind::kModel, name);
      if (!found.ok()) return found.status();
      if (found->size() > 1) {
        return Status::InvalidArgument(
            where(r.line), "several models are labelled '" + name + "'; add a model_digest column");
      }
      if (!found->empty()) {
        model = (*found)[0];
      } else if (IsHex64(name)) {
        model = *Digest::FromHex(name);
      } else {
        model = NameDigest(LabelKind::kModel, name);
      }
    }
    if (!row_models.insert(model).second) {
      return Status::InvalidArgument(where(r.line), "model '" + name + "' appears twice");
    }
    if (!name.empty() && !IsHex64(name)) labels.push_back({LabelKind::kModel, model, name});
    for (size_t j = 0; j < nq; ++j) {
      std::string v = Trim(r.fields[first_q + j]);
      uint8_t correct;
      if (v.empty()) {
        ++empty;
        continue;
      } else if (v == "1" || v == "1.0" || v == "true" || v == "True" || v == "TRUE") {
        correct = 1;
      } else if (v == "0" || v == "0.0" || v == "false" || v == "False" || v == "FALSE") {
        correct = 0;
      } else {
        return Status::InvalidArgument(where(r.line) + " column " + std::to_string(first_q + j + 1),
                                       "cell '" + v + "' is not 1, 0 or empty");
      }
      cells.push_back({ResultKey{model, *qdig[j], config}, correct});
    }
  }

  // Keep what is already cached unless asked to overwrite.
  std::vector<uint8_t> exists(cells.size(), 0);
  if (!options.overwrite && !cells.empty()) {
    std::vector<ResultKey> keys(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) keys[i] = cells[i].key;
    GEM_RETURN_IF_ERROR(cache->MultiContains(keys, exists));
  }

  Store::Batch batch(cache->store());
  if (!task_name.empty()) ck::AddLabel(&batch, LabelKind::kTask, task, task_name);
  if (default_config) ck::AddLabel(&batch, LabelKind::kConfig, config, "imported");
  for (size_t j = 0; j < nq; ++j) {
    if (id_is_label[j]) ck::AddLabel(&batch, LabelKind::kQuery, *qdig[j], ids[j]);
    if (!ordinal_of.count(*qdig[j])) {
      uint32_t ordinal = registered->empty() ? static_cast<uint32_t>(j) : next_ordinal++;
      ordinal_of[*qdig[j]] = ordinal;
      ck::AddTaskQuery(&batch, task, *qdig[j], ordinal);
    }
  }
  for (const auto& l : labels) ck::AddLabel(&batch, l.kind, l.digest, l.name);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  uint64_t written = 0, kept = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (exists[i]) {
      ++kept;
      continue;
    }
    CachedResult v;
    v.correct = cells[i].correct;
    v.reason = "imported from " + source_name;
    v.source = ResultSource::kImportedCsv;
    v.written_unix_ms = now;
    ck::AddResult(&batch, cells[i].key, v.Encode(), &task);
    ++written;
  }
  GEM_RETURN_IF_ERROR(cache->store()->Write(&batch));
  if (summary) {
    summary->task = task;
    summary->config = config;
    summary->lines_read = records.empty() ? 0 : records.back().line;
    summary->results_written = written;
    summary->results_kept = kept;
    summary->cells_empty = empty;
    summary->models = static_cast<uint32_t>(row_models.size());
    summary->queries = static_cast<uint32_t>(nq);
  }
  return Status::OK();
}

Status ImportMatrixCsvFile(Cache* cache, const std::string& path,
                           const MatrixImportOptions& options, ImportSummary* summary) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path, "cannot open for reading");
  return ImportMatrixCsv(cache, in, path, options, summary);
}

}  // namespace gem
