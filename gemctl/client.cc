// Copyright the gem authors. gemctl's connection to gemd (client.h).
#include "client.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>
#include <zmq_addon.hpp>

namespace gemctl {

using gem::Status;
namespace proto = gem::protocol;
using Clock = std::chrono::steady_clock;

namespace {

// A z85 key given literally (40 characters) or in a file (first non-comment line).
gem::Result<std::string> KeyArg(const std::string& arg, const char* what) {
  if (arg.size() == 40 && arg.find('/') == std::string::npos) {
    std::ifstream probe(arg);
    if (!probe) return arg;
  }
  std::ifstream in(arg);
  if (!in)
    return Status::InvalidArgument(what, "'" + arg + "' is neither a z85 key nor a readable file");
  std::string line;
  while (std::getline(in, line)) {
    line.erase(0, line.find_first_not_of(" \t\r"));
    if (line.empty() || line[0] == '#') continue;
    std::string key = line.substr(0, line.find_first_of(" \t\r"));
    if (key.size() != 40)
      return Status::InvalidArgument(arg, "does not hold a 40-character z85 key");
    return key;
  }
  return Status::InvalidArgument(arg, "holds no key");
}

// Why an ipc endpoint gave no answer, when the socket file says: "" when it does not. libzmq
// retries a refused connect in the background, so a socket gemd's permissions shut us out of
// would otherwise look like a gemd that is not running.
std::string DiagnoseIpc(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) != 0) return "";
  const std::string path = endpoint.substr(6);
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return "";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int e = errno;
  ::close(fd);
  if (rc == 0 || e != EACCES) return "";
  std::string owner;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    struct group* g = ::getgrgid(st.st_gid);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    owner = std::string(" (mode ") + mode + ", group " +
            (g ? g->gr_name : std::to_string(st.st_gid)) + ")";
  }
  return "permission denied on " + path + owner +
         ": gemd is there but your user may not connect; ask its admin to add you to the "
         "socket's group (usermod -aG gemd USER, then log in again)";
}

}  // namespace

Status Client::Connect(const ClientOptions& options) {
  options_ = options;
  try {
    sock_ = std::make_unique<zmq::socket_t>(zctx_, zmq::socket_type::dealer);
    sock_->set(zmq::sockopt::linger, 0);
    if (options.endpoint.rfind("tcp://", 0) == 0 &&
        (!options.curve_server_key.empty() || !options.curve_secret_key.empty())) {
      if (options.curve_server_key.empty() || options.curve_secret_key.empty()) {
        return Status::InvalidArgument("tcp",
                                       "needs both --curve-server-key and --curve-secret-key");
      }
      auto server = KeyArg(options.curve_server_key, "--curve-server-key");
      if (!server.ok()) return server.status();
      auto secret = KeyArg(options.curve_secret_key, "--curve-secret-key");
      if (!secret.ok()) return secret.status();
      char pub[41] = {};
      if (zmq_curve_public(pub, secret->c_str()) != 0) {
        return Status::InvalidArgument("--curve-secret-key", "not a valid CURVE secret key");
      }
      sock_->set(zmq::sockopt::curve_serverkey, *server);
      sock_->set(zmq::sockopt::curve_publickey, std::string(pub));
      sock_->set(zmq::sockopt::curve_secretkey, *secret);
    }
    if (options.endpoint.rfind("tcp://", 0) == 0) {
      // Watch the handshake, so that a refusal is reported as one, not as a timeout.
      std::string mon = "inproc://gemctl-monitor-" + std::to_string(::getpid());
      if (zmq_socket_monitor(sock_->handle(), mon.c_str(),
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
        monitor_ = std::make_unique<zmq::socket_t>(zctx_, zmq::socket_type::pair);
        monitor_->set(zmq::sockopt::linger, 0);
        monitor_->connect(mon);
      }
    }
    sock_->connect(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("endpoint '" + options.endpoint + "'", e.what());
  }
  // Ids need only be unique per connection; starting at a random point keeps logs readable when
  // several gemctl processes talk at once.
  next_id_ = std::random_device{}() % 100000 * 1000 + 1;
  return Status::OK();
}

Status Client::Send(const proto::RequestBody& body, uint64_t* id) {
  proto::Request req;
  req.id = next_id_++;
  req.body = body;
  std::string frame = proto::EncodeRequest(req);
  try {
    sock_->send(zmq::message_t(), zmq::send_flags::sndmore);
    sock_->send(zmq::buffer(frame), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    return Status::IOError("send to " + options_.endpoint, e.what());
  }
  *id = req.id;
  return Status::OK();
}

gem::Result<proto::Reply> Client::Receive(uint64_t id, int timeout_ms) {
  failure_ = Failure::kNone;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    std::vector<zmq::pollitem_t> items = {{sock_->handle(), 0, ZMQ_POLLIN, 0}};
    if (monitor_) items.push_back({monitor_->handle(), 0, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return Status::Aborted("interrupted");
      return Status::IOError("poll", e.what());
    }
    if (monitor_ && (items[1].revents & ZMQ_POLLIN)) {
      std::vector<zmq::message_t> ev;
      (void)zmq::recv_multipart(*monitor_, std::back_inserter(ev));
      failure_ = Failure::kRefused;
      return Status::Unavailable("gemd at " + options_.endpoint + " refused the connection",
                                 "CURVE authentication failed (is your public key in gemd's "
                                 "curve_authorized_keys, and --curve-server-key gemd's key?)");
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(*sock_, std::back_inserter(frames))) continue;
    if (frames.empty()) continue;
    const zmq::message_t& payload = frames.back();
    proto::Reply reply;
    Status st = proto::DecodeReply(
        std::string_view(static_cast<const char*>(payload.data()), payload.size()), &reply,
        size_t{1} << 31);
    if (!st.ok()) return st.WithContext("reply from gemd");
    if (reply.id != id) continue;  // a late answer to an earlier attempt
    return reply;
  }
  failure_ = Failure::kTimeout;
  if (std::string why = DiagnoseIpc(options_.endpoint); !why.empty()) {
    failure_ = Failure::kRefused;
    return Status::PermissionDenied("gemd at " + options_.endpoint, why);
  }
  return Status::Unavailable("no answer from gemd at " + options_.endpoint + " within " +
                                 std::to_string(timeout_ms / 1000.0).substr(0, 4) + " s",
                             "is gemd running? (--wait-for-daemon SECONDS waits for it)");
}

gem::Result<proto::Reply> Client::Call(const proto::RequestBody& body, int timeout_ms) {
  uint64_t id;
  GEM_RETURN_IF_ERROR(Send(body, &id));
  return Receive(id, timeout_ms);
}

Status Client::WaitForDaemon(double seconds) {
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    int attempt = static_cast<int>(std::min<int64_t>(std::max<int64_t>(left.count(), 1), 500));
    auto reply = Call(proto::HealthRequest{}, attempt);
    if (reply.ok() && reply->status.ok()) {
      auto* h = std::get_if<proto::HealthReply>(&reply->body);
      if (h && h->state == "ready") return Status::OK();
    }
    if (!reply.ok() && failure_ == Failure::kRefused) return reply.status();
    if (Clock::now() >= deadline) {
      failure_ = Failure::kTimeout;
      return Status::Unavailable(
          "gemd at " + options_.endpoint,
          "not ready within " + std::to_string(static_cast<int>(seconds)) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace gemctl
