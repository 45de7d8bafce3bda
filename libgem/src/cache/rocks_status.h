// Copyright the gem authors. Converting RocksDB statuses to gem::Status (internal).
#ifndef GEM_CACHE_ROCKS_STATUS_H_
#define GEM_CACHE_ROCKS_STATUS_H_

#include <rocksdb/status.h>

#include <string_view>

#include "gem/status.h"

namespace gem {

// Maps a RocksDB status onto our codes; the message is prefixed with `context` (e.g. the path).
inline Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg = s.ToString();
  if (s.IsNotFound()) return Status::NotFound(context, msg);
  if (s.IsCorruption()) return Status::Corruption(context, msg);
  if (s.IsNotSupported()) return Status::NotSupported(context, msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(context, msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Unavailable(context, msg);
  if (s.IsNoSpace() || s.IsMemoryLimit()) return Status::ResourceExhausted(context, msg);
  if (s.IsIOError()) return Status::IOError(context, msg);
  if (s.IsAborted()) return Status::Aborted(context, msg);
  return Status::Internal(context, msg);
}

}  // namespace gem

#endif  // GEM_CACHE_ROCKS_STATUS_H_
