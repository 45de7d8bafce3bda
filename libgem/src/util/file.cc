// Copyright the gem authors. Reading files a request names (gem/file.h).
#include "gem/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gem {

namespace {

const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

Status CheckPathText(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("path", "is empty");
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(
        "path '" + std::string(path.substr(0, path.find('\0'))) + "\\0...'", "holds a NUL byte");
  }
  return Status::OK();
}

Status OpenRegularFile(std::string_view path_view, int* fd, uint64_t* size) {
  *fd = -1;
  *size = 0;
  GEM_RETURN_IF_ERROR(CheckPathText(path_view));
  const std::string path(path_view);
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
  int f = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (f < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) return Status::NotFound(path, "no such file");
    if (e == EISDIR) return Status::InvalidArgument(path, "is a directory, expected a file");
    return Status::IOError(path, std::strerror(e));
  }
  struct stat st;
  if (::fstat(f, &st) != 0) {
    int e = errno;
    ::close(f);
    return Status::IOError(path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(f);
    return Status::InvalidArgument(
        path, std::string("is ") + KindOf(st.st_mode) + ", expected a regular file");
  }
  // A regular file never blocks; clear the flag so reads behave as usual.
  int flags = ::fcntl(f, F_GETFL);
  if (flags >= 0) (void)::fcntl(f, F_SETFL, flags & ~O_NONBLOCK);
  *fd = f;
  *size = static_cast<uint64_t>(st.st_size);
  return Status::OK();
}

Status ReadRegularFile(std::string_view path, uint64_t max_bytes, std::string* out) {
  out->clear();
  int fd = -1;
  uint64_t size = 0;
  GEM_RETURN_IF_ERROR(OpenRegularFile(path, &fd, &size));
  if (size > max_bytes) {
    ::close(fd);
    return Status::ResourceExhausted(std::string(path), "file of " + std::to_string(size) +
                                                            " bytes exceeds the limit of " +
                                                            std::to_string(max_bytes) + " bytes");
  }
  try {
    out->resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return Status::ResourceExhausted(std::string(path), "out of memory reading it");
  }
  // Read at most max_bytes + 1: a file that grows while it is read is still bounded.
  size_t got = 0;
  while (true) {
    if (got == out->size()) {
      if (got >= max_bytes) {
        char probe;
        ssize_t n = ::read(fd, &probe, 1);
        if (n > 0) {
          ::close(fd);
          out->clear();
          return Status::ResourceExhausted(
              std::string(path),
              "file grew beyond the limit of " + std::to_string(max_bytes) + " bytes while read");
        }
        break;
      }
      out->resize(std::min<uint64_t>(max_bytes, std::max<size_t>(got * 2, 4096)));
    }
    ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      out->clear();
      return Status::IOError(std::string(path), std::strerror(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out->resize(got);
  return Status::OK();
}

}  // namespace gem
