// Copyright the gem authors. Store: opening the RocksDB instance, its families and its version.
#include "gem/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>

#include "cache/rocks_status.h"

namespace gem {
namespace {

constexpr const char* kFamilyNames[kNumFamilies] = {"meta",       "results", "labels",
                                                    "task_index", "jobs",    "trees"};
constexpr std::string_view kVersionKey = "format_version";

// RocksDB's write path, called from a function of its own so that Store::Write shows in TSan's
// stacks. RocksDB (Debian's library) is not built with TSan; inside DB::Write the leader of a
// write group appends the other writers' batches to its own (group commit), ordered by atomics
// TSan cannot see, with std::string code that TSan does see (it is instantiated in our binary).
// Those reports carry no RocksDB frame (uninstrumented code pushes none); the frame they do
// carry is Store::Write's call of this function, which scripts/sanitizers/tsan.supp names.
// Not inlined: then Store::Write would call into RocksDB directly and leave no frame.
[[gnu::noinline]] rocksdb::Status WriteToRocks(rocksdb::DB* db, const rocksdb::WriteOptions& o,
                                               rocksdb::WriteBatch* batch) {
  return db->Write(o, batch);
}

// Options for a family. Results are point-looked-up in batches (bloom filter) and scanned by
// model (the key starts with the 32-byte model digest: a fixed prefix extractor gives prefix
// blooms); the task index is scanned by task (also a 32-byte prefix).
rocksdb::ColumnFamilyOptions FamilyOptions(std::string_view name,
                                           const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  if (name == "results" || name == "task_index") {
    cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(32));
    cf.memtable_prefix_bloom_size_ratio = 0.05;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

const char* FamilyName(Family family) {
  auto i = static_cast<int>(family);
  return i < kNumFamilies ? kFamilyNames[i] : "?";
}

struct Store::Impl {
  std::string path;
  StoreOptions options;
  uint32_t version = 0;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // as opened
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> by_name;
  rocksdb::ColumnFamilyHandle* fixed[kNumFamilies] = {};
  rocksdb::WriteOptions write_options;

  ~Impl() {
    if (db) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      handles.clear();
      db->Close();
      db.reset();
    }
  }

  Status CheckWritable() const {
    if (options.read_only) {
      return Status::FailedPrecondition(path, "store opened read-only");
    }
    return Status::OK();
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->write_options.sync = options.sync;
  impl->write_options.disableWAL = false;

  for (const auto& extra : options.extra_families) {
    if (extra.empty() || extra.rfind("gem.", 0) == 0 || extra == "default") {
      return Status::InvalidArgument(path, "bad extra family name '" + extra + "'");
    }
  }

  std::error_code ec;
  const bool existed = fs::exists(fs::path(path) / "CURRENT", ec);
  if (!existed) {
    if (!options.create_if_missing || options.read_only) {
      return Status::NotFound(path, "no gem store here (no RocksDB database)");
    }
    if (fs::exists(path, ec) && !fs::is_directory(path, ec)) {
      return Status::InvalidArgument(path, "exists and is not a directory");
    }
    if (fs::exists(path, ec) && !fs::is_empty(path, ec)) {
      // Refuse to scatter a database into someone's non-empty folder by mistake.
      return Status::FailedPrecondition(path,
                                        "directory is not empty and holds no database; "
                                        "give an empty or new directory");
    }
    fs::create_directories(path, ec);
    if (ec) return Status::IOError(path, "cannot create directory: " + ec.message());
  }

  auto block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !existed;
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;  // a 2-core machine shared with the engine
  db_options.keep_log_file_num = 5;

  // Every family on disk must be opened; then ours and the extras (created when missing).
  std::vector<std::string> names;
  if (existed) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
    if (!s.ok()) return FromRocks(s, path);
  } else {
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  if (!options.read_only) {
    for (const char* n : kFamilyNames) add(n);
    for (const auto& n : options.extra_families) add(n);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, FamilyOptions(n, block_cache));

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Unavailable(path,
                                 "in use by another process (is gemd running on this data "
                                 "directory?): " +
                                     s.ToString());
    }
    return FromRocks(s, path);
  }
  impl->db.reset(raw);
  for (size_t i = 0; i < names.size(); ++i) impl->by_name[names[i]] = impl->handles[i];
  for (int f = 0; f < kNumFamilies; ++f) {
    auto it = impl->by_name.find(kFamilyNames[f]);
    impl->fixed[f] = it == impl->by_name.end() ? nullptr : it->second;
  }

