// Copyright the gem authors. A raw ZeroMQ DEALER client for tests that send gemd what gemctl
// never would (bad frames, hostile requests), and msgpack helpers to build such frames.
#ifndef GEM_TESTS_SERVICE_RAW_CLIENT_H_
#define GEM_TESTS_SERVICE_RAW_CLIENT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <msgpack.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "gem/protocol.h"

namespace gem::testing {

class RawClient {
 public:
  explicit RawClient(const std::string& endpoint) : sock_(ctx_, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.connect(endpoint);
  }
  // Sends the frames as given (no delimiter added).
  void SendFrames(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      sock_.send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // Waits up to timeout_ms for one reply; false when none came.
  bool Receive(protocol::Reply* reply, int timeout_ms = 5000) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    if (!(item.revents & ZMQ_POLLIN)) return false;
    std::vector<zmq::message_t> got;
    (void)zmq::recv_multipart(sock_, std::back_inserter(got));
    Status st = protocol::DecodeReply(got.back().to_string_view(), reply);
    EXPECT_TRUE(st.ok()) << "gemd's reply does not decode: " << st.ToString();
    return true;
  }
  // Sends the frames and decodes the one reply.
  protocol::Reply Exchange(const std::vector<std::string>& frames, int timeout_ms = 5000) {
    SendFrames(frames);
    protocol::Reply reply;
    if (!Receive(&reply, timeout_ms)) {
      ADD_FAILURE() << "no reply within " << timeout_ms << " ms";
      reply.status = Status::Unavailable("no reply");
    }
    return reply;
  }
  protocol::Reply Send(const std::string& payload, int timeout_ms = 5000) {
    return Exchange({"", payload}, timeout_ms);
  }
  // A well-formed request of `body`'s type.
  protocol::Reply Call(const protocol::RequestBody& body, uint64_t id = 1, int timeout_ms = 5000) {
    protocol::Request req;
    req.id = id;
    req.body = body;
    return Send(protocol::EncodeRequest(req), timeout_ms);
  }
  void Close() { sock_.close(); }

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t sock_;
};

template <class F>
std::string Pack(uint32_t n, F&& fill) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(n);
  fill(pk);
  return std::string(buf.data(), buf.size());
}

inline void ExpectError(const protocol::Reply& r, Status::Code code, const std::string& needle) {
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), code) << r.status.ToString();
  EXPECT_NE(r.status.message().find(needle), std::string::npos)
      << "'" << r.status.message() << "' should name '" << needle << "'";
}

}  // namespace gem::testing

#endif  // GEM_TESTS_SERVICE_RAW_CLIENT_H_
