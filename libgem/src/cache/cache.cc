// Copyright the gem authors. Cache: results, labels, the task index and stats.
#include "gem/cache.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "cache/keys.h"
#include "cache/rocks_status.h"

namespace gem {

namespace ck = cache_keys;

namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EncodeStamped(const CachedResult& r) {
  if (r.written_unix_ms != 0) return r.Encode();
  CachedResult copy = r;
  copy.written_unix_ms = NowUnixMs();
  return copy.Encode();
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

Cache::Cache(Store* store, const CacheOptions& options) : store_(store), options_(options) {}
Cache::~Cache() = default;

Result<std::unique_ptr<Cache>> Cache::Open(const std::string& path,
                                           const StoreOptions& store_options,
                                           const CacheOptions& options) {
  auto store = Store::Open(path, store_options);
  if (!store.ok()) return store.status();
  auto cache = std::make_unique<Cache>(store->get(), options);
  cache->owned_store_ = std::move(store).value();
  return cache;
}

// --- results ---

Status Cache::Put(const ResultKey& key, const CachedResult& result, const Digest* task) {
  Store::Batch b(store_);
  ck::AddResult(&b, key, EncodeStamped(result), task);
  return store_->Write(&b);
}

Status Cache::PutBatch(std::span<const ResultKey> keys, std::span<const CachedResult> results,
                       const Digest* task) {
  if (keys.size() != results.size()) {
    return Status::InvalidArgument("Cache::PutBatch", "keys and results differ in size");
  }
  Store::Batch b(store_);
  for (size_t i = 0; i < keys.size(); ++i) {
    ck::AddResult(&b, keys[i], EncodeStamped(results[i]), task);
  }
  return store_->Write(&b);
}

Status Cache::Get(const ResultKey& key, CachedResult* result) const {
  std::string value;
  GEM_RETURN_IF_ERROR(store_->Get(Family::kResults, key.Encode(), &value));
  auto r = CachedResult::Decode(value);
  if (!r.ok()) return r.status().WithContext(store_->path());
  *result = std::move(r).value();
  return Status::OK();
}

namespace {

// One RocksDB MultiGet over the results family; calls on_found(i, value) for each hit.
template <typename Fn>
Status MultiGetRaw(const Store* store, std::span<const ResultKey> keys, Fn&& on_found) {
  const size_t n = keys.size();
  if (n == 0) return Status::OK();
  std::vector<std::string> encoded(n);
  std::vector<rocksdb::Slice> slices(n);
  for (size_t i = 0; i < n; ++i) {
    encoded[i] = keys[i].Encode();
    slices[i] = rocksdb::Slice(encoded[i]);
  }
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  store->db()->MultiGet(rocksdb::ReadOptions(), store->handle(Family::kResults), n, slices.data(),
                        values.data(), statuses.data());
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], store->path());
    GEM_RETURN_IF_ERROR(on_found(i, std::string_view(values[i].data(), values[i].size())));
  }
  return Status::OK();
}

}  // namespace

Status Cache::MultiGet(std::span<const ResultKey> keys,
                       std::vector<std::optional<CachedResult>>* results) const {
  results->assign(keys.size(), std::nullopt);
  return MultiGetRaw(store_, keys, [&](size_t i, std::string_view v) -> Status {
    auto r = CachedResult::Decode(v);
    if (!r.ok()) return r.status().WithContext(store_->path());
    (*results)[i] = std::move(r).value();
    return Status::OK();
  });
}

Status Cache::MultiContains(std::span<const ResultKey> keys, std::span<uint8_t> found) const {
  if (found.size() != keys.size()) {
    return Status::InvalidArgument("Cache::MultiContains", "found.size() != keys.size()");
  }
  std::fill(found.begin(), found.end(), 0);
  return MultiGetRaw(store_, keys, [&](size_t i, std::string_view) {
    found[i] = 1;
    return Status::OK();
  });
}

Status Cache::ForEachModelResult(const Digest& model,
                                 const std::function<bool(const ResultKey&)>& fn) const {
  Status inner;
  GEM_RETURN_IF_ERROR(
      store_->Scan(Family::kResults, model.Bytes(), [&](std::string_view k, std::string_view) {
        auto key = ResultKey::Decode(k);
        if (!key.ok()) {
          inner = key.status();
          return false;
        }
        return fn(*key);
      }));
  return inner;
}

// --- labels ---

Status Cache::SetLabel(LabelKind kind, const Digest& digest, std::string_view name) {
  return store_->Put(Family::kLabels, ck::LabelKey(kind, digest), name);
}

Status Cache::SetLabels(std::span<const Label> labels) {
  Store::Batch b(store_);
  for (const auto& l : labels) ck::AddLabel(&b, l.kind, l.digest, l.name);
  return store_->Write(&b);
}

