// Copyright the gem authors. Store: the one RocksDB database of a gem data directory.
//
// gemd keeps everything it persists in a single RocksDB instance, split into column families
// ("families") with fixed names. The store opens them all, checks the on-disk format version and
// hands out typed access; each part then owns its families:
//
//   family       owner                  contents (layout documented in)
//   meta         Store                  "format_version" and per-family version keys (CACHE.md)
//   results      Cache (gem/cache.h)    one entry per (model, query, config)  (docs/CACHE.md)
//   labels       Cache                  human names for digests               (docs/CACHE.md)
//   task_index   Cache                  per-task query order and result index (docs/CACHE.md)
//   jobs         gemd (job scheduler)   job records                 (gemd's own docs, not here)
//   trees        gemd (tree registry)   registered trees            (gemd's own docs, not here)
//
// A part that needs a family not in this list names it in StoreOptions::extra_families; the
// store creates it on first open and reopens it afterwards (RocksDB must open every family that
// exists, so every opener of a data directory should pass the same extra list; families found on
// disk but not requested are opened anyway and reachable through handle(name)).
//
// Versioning: the meta family holds "format_version" (ASCII decimal). A new database gets
// kFormatVersion. Open() refuses a database whose version is newer than kFormatVersion with
// FailedPrecondition naming both versions, and a non-empty directory that is not a gem store
// (no version key) with Corruption. A part versioning its own family's layout keeps a key
// "<family>.version" in meta (see MetaKey()).
//
// Durability: every write goes through the write-ahead log (never disabled). With
// StoreOptions::sync = true (the default) a write returns only after the WAL is fsync'ed, so a
// returned write survives a process kill AND a power loss; with sync = false it survives a process
// kill (the WAL is in the OS page cache) but the last writes may be lost on power loss.
//
// Processes: RocksDB allows one read-write opener of a directory (it takes a LOCK file); a second
// read-write Open() fails with Unavailable ("... in use by another process"). Read-only opens
// (StoreOptions::read_only) are allowed beside the writer and see the state at open time.
//
// Thread-safety: a Store is thread-safe (RocksDB DB and its handles are); every method may be
// called concurrently. A Store::Batch is not thread-safe (one builder per thread).
#ifndef GEM_STORE_H_
#define GEM_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace gem {

// The families every gem store has. Do not renumber: used as array indices only, the on-disk
// identity is the name (FamilyName()).
enum class Family : uint8_t {
  kMeta = 0,
  kResults = 1,
  kLabels = 2,
  kTaskIndex = 3,
  kJobs = 4,
  kTrees = 5,
};
inline constexpr int kNumFamilies = 6;

// "meta", "results", "labels", "task_index", "jobs", "trees".
const char* FamilyName(Family family);

struct StoreOptions {
  // Create the directory and database when absent. When false, a missing database is NotFound.
  bool create_if_missing = true;
  // Open read-only (no writes, no lock; may run beside a read-write opener). Writes fail with
  // FailedPrecondition.
  bool read_only = false;
  // fsync the write-ahead log before each write returns (see Durability above).
  bool sync = true;
  // RocksDB block cache shared by all families, in bytes.
  size_t block_cache_bytes = 64u << 20;
  // Further families other parts need (names, not starting with "gem."), created when missing.
  std::vector<std::string> extra_families;
};

class Store {
 public:
  // The on-disk format version this build writes and the newest it reads.
  static constexpr uint32_t kFormatVersion = 1;

  // Opens (or creates) the store in directory `path`, which the store owns alone (a missing or
  // empty directory is initialised; a non-empty one without a database is FailedPrecondition).
  // Errors: Unavailable when another process
  // holds the directory; FailedPrecondition for a newer format; Corruption for a directory that
  // is not a gem store; IOError for anything RocksDB reports otherwise. Messages name `path`.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options = {});

  // Closes the database (flushes nothing extra: the WAL already holds every returned write).
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  bool read_only() const;
  uint32_t format_version() const;  // as read from disk (== kFormatVersion once written)

  // Single-key access to one family. Get() returns NotFound when the key is absent.
  Status Put(Family family, std::string_view key, std::string_view value);
  Status Delete(Family family, std::string_view key);
  Status Get(Family family, std::string_view key, std::string* value) const;

  // Calls fn(key, value) for each key of `family` that starts with `prefix` (all keys for an
  // empty prefix), in byte order, from a consistent snapshot. fn returns false to stop early.
  // The views are valid only during the call.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  Status Scan(Family family, std::string_view prefix, const ScanFn& fn) const;

  // An atomic group of writes across families: all or none are applied, with one WAL record.
  class Batch {
   public:
    // REQUIRES: store outlives the batch.
    explicit Batch(const Store* store);
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;
    void Put(Family family, std::string_view key, std::string_view value);
    void Delete(Family family, std::string_view key);
    // For extra families (by handle, see handle(name)).
    void Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value);
    void Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
    size_t count() const;
    void Clear();

   private:
    friend class Store;
    const Store* store_;
    std::unique_ptr<rocksdb::WriteBatch> wb_;
  };
  // Applies `batch` atomically (durable per StoreOptions::sync). An empty batch is a no-op.
  Status Write(Batch* batch);

  // Sum of the live SST and WAL/blob file sizes under path(), in bytes (includes files of every
  // family; an estimate while compactions run).
  uint64_t SizeOnDisk() const;

  // Flushes memtables to SST files (tests; shutdown tidiness). Not needed for durability.
  Status Flush();

  // The meta-family key a part uses to record its family's own layout version.
  static std::string MetaKey(std::string_view family_name) {
    return std::string(family_name) + ".version";
  }

  // Escape hatch for parts that need RocksDB directly (iterators with options, MultiGet, ...).
  // The pointers stay valid for the Store's lifetime. handle(name) is null for unknown names.
  rocksdb::DB* db() const;
  rocksdb::ColumnFamilyHandle* handle(Family family) const;
  rocksdb::ColumnFamilyHandle* handle(std::string_view name) const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gem

#endif  // GEM_STORE_H_
