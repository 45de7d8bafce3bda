// Copyright the gem authors. Request limits (request_limits.h).
#include "request_limits.h"

#include <cstdio>
#include <type_traits>
#include <variant>

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

namespace {

Status Cap(std::string_view field, const std::string& value, size_t max) {
  if (value.size() <= max) return Status::OK();
  return Status::InvalidArgument(
      "field '" + std::string(field) + "'",
      std::to_string(value.size()) + " bytes, at most " + std::to_string(max) + " allowed");
}

Status Path(std::string_view field, const std::string& value) {
  GEM_RETURN_IF_ERROR(Cap(field, value, kMaxPathBytes));
  if (value.find('\0') != std::string::npos) {
    return Status::InvalidArgument("field '" + std::string(field) + "'", "holds a NUL byte");
  }
  return Status::OK();
}

}  // namespace

Status CheckRequestLimits(const proto::Request& req) {
  return std::visit(
      [](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, proto::TreeRegisterRequest>) {
          GEM_RETURN_IF_ERROR(Cap("name", b.name, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("format", b.format, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("task", b.task, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("user", b.user, kMaxUserBytes));
          GEM_RETURN_IF_ERROR(Path("file_name", b.file_name));
          GEM_RETURN_IF_ERROR(Path("manifest", b.manifest));
          if (b.queries > kMaxReplayQueries) {
            return Status::InvalidArgument("field 'queries'",
                                           std::to_string(b.queries) +
                                               " simulated queries per task, at most " +
                                               std::to_string(kMaxReplayQueries) + " allowed");
          }
          if (b.tasks.size() > kMaxTasksPerTree) {
            return Status::InvalidArgument("field 'tasks'",
                                           std::to_string(b.tasks.size()) + " tasks, at most " +
                                               std::to_string(kMaxTasksPerTree) + " allowed");
          }
          for (const auto& t : b.tasks) {
            GEM_RETURN_IF_ERROR(Cap("tasks.name", t.name, kMaxNameBytes));
            GEM_RETURN_IF_ERROR(Path("tasks.file_name", t.file_name));
          }
        } else if constexpr (std::is_same_v<T, proto::TreeShowRequest>) {
          GEM_RETURN_IF_ERROR(Cap("name", b.name, kMaxNameBytes));
        } else if constexpr (std::is_same_v<T, proto::SearchStartRequest>) {
          GEM_RETURN_IF_ERROR(Cap("tree", b.tree, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("task", b.task, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("method", b.method, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("user", b.user, kMaxUserBytes));
        } else if constexpr (std::is_same_v<T, proto::SearchListRequest>) {
          GEM_RETURN_IF_ERROR(Cap("user", b.user, kMaxUserBytes));
          GEM_RETURN_IF_ERROR(Cap("state", b.state, kMaxNameBytes));
        } else if constexpr (std::is_same_v<T, proto::CacheExportRequest>) {
          GEM_RETURN_IF_ERROR(Cap("tree", b.tree, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("task", b.task, kMaxNameBytes));
        } else if constexpr (std::is_same_v<T, proto::CacheImportRequest>) {
          GEM_RETURN_IF_ERROR(Cap("tree", b.tree, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("task", b.task, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Cap("format", b.format, kMaxNameBytes));
          GEM_RETURN_IF_ERROR(Path("file_name", b.file_name));
        }
        return Status::OK();
      },
      req.body);
}

std::string LogSafe(std::string_view text, size_t max_bytes) {
  std::string out;
  const size_t n = std::min(text.size(), max_bytes);
  out.reserve(n + 24);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_bytes) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace gemd