Status Cache::GetLabel(LabelKind kind, const Digest& digest, std::string* name) const {
  return store_->Get(Family::kLabels, ck::LabelKey(kind, digest), name);
}

Result<std::vector<Digest>> Cache::FindByLabel(LabelKind kind, std::string_view name) const {
  std::vector<Digest> out;
  std::string prefix(1, static_cast<char>(kind));
  GEM_RETURN_IF_ERROR(
      store_->Scan(Family::kLabels, prefix, [&](std::string_view k, std::string_view v) {
        if (v == name && k.size() == 33) out.push_back(Digest::FromBytes(k.substr(1)));
        return true;
      }));
  return out;
}

// --- tasks ---

Status Cache::RegisterTask(const Digest& task, std::string_view name,
                           std::span<const Digest> queries,
                           std::span<const std::string> query_ids) {
  if (!query_ids.empty() && query_ids.size() != queries.size()) {
    return Status::InvalidArgument("Cache::RegisterTask", "query_ids and queries differ in size");
  }
  Store::Batch b(store_);
  if (!name.empty()) ck::AddLabel(&b, LabelKind::kTask, task, name);
  for (size_t i = 0; i < queries.size(); ++i) {
    ck::AddTaskQuery(&b, task, queries[i], static_cast<uint32_t>(i));
    if (!query_ids.empty()) ck::AddLabel(&b, LabelKind::kQuery, queries[i], query_ids[i]);
  }
  return store_->Write(&b);
}

Result<std::vector<TaskQuery>> Cache::TaskQueries(const Digest& task) const {
  std::vector<TaskQuery> out;
  GEM_RETURN_IF_ERROR(store_->Scan(Family::kTaskIndex, ck::TaskQueryPrefix(task),
                                   [&](std::string_view k, std::string_view v) {
                                     if (k.size() == 65) {
                                       TaskQuery q;
                                       q.query = Digest::FromBytes(k.substr(33));
                                       q.ordinal = ck::DecodeOrdinal(v);
                                       out.push_back(std::move(q));
                                     }
                                     return true;
                                   }));
  std::sort(out.begin(), out.end(), [](const TaskQuery& a, const TaskQuery& b) {
    return a.ordinal != b.ordinal ? a.ordinal < b.ordinal : a.query < b.query;
  });
  // Labels in one MultiGet.
  const size_t n = out.size();
  if (n > 0) {
    std::vector<std::string> keys(n);
    std::vector<rocksdb::Slice> slices(n);
    for (size_t i = 0; i < n; ++i) {
      keys[i] = ck::LabelKey(LabelKind::kQuery, out[i].query);
      slices[i] = keys[i];
    }
    std::vector<rocksdb::PinnableSlice> values(n);
    std::vector<rocksdb::Status> statuses(n);
    store_->db()->MultiGet(rocksdb::ReadOptions(), store_->handle(Family::kLabels), n,
                           slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].ok()) {
        out[i].id.assign(values[i].data(), values[i].size());
      } else if (!statuses[i].IsNotFound()) {
        return FromRocks(statuses[i], store_->path());
      }
    }
  }
  return out;
}

Status Cache::ForEachTaskResult(const Digest& task, const Digest* config,
                                const std::function<bool(const ResultKey&)>& fn) const {
  std::string prefix = config ? ck::TaskResultPrefix(task, *config) : ck::TaskResultPrefix(task);
  Status bad;
  GEM_RETURN_IF_ERROR(
      store_->Scan(Family::kTaskIndex, prefix, [&](std::string_view k, std::string_view) {
        ResultKey key;
        if (!ck::ParseTaskResultKey(k, &key)) {
          bad = Status::Corruption(store_->path(), "malformed task index key");
          return false;
        }
        return fn(key);
      }));
  return bad;
}

Result<std::vector<Digest>> Cache::TaskConfigs(const Digest& task) const {
  // Jump from config to config instead of visiting every result.
  std::vector<Digest> out;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->handle(Family::kTaskIndex)));
  const std::string prefix = ck::TaskResultPrefix(task);
  it->Seek(prefix);
  while (it->Valid()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix || k.size() < 65) break;
    Digest config = Digest::FromBytes(k.substr(33, 32));
    out.push_back(config);
    // Seek past every key with this config: prefix + config + 0xff... (64 bytes of 0xff).
    std::string next = prefix;
    next.append(config.Bytes());
    next.append(64, '\xff');
    next.push_back('\xff');
    it->Seek(next);
  }
  GEM_RETURN_IF_ERROR(FromRocks(it->status(), store_->path()));
  return out;
}

