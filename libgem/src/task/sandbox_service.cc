// Copyright the gem authors. The grader service: its client (RunInService), its server side
// (ServeSandboxRequest) and their wire format (sandbox_internal.h).
//
// Under systemd, generated code does not run in a child of gemd: gemd connects to
// gem-sandbox.socket, systemd starts one gem-sandbox@.service per connection (a uid of its own,
// no network, its own cgroup; systemd/gem-sandbox@.service), whose gem-sandbox process reads
// the request from the socket, runs it with RunPython and writes the result back.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "task/sandbox_internal.h"

namespace gem::sandbox_internal {

namespace {

constexpr char kMagic[] = "gem-sandbox 1\n";
constexpr size_t kMaxReply = 1u << 20;

// A cursor over a message: header lines and length-prefixed byte blocks.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Line(std::string* out) {
    size_t nl = s_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 512) return false;
    *out = std::string(s_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (n > s_.size() - pos_) return false;
    *out = std::string(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // "<word> <N>\n" then N bytes.
  bool Block(const char* word, size_t max, std::string* out) {
    std::string line;
    if (!Line(&line)) return false;
    std::istringstream f(line);
    std::string w;
    size_t n = 0;
    if (!(f >> w >> n) || w != word || n > max) return false;
    return Bytes(n, out);
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

void AddBlock(std::string* out, const char* word, std::string_view bytes) {
  *out += word;
  *out += ' ';
  *out += std::to_string(bytes.size());
  *out += '\n';
  out->append(bytes);
}

Status IoFail(const std::string& what, const std::string& socket) {
  return Status::Unavailable("sandbox service " + socket, what + ": " + std::strerror(errno));
}

}  // namespace

std::string EncodeServiceRequest(std::string_view program, const SandboxLimits& l) {
  std::string out = kMagic;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "limits %u %u %llu %llu %u %u\n", l.wall_ms, l.cpu_seconds,
                static_cast<unsigned long long>(l.address_space),
                static_cast<unsigned long long>(l.file_size), l.processes, l.open_files);
  out += buf;
  AddBlock(&out, "program", program);
  return out;
}

Status DecodeServiceRequest(std::string_view bytes, std::string* program, SandboxLimits* l) {
  Reader r(bytes);
  std::string line;
  if (!r.Line(&line) || line + "\n" != kMagic) {
    return Status::InvalidArgument("sandbox request", "does not start with 'gem-sandbox 1'");
  }
  if (!r.Line(&line)) return Status::InvalidArgument("sandbox request", "no limits line");
  std::istringstream f(line);
  std::string word;
  unsigned long long as = 0, fs = 0;
  if (!(f >> word >> l->wall_ms >> l->cpu_seconds >> as >> fs >> l->processes >> l->open_files) ||
      word != "limits") {
    return Status::InvalidArgument("sandbox request", "malformed limits line");
  }
  l->address_space = as;
  l->file_size = fs;
  // What the service allows at most, whatever the client asks.
  if (l->wall_ms == 0 || l->wall_ms > 600'000 || l->cpu_seconds > 600 ||
      l->address_space > (64ull << 30) || l->file_size > (1ull << 30) || l->processes == 0 ||
      l->processes > 4096 || l->open_files == 0 || l->open_files > 4096) {
    return Status::InvalidArgument("sandbox request", "limits out of range: " + line);
  }
  if (!r.Block("program", kMaxServiceProgram, program) || !r.AtEnd()) {
    return Status::InvalidArgument(
        "sandbox request",
        "malformed program block (at most " + std::to_string(kMaxServiceProgram) + " bytes)");
  }
  return Status::OK();
}

std::string EncodeServiceReply(const Result<SandboxResult>& result) {
  std::string out = kMagic;
  const Status& st = result.status();
  out += "status " + std::to_string(static_cast<int>(st.code())) + " " +
         std::to_string(st.message().size()) + "\n" + st.message();
  if (!st.ok()) return out;
  const SandboxResult& s = *result;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "result %d %d %d %d %.6f %u %d\n", static_cast<int>(s.end),
                s.exit_code, s.signal, s.completed ? 1 : 0, s.seconds, s.uid, s.pgid);
  out += buf;
  AddBlock(&out, "isolation", s.isolation);
  AddBlock(&out, "out", s.out);
  AddBlock(&out, "err", s.err);
  return out;
}

Result<SandboxResult> DecodeServiceReply(std::string_view bytes) {
  auto bad = [](const std::string& why) { return Status::Internal("sandbox service reply", why); };
  Reader r(bytes);
  std::string line;
  if (!r.Line(&line) || line + "\n" != kMagic) return bad("does not start with 'gem-sandbox 1'");
  if (!r.Line(&line)) return bad("no status line");
  std::istringstream sf(line);
  std::string word, message;
  int code = -1;
  size_t n = 0;
  if (!(sf >> word >> code >> n) || word != "status" || code < 0 ||
      code > static_cast<int>(Status::Code::kPermissionDenied) || !r.Bytes(n, &message)) {
    return bad("malformed status");
  }
  if (code != 0) return Status::FromCode(static_cast<Status::Code>(code), message);
  SandboxResult s;
  if (!r.Line(&line)) return bad("no result line");
  std::istringstream rf(line);
  int end = 0, completed = 0;
  if (!(rf >> word >> end >> s.exit_code >> s.signal >> completed >> s.seconds >> s.uid >>
        s.pgid) ||
      word != "result" || end < 0 || end > 2) {
    return bad("malformed result line");
  }
  s.end = static_cast<SandboxResult::End>(end);
  s.completed = completed != 0;
  if (!r.Block("isolation", 1024, &s.isolation) || !r.Block("out", kMaxReply, &s.out) ||
      !r.Block("err", kMaxReply, &s.err) || !r.AtEnd()) {
    return bad("malformed blocks");
  }
  return s;
}

Result<SandboxResult> RunInService(std::string_view program, const SandboxLimits& limits,
                                   const SandboxHost& host) {
  const std::string& path = host.service_socket;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("sandbox service socket '" + path + "'", "path too long");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoFail("socket", path);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return IoFail("connect (is gem-sandbox.socket running?)", path);
  }
  // The whole exchange is bounded by the program's wall clock plus the service's start-up.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(limits.wall_ms) + std::chrono::seconds(30);
  auto wait = [&](short events) -> bool {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      int r = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  };
  const std::string request = EncodeServiceRequest(program, limits);
  for (size_t off = 0; off < request.size();) {
    if (!wait(POLLOUT)) return Status::Unavailable("sandbox service " + path, "timed out sending");
    ssize_t w = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return IoFail("send", path);
    }
    off += static_cast<size_t>(w);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[65536];
  for (;;) {
    if (!wait(POLLIN)) {
      return Status::Unavailable("sandbox service " + path, "no complete reply in time");
    }
    ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return IoFail("recv", path);
    }
    reply.append(buf, static_cast<size_t>(got));
    if (reply.size() > 4 * kMaxReply) return Status::Internal("sandbox service reply", "too large");
  }
  auto result = DecodeServiceReply(reply);
  if (result.ok() && result->isolation.rfind("service", 0) != 0) {
    result->isolation = "service," + result->isolation;
  }
  return result;
}

}  // namespace gem::sandbox_internal

namespace gem {

Status ServeSandboxRequest(int in_fd, int out_fd, const SandboxHost& host) {
  std::string request;
  char buf[65536];
  const size_t max = sandbox_internal::kMaxServiceProgram + 4096;
  for (;;) {
    ssize_t n = read(in_fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("sandbox request", std::strerror(errno));
    }
    request.append(buf, static_cast<size_t>(n));
    if (request.size() > max) {
      return Status::ResourceExhausted("sandbox request", "larger than " + std::to_string(max));
    }
  }
  std::string program;
  SandboxLimits limits;
  Status st = sandbox_internal::DecodeServiceRequest(request, &program, &limits);
  SandboxHost local = host;
  local.service_socket.clear();
  Result<SandboxResult> result =
      st.ok() ? RunPython(program, limits, local) : Result<SandboxResult>(st);
  if (result.ok()) result->isolation = "service," + result->isolation;
  const std::string reply = sandbox_internal::EncodeServiceReply(result);
  for (size_t off = 0; off < reply.size();) {
    ssize_t w = write(out_fd, reply.data() + off, reply.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("sandbox reply", std::strerror(errno));
    }
    off += static_cast<size_t>(w);
  }
  return st;
}

}  // namespace gem
