// Copyright the gem authors. Limits on what one request may ask for, checked before any work.
//
// The protocol decoder already bounds frames, lengths and nesting (docs/PROTOCOL.md). These are
// the limits of meaning: a name is at most 64 bytes, a user at most 64, a path at most 4096 and
// without NUL bytes, a replay tree's simulated queries at most kMaxReplayQueries, a request's
// task list at most kMaxTasksPerTree. A request over a limit gets InvalidArgument naming the
// field and the limit, and nothing is stored or allocated for it; docs/PROTOCOL.md lists them.
//
// Thread-safety: pure functions.
#ifndef GEMD_REQUEST_LIMITS_H_
#define GEMD_REQUEST_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gem/protocol.h"
#include "gem/status.h"

namespace gemd {

inline constexpr size_t kMaxNameBytes = 64;    // tree, task, method, state names
inline constexpr size_t kMaxUserBytes = 64;    // the client's claimed user name
inline constexpr size_t kMaxPathBytes = 4096;  // manifest paths, file names (PATH_MAX)
inline constexpr uint32_t kMaxReplayQueries = 1'000'000;
inline constexpr size_t kMaxTasksPerTree = 256;

// OK, or InvalidArgument naming the first field over its limit.
gem::Status CheckRequestLimits(const gem::protocol::Request& request);

// `text` made safe for one log line: at most `max_bytes` bytes (then "...(N bytes)"), control
// characters and invalid bytes escaped as \xNN.
std::string LogSafe(std::string_view text, size_t max_bytes = 96);

}  // namespace gemd

#endif  // GEMD_REQUEST_LIMITS_H_
