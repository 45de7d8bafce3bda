// Copyright the gem authors. Reading files a request names, without trusting them.
//
// gemd reads files whose paths arrive in requests (a manifest, the model files it names, task
// files). Such a path may name a directory, a FIFO that never delivers a byte, a device that
// never ends (/dev/zero), or a file far larger than its format allows. The functions here open
// only regular files, never block on the open (O_NONBLOCK: a FIFO or a device is refused before
// it is read) and never read more than the caller's limit, so a bad path costs an error, not a
// hung thread or gigabytes of memory.
//
// Thread-safety: reentrant. Errors: InvalidArgument for a path with a NUL byte or an empty path,
// NotFound when nothing is there, InvalidArgument naming what it is when it is not a regular
// file, ResourceExhausted when the file is over the limit, IOError for everything else; each
// message starts with the path.
#ifndef GEM_FILE_H_
#define GEM_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gem/status.h"

namespace gem {

// Size limits of the small files gem reads whole (checkpoint weights are mapped, not read).
inline constexpr uint64_t kMaxJsonFileBytes = 64ull << 20;        // config.json, manifests, ...
inline constexpr uint64_t kMaxTokenizerFileBytes = 512ull << 20;  // tokenizer.json
inline constexpr uint64_t kMaxTaskFileBytes = 1ull << 30;         // task JSONL, CSVs

// InvalidArgument unless `path` is non-empty and holds no NUL byte.
Status CheckPathText(std::string_view path);

// Opens `path` read-only as a regular file (O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY; the
// non-blocking flag is cleared once the file is known to be regular). On success stores the
// descriptor in *fd (the caller closes it) and its size in *size.
Status OpenRegularFile(std::string_view path, int* fd, uint64_t* size);

// Reads the whole regular file at `path` into *out, refusing it when it is larger than
// `max_bytes`. *out is cleared on error.
Status ReadRegularFile(std::string_view path, uint64_t max_bytes, std::string* out);

}  // namespace gem

#endif  // GEM_FILE_H_