Result<std::vector<Digest>> Cache::Tasks() const {
  std::set<Digest> tasks;
  GEM_RETURN_IF_ERROR(store_->Scan(Family::kLabels,
                                   std::string(1, static_cast<char>(LabelKind::kTask)),
                                   [&](std::string_view k, std::string_view) {
                                     if (k.size() == 33)
                                       tasks.insert(Digest::FromBytes(k.substr(1)));
                                     return true;
                                   }));
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->handle(Family::kTaskIndex)));
  it->SeekToFirst();
  while (it->Valid()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() < 32) {
      it->Next();
      continue;
    }
    Digest t = Digest::FromBytes(k.substr(0, 32));
    tasks.insert(t);
    std::string next(t.Bytes());
    next.append(8, '\xff');
    it->Seek(next);
  }
  GEM_RETURN_IF_ERROR(FromRocks(it->status(), store_->path()));
  return std::vector<Digest>(tasks.begin(), tasks.end());
}

namespace {

// Shared by ResolveTask/ResolveModel: full hex, unique hex prefix among `known`, or exact label.
Result<Digest> Resolve(const Cache& cache, LabelKind kind, const char* what, std::string_view text,
                       const std::vector<Digest>& known) {
  if (text.size() == 64 && IsHex(text)) return Digest::FromHex(Lower(text));
  auto by_label = cache.FindByLabel(kind, text);
  if (!by_label.ok()) return by_label.status();
  std::vector<Digest> matches = *by_label;
  if (matches.empty() && text.size() >= 8 && IsHex(text)) {
    std::string lower = Lower(text);
    for (const auto& d : known) {
      if (d.Hex().compare(0, lower.size(), lower) == 0) matches.push_back(d);
    }
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    return Status::NotFound(std::string("no ") + what + " named or prefixed '" + std::string(text) +
                            "' in the cache");
  }
  std::string list;
  for (size_t i = 0; i < matches.size() && i < 8; ++i) {
    if (i) list += ", ";
    list += matches[i].ShortHex();
  }
  return Status::InvalidArgument(std::string(what) + " '" + std::string(text) + "' is ambiguous",
                                 "matches " + list + "; give the full digest");
}

}  // namespace

Result<Digest> Cache::ResolveTask(std::string_view name_or_hex) const {
  auto tasks = Tasks();
  if (!tasks.ok()) return tasks.status();
  return Resolve(*this, LabelKind::kTask, "task", name_or_hex, *tasks);
}

Result<Digest> Cache::ResolveModel(std::string_view name_or_hex) const {
  std::vector<Digest> models;
  GEM_RETURN_IF_ERROR(store_->Scan(Family::kLabels,
                                   std::string(1, static_cast<char>(LabelKind::kModel)),
                                   [&](std::string_view k, std::string_view) {
                                     if (k.size() == 33)
                                       models.push_back(Digest::FromBytes(k.substr(1)));
                                     return true;
                                   }));
  return Resolve(*this, LabelKind::kModel, "model", name_or_hex, models);
}

// --- stats ---

Result<CacheStats> Cache::Stats() const {
  CacheStats st;
  st.path = store_->path();
  st.format_version = store_->format_version();
  GEM_RETURN_IF_ERROR(store_->Scan(Family::kResults, {}, [&](std::string_view, std::string_view) {
    ++st.results;
    return true;
  }));
  GEM_RETURN_IF_ERROR(store_->Scan(Family::kLabels, {}, [&](std::string_view, std::string_view) {
    ++st.labels;
    return true;
  }));
  auto tasks = Tasks();
  if (!tasks.ok()) return tasks.status();
  for (const auto& t : *tasks) {
    TaskStats ts;
    ts.task = t;
    std::string name;
    Status ls = GetLabel(LabelKind::kTask, t, &name);
    if (ls.ok())
      ts.name = name;
    else if (!ls.IsNotFound())
      return ls;
    std::set<Digest> models, configs;
    GEM_RETURN_IF_ERROR(
        store_->Scan(Family::kTaskIndex, t.Bytes(), [&](std::string_view k, std::string_view) {
          if (k.size() == 65 && k[32] == ck::kTaskQuery) {
            ++ts.queries;
          } else {
            ResultKey key;
            if (ck::ParseTaskResultKey(k, &key)) {
              ++ts.results;
              models.insert(key.model);
              configs.insert(key.config);
            }
          }
          return true;
        }));
    ts.models = models.size();
    ts.configs = configs.size();
    st.tasks.push_back(std::move(ts));
  }
  std::sort(st.tasks.begin(), st.tasks.end(), [](const TaskStats& a, const TaskStats& b) {
    return a.name != b.name ? a.name < b.name : a.task < b.task;
  });
  st.size_on_disk_bytes = store_->SizeOnDisk();
  return st;
}

}  // namespace gem
