// Copyright the gem authors. Frames gemd must survive: each gets an error reply naming the
// problem, and gemd keeps answering. Sent over a raw ZeroMQ DEALER socket, not gemctl.
#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "gem/protocol.h"
#include "service/harness.h"

namespace gem::testing {
namespace {

namespace proto = gem::protocol;

class RawClient {
 public:
  explicit RawClient(const std::string& endpoint) : sock_(ctx_, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.connect(endpoint);
  }
  // Sends the frames as given (no delimiter added) and decodes the one reply.
  proto::Reply Exchange(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      sock_.send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    proto::Reply reply;
    if (!(item.revents & ZMQ_POLLIN)) {
      ADD_FAILURE() << "no reply within 5 s";
      reply.status = Status::Unavailable("no reply");
      return reply;
    }
    std::vector<zmq::message_t> got;
    (void)zmq::recv_multipart(sock_, std::back_inserter(got));
    Status st = proto::DecodeReply(got.back().to_string_view(), &reply);
    EXPECT_TRUE(st.ok()) << "gemd's reply does not decode: " << st.ToString();
    return reply;
  }
  proto::Reply Send(const std::string& payload) { return Exchange({"", payload}); }

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

void ExpectError(const proto::Reply& r, Status::Code code, const std::string& needle) {
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), code) << r.status.ToString();
  EXPECT_NE(r.status.message().find(needle), std::string::npos)
      << "'" << r.status.message() << "' should name '" << needle << "'";
}

TEST(ServiceHostile, BadFramesGetNamedErrorsAndGemdStaysUp) {
  TempDir dir;
  Gemd gemd(dir.path(), {"--max-message-bytes", "4096"});
  ASSERT_TRUE(gemd.Start());
  RawClient c(gemd.endpoint());

  ExpectError(c.Send("this is not msgpack \xc1\xc1"), Status::Code::kInvalidArgument, "frame");
  ExpectError(c.Send(std::string("\xc1", 1)), Status::Code::kInvalidArgument, "not msgpack");
  ExpectError(c.Send(""), Status::Code::kInvalidArgument, "empty");

  proto::Request req;
  req.id = 7;
  req.body = proto::SearchStartRequest{"tree", "task", "paper", 5, 1, "u"};
  std::string good = proto::EncodeRequest(req);
  proto::Reply r = c.Send(good.substr(0, good.size() / 2));
  ExpectError(r, Status::Code::kInvalidArgument, "truncated");

  ExpectError(c.Send(std::string(5000, '\x90')), Status::Code::kResourceExhausted,
              "exceeds the limit of 4096");

  r = c.Send(Pack(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(proto::kVersion);
    pk.pack("id");
    pk.pack(41);
    pk.pack("type");
    pk.pack("search.teleport");
    pk.pack("body");
    pk.pack_map(0);
  }));
  ExpectError(r, Status::Code::kNotSupported, "request type 'search.teleport'");
  EXPECT_EQ(r.id, 41u);  // the id is echoed so the client can match it
  EXPECT_EQ(r.type, "search.teleport");

  r = c.Send(Pack(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(proto::kVersion);
    pk.pack("id");
    pk.pack(42);
    pk.pack("type");
    pk.pack("search.start");
    pk.pack("body");
    pk.pack_map(3);
    pk.pack("tree");
    pk.pack("t");
    pk.pack("task");
    pk.pack("k");
    pk.pack("seed");
    pk.pack("forty-two");
  }));
  ExpectError(r, Status::Code::kInvalidArgument, "field 'seed': expected an unsigned integer");
  EXPECT_EQ(r.id, 42u);

  r = c.Send(Pack(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(proto::kVersion);
    pk.pack("id");
    pk.pack("not a number");
    pk.pack("type");
    pk.pack("health");
    pk.pack("body");
    pk.pack_map(0);
  }));
  ExpectError(r, Status::Code::kInvalidArgument, "field 'id'");

  r = c.Send(Pack(3, [](auto& pk) {
    pk.pack("v");
    pk.pack(2);
    pk.pack("id");
    pk.pack(43);
    pk.pack("type");
    pk.pack("health");
  }));
  ExpectError(r, Status::Code::kNotSupported, "protocol version 2");

  // Two payload frames after the delimiter.
  ExpectError(c.Exchange({"", good, good}), Status::Code::kInvalidArgument, "one payload frame");

  // Without the empty delimiter frame the request works as well (plain DEALER framing).
  proto::Request h;
  h.id = 99;
  h.body = proto::HealthRequest{};
  r = c.Exchange({proto::EncodeRequest(h)});
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.id, 99u);

  // Still up, and gemctl still works.
  auto health = gemd.CtlJson({"health"});
  ASSERT_FALSE(health.is_null());
  EXPECT_EQ(health["state"], "ready");
  EXPECT_EQ(gemd.Stop(), 0);
}

TEST(ServiceHostile, SecondGemdOnSameDataDirOrEndpointIsRefused) {
  TempDir dir;
  Gemd gemd(dir.path());
  ASSERT_TRUE(gemd.Start());
  // Same data dir: the lock says no.
  auto r = RunProgram({BinPath("gemd"), "--data-dir", gemd.data_dir(), "--endpoint",
                       "ipc://" + dir.path() + "/other.sock"},
                      {}, 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("locked by another gemd"), std::string::npos) << r.err;
  // Same endpoint, other data dir: the live socket is not stolen.
  r = RunProgram(
      {BinPath("gemd"), "--data-dir", dir.path() + "/data2", "--endpoint", gemd.endpoint()}, {},
      20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.Ctl({"health"}).exit_code, 0);
  // Bad settings: named.
  r = RunProgram({BinPath("gemd"), "--data-dir", dir.path() + "/d3", "--cpu-workers", "0"}, {}, 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cpu_workers"), std::string::npos) << r.err;
  r = RunProgram({BinPath("gemd"), "--data-dir", dir.path() + "/d4", "--engine-weights", "q3_k"},
                 {}, 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("engine.weights 'q3_k'"), std::string::npos) << r.err;
  EXPECT_EQ(gemd.Stop(), 0);
}

}  // namespace
}  // namespace gem::testing