  // The format version.
  auto* meta = impl->fixed[static_cast<int>(Family::kMeta)];
  std::string version;
  rocksdb::Status vs = meta ? impl->db->Get(rocksdb::ReadOptions(), meta, kVersionKey, &version)
                            : rocksdb::Status::NotFound();
  if (vs.IsNotFound()) {
    // A database we did not create (or one whose creation was interrupted before anything else
    // was written) has no version. Accept only an empty one.
    bool empty = true;
    for (auto* h : impl->handles) {
      std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions(), h));
      it->SeekToFirst();
      if (it->Valid()) empty = false;
    }
    if (!empty) {
      return Status::Corruption(path, "a RocksDB database that is not a gem store (no " +
                                          std::string(kVersionKey) + " in family meta)");
    }
    if (options.read_only) {
      return Status::Corruption(path, "empty database without a format version");
    }
    std::string v = std::to_string(kFormatVersion);
    rocksdb::WriteOptions synced;
    synced.sync = true;
    s = impl->db->Put(synced, meta, kVersionKey, v);
    if (!s.ok()) return FromRocks(s, path);
    impl->version = kFormatVersion;
  } else if (!vs.ok()) {
    return FromRocks(vs, path);
  } else {
    uint32_t v = 0;
    auto [p, err] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (err != std::errc() || p != version.data() + version.size() || v == 0) {
      return Status::Corruption(path, "unreadable format_version '" + version + "'");
    }
    if (v > kFormatVersion) {
      return Status::FailedPrecondition(
          path, "store format version " + std::to_string(v) +
                    " is newer than this build of gem supports (" + std::to_string(kFormatVersion) +
                    "); use a newer gem, or a different data directory");
    }
    impl->version = v;
  }
  if (options.read_only) {
    for (int f = 0; f < kNumFamilies; ++f) {
      if (!impl->fixed[f]) {
        return Status::Corruption(path, std::string("missing column family ") + kFamilyNames[f]);
      }
    }
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::path() const { return impl_->path; }
bool Store::read_only() const { return impl_->options.read_only; }
uint32_t Store::format_version() const { return impl_->version; }
rocksdb::DB* Store::db() const { return impl_->db.get(); }
rocksdb::ColumnFamilyHandle* Store::handle(Family family) const {
  return impl_->fixed[static_cast<int>(family)];
}
rocksdb::ColumnFamilyHandle* Store::handle(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : it->second;
}

Status Store::Put(Family family, std::string_view key, std::string_view value) {
  GEM_RETURN_IF_ERROR(impl_->CheckWritable());
  return FromRocks(impl_->db->Put(impl_->write_options, handle(family), key, value), impl_->path);
}

Status Store::Delete(Family family, std::string_view key) {
  GEM_RETURN_IF_ERROR(impl_->CheckWritable());
  return FromRocks(impl_->db->Delete(impl_->write_options, handle(family), key), impl_->path);
}

Status Store::Get(Family family, std::string_view key, std::string* value) const {
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), handle(family), key, value);
  if (s.IsNotFound()) return Status::NotFound(FamilyName(family), "no such key");
  return FromRocks(s, impl_->path);
}

Status Store::Scan(Family family, std::string_view prefix, const ScanFn& fn) const {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // prefix lengths vary; correctness over prefix-bloom speed
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, handle(family)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() < prefix.size() || std::string_view(k.data(), prefix.size()) != prefix) break;
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status(), impl_->path);
}

Store::Batch::Batch(const Store* store)
    : store_(store), wb_(std::make_unique<rocksdb::WriteBatch>()) {}
Store::Batch::~Batch() = default;
Store::Batch::Batch(Batch&&) noexcept = default;
Store::Batch& Store::Batch::operator=(Batch&&) noexcept = default;

void Store::Batch::Put(Family family, std::string_view key, std::string_view value) {
  wb_->Put(store_->handle(family), key, value);
}
void Store::Batch::Delete(Family family, std::string_view key) {
  wb_->Delete(store_->handle(family), key);
}
void Store::Batch::Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                       std::string_view value) {
  wb_->Put(cf, key, value);
}
void Store::Batch::Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  wb_->Delete(cf, key);
}
size_t Store::Batch::count() const { return wb_->Count(); }
void Store::Batch::Clear() { wb_->Clear(); }

Status Store::Write(Batch* batch) {
  if (batch->count() == 0) return Status::OK();
  GEM_RETURN_IF_ERROR(impl_->CheckWritable());
  if (batch->store_ != this) return Status::InvalidArgument(impl_->path, "batch of another store");
  return FromRocks(WriteToRocks(impl_->db.get(), impl_->write_options, batch->wb_.get()),
                   impl_->path);
}

uint64_t Store::SizeOnDisk() const {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(impl_->path, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

Status Store::Flush() {
  if (impl_->options.read_only) return Status::OK();
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return FromRocks(impl_->db->Flush(fo, impl_->handles), impl_->path);
}

}  // namespace gem
