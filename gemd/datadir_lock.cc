// Copyright the gem authors. The data-directory lock (datadir_lock.h).
#include "datadir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace gemd {

using gem::Status;

Status DataDirLock::Acquire(const std::string& dir, DataDirLock* out) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("data directory " + dir, "cannot create: " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::others_all,
                               std::filesystem::perm_options::remove, ec);
  std::string path = dir + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IOError(path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return Status::Unavailable("data directory " + dir,
                                 "locked by another gemd (pid " + pid + ")");
    }
    return Status::IOError(path, std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  out->Release();
  out->fd_ = fd;
  return Status::OK();
}

void DataDirLock::Release() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
}

DataDirLock::~DataDirLock() { Release(); }

}  // namespace gemd
