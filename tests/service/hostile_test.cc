// Copyright the gem authors. Frames gemd must survive: each gets an error reply naming the
// problem, and gemd keeps answering. Sent over a raw ZeroMQ DEALER socket, not gemctl.
#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "gem/protocol.h"
#include "service/harness.h"
#include "service/raw_client.h"

namespace gem::testing {
namespace {

namespace proto = gem::protocol;

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
