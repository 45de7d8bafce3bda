// Copyright the gem authors. For fuzz targets whose API reads a path (the readers gemd runs on
// files a request names): the input is written to an in-memory file (memfd), reopened by path
// as /proc/self/fd/N, a regular file as far as gem/file.h can tell.
#ifndef GEM_FUZZ_FUZZ_FILE_H_
#define GEM_FUZZ_FUZZ_FILE_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace gem::fuzz {

// The path of a file holding exactly data[0, size). Reuses one memfd per process.
inline std::string AsFile(const uint8_t* data, size_t size) {
  static int fd = [] {
    int f = memfd_create("gem-fuzz-input", 0);
    if (f < 0) std::abort();
    return f;
  }();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace gem::fuzz

#endif  // GEM_FUZZ_FUZZ_FILE_H_
