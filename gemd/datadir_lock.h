// Copyright the gem authors. The data-directory lock: one gemd per data directory.
//
// flock(LOCK_EX | LOCK_NB) on <data_dir>/.lock, held for the process lifetime. The kernel drops
// it when the process dies (kill -9 included), so a crashed gemd never leaves a stale lock. The
// file holds the owner's pid for humans; the pid is informative only.
#ifndef GEMD_DATADIR_LOCK_H_
#define GEMD_DATADIR_LOCK_H_

#include <string>

#include "gem/status.h"

namespace gemd {

class DataDirLock {
 public:
  // Creates the directory (mode 0750) when missing and takes the lock. Unavailable, naming the
  // directory and the holder's pid, when another process holds it; IOError otherwise.
  static gem::Status Acquire(const std::string& dir, DataDirLock* out);
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  void Release();

 private:
  int fd_ = -1;
};

}  // namespace gemd

#endif  // GEMD_DATADIR_LOCK_H_
