// Copyright the gem authors. The protocol codec: round trips, and hostile frames that must give
// an error naming the problem (never a crash, never an exception).
#include "gem/protocol.h"

#include <gtest/gtest.h>

#include <cmath>
#include <msgpack.hpp>
#include <random>
#include <string>

namespace gem::protocol {
namespace {

// Packs an envelope by hand, so tests can put anything in it.
template <class F>
std::string Frame(uint32_t fields, F&& fill) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(fields);
  fill(pk);
  return std::string(buf.data(), buf.size());
}

TEST(Protocol, RequestRoundTrip) {
  Request req;
  req.id = 42;
  SearchStartRequest s;
  s.tree = "qwen";
  s.task = "gsm8k";
  s.method = "paper";
  s.queries_per_model = 7;
  s.seed = 1234567890123ull;
  s.user = "alice";
  req.body = s;
  std::string frame = EncodeRequest(req);
  Request got;
  ASSERT_TRUE(DecodeRequest(frame, &got).ok());
  EXPECT_EQ(got.id, 42u);
  EXPECT_EQ(got.type, "search.start");
  auto* b = std::get_if<SearchStartRequest>(&got.body);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->tree, "qwen");
  EXPECT_EQ(b->task, "gsm8k");
  EXPECT_EQ(b->queries_per_model, 7u);
  EXPECT_EQ(b->seed, 1234567890123ull);
  EXPECT_EQ(b->user, "alice");
}

TEST(Protocol, EveryRequestTypeRoundTrips) {
  std::vector<std::string> types = RequestTypes();
  EXPECT_GE(types.size(), 15u);
  EXPECT_EQ(types.front(), "health");
  for (size_t i = 0; i < std::variant_size_v<RequestBody>; ++i) {
    Request req;
    req.id = i + 1;
    // Default-construct alternative i through the type list.
    std::string type = types[i];
    Request probe;
    std::string frame = Frame(4, [&](auto& pk) {
      pk.pack("v");
      pk.pack(kVersion);
      pk.pack("id");
      pk.pack(uint64_t{i + 1});
      pk.pack("type");
      pk.pack(type);
      pk.pack("body");
      // Every required field of every request, with a plausible value.
      pk.pack_map(7);
      pk.pack("name");
      pk.pack("t");
      pk.pack("content");
      pk.pack("a,b\n");
      pk.pack("tree");
      pk.pack("t");
      pk.pack("task");
      pk.pack("gsm8k");
      pk.pack("job");
      pk.pack(uint64_t{3});
      pk.pack("unknown_field_is_ignored");
      pk.pack(1);
      pk.pack("user");
      pk.pack("bob");
    });
    Status st = DecodeRequest(frame, &probe);
    ASSERT_TRUE(st.ok()) << type << ": " << st.ToString();
    EXPECT_EQ(probe.type, type);
    EXPECT_EQ(probe.body.index(), i);
    // Encoding the decoded request gives a frame that decodes to the same type and id.
    Request again;
    ASSERT_TRUE(DecodeRequest(EncodeRequest(probe), &again).ok()) << type;
    EXPECT_EQ(again.type, type);
    EXPECT_EQ(again.id, i + 1);
  }
}

TEST(Protocol, ReplyRoundTripWithJobAndNaN) {
  Reply r;
  r.id = 9;
  r.type = "search.result";
  SearchResultReply body;
  body.job.id = 5;
  body.job.status = kJobDone;
  body.job.method = "paper";
  body.job.chosen_model = 17;
  body.job.evaluations_run = 100;
  body.job.evaluations_cached = 23;
  body.job.uid = -1;
  body.estimated_accuracy = 0.0 / 0.0;
  body.ci_low = 0.25;
  body.rounds.push_back(RoundInfo{1, 450, 2, 900, true});
  r.body = body;
  Reply got;
  ASSERT_TRUE(DecodeReply(EncodeReply(r), &got).ok());
  auto* b = std::get_if<SearchResultReply>(&got.body);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->job.chosen_model, 17);
  EXPECT_EQ(b->job.uid, -1);
  EXPECT_EQ(b->job.evaluations_cached, 23u);
  EXPECT_TRUE(std::isnan(b->estimated_accuracy));
  EXPECT_DOUBLE_EQ(b->ci_low, 0.25);
  ASSERT_EQ(b->rounds.size(), 1u);
  EXPECT_EQ(b->rounds[0].survivors, 450u);
  EXPECT_TRUE(b->rounds[0].correlated);
  std::string json = ReplyBodyJson(got);
  EXPECT_NE(json.find("\"estimated_accuracy\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"chosen_model\": 17"), std::string::npos) << json;
}

TEST(Protocol, ErrorReplyRoundTrip) {
  Reply got;
  ASSERT_TRUE(DecodeReply(EncodeReply(ErrorReply(3, "tree.show",
                                                 Status::NotFound("tree 'x'", "not registered"))),
                          &got)
                  .ok());
  EXPECT_EQ(got.id, 3u);
  EXPECT_EQ(got.type, "tree.show");
  EXPECT_TRUE(got.status.IsNotFound());
  EXPECT_EQ(got.status.message(), "tree 'x': not registered");
  EXPECT_NE(ReplyBodyJson(got).find("NotFound"), std::string::npos);
}

Status Decode(std::string_view frame, size_t limit = kDefaultMaxFrameBytes) {
  Request r;
  return DecodeRequest(frame, &r, limit);
}

void ExpectError(const Status& st, Status::Code code, std::string_view needle) {
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find(needle), std::string::npos)
      << "message '" << st.message() << "' should mention '" << needle << "'";
}

TEST(Protocol, GarbageIsAnError) {
  ExpectError(Decode(""), Status::Code::kInvalidArgument, "empty");
  ExpectError(Decode("\xc1"), Status::Code::kInvalidArgument, "not msgpack");
  ExpectError(Decode("hello, gemd"), Status::Code::kInvalidArgument, "");
  ExpectError(Decode("\x2a"), Status::Code::kInvalidArgument, "expected a msgpack map");
}

TEST(Protocol, TruncatedFramesAreErrors) {
  Request req;
  req.id = 1;
  req.body = SearchStartRequest{"tree", "task", "paper", 5, 1, "u"};
  std::string frame = EncodeRequest(req);
  for (size_t n = 1; n < frame.size(); ++n) {
    Status st = Decode(frame.substr(0, n));
    ASSERT_FALSE(st.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  }
  ExpectError(Decode(frame.substr(0, frame.size() - 3)), Status::Code::kInvalidArgument,
              "truncated");
  ExpectError(Decode(frame + "x"), Status::Code::kInvalidArgument, "trailing");
}

TEST(Protocol, HostileLengthsDoNotAllocate) {
  // array32 header claiming 4 billion elements, then nothing.
  ExpectError(Decode(std::string("\xdd\xff\xff\xff\xff", 5)), Status::Code::kInvalidArgument, "");
  // map32 claiming 4 billion pairs.
  ExpectError(Decode(std::string("\xdf\xff\xff\xff\xff", 5)), Status::Code::kInvalidArgument, "");
  // str32 of 4 GB.
  ExpectError(Decode(std::string("\xdb\xff\xff\xff\xff", 5)), Status::Code::kInvalidArgument, "");
  // Deep nesting.
  ExpectError(Decode(std::string(1000, '\x91') + "\x01"), Status::Code::kInvalidArgument, "");
}

TEST(Protocol, OversizedFrameIsResourceExhausted) {
  std::string big(2000, 'x');
  ExpectError(Decode(big, 1000), Status::Code::kResourceExhausted, "exceeds the limit of 1000");
}

TEST(Protocol, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  Request req;
  req.id = 77;
  TreeRegisterRequest tr;
  tr.name = "n";
  tr.content = "a,b\n1,2\n";
  tr.file_name = "f.csv";
  tr.queries = 10;
  tr.user = "u";
  req.body = tr;
  std::string good = EncodeRequest(req);
  for (int i = 0; i < 5000; ++i) {
    std::string f = good;
    int flips = 1 + rng() % 4;
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<char>(rng());
    Request out;
    (void)DecodeRequest(f, &out);  // must return, whatever it says
    Reply rep;
    (void)DecodeReply(f, &rep);
  }
}

TEST(Protocol, UnknownTypeAndVersion) {
  std::string f = Frame(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("id");
    pk.pack(5);
    pk.pack("type");
    pk.pack("search.explode");
    pk.pack("body");
    pk.pack_map(0);
  });
  Request r;
  Status st = DecodeRequest(f, &r);
  ExpectError(st, Status::Code::kNotSupported, "search.explode");
  EXPECT_EQ(r.id, 5u);  // still echoed
  std::string v2 = Frame(3, [](auto& pk) {
    pk.pack("v");
    pk.pack(99);
    pk.pack("id");
    pk.pack(6);
    pk.pack("type");
    pk.pack("health");
  });
  ExpectError(Decode(v2), Status::Code::kNotSupported, "protocol version 99");
  std::string noid = Frame(2, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("type");
    pk.pack("health");
  });
  ExpectError(Decode(noid), Status::Code::kInvalidArgument, "field 'id': missing");
}

TEST(Protocol, WrongFieldTypesNameTheField) {
  auto start_with = [](auto&& seed_packer) {
    return Frame(4, [&](auto& pk) {
      pk.pack("v");
      pk.pack(kVersion);
      pk.pack("id");
      pk.pack(8);
      pk.pack("type");
      pk.pack("search.start");
      pk.pack("body");
      pk.pack_map(3);
      pk.pack("tree");
      pk.pack("t");
      pk.pack("task");
      pk.pack("k");
      pk.pack("seed");
      seed_packer(pk);
    });
  };
  ExpectError(Decode(start_with([](auto& pk) { pk.pack("seven"); })),
              Status::Code::kInvalidArgument,
              "field 'seed': expected an unsigned integer, got a string");
  ExpectError(Decode(start_with([](auto& pk) { pk.pack(-3); })), Status::Code::kInvalidArgument,
              "field 'seed'");
  ExpectError(Decode(start_with([](auto& pk) { pk.pack(1.5); })), Status::Code::kInvalidArgument,
              "got a float");
  std::string missing = Frame(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("id");
    pk.pack(8);
    pk.pack("type");
    pk.pack("search.start");
    pk.pack("body");
    pk.pack_map(1);
    pk.pack("tree");
    pk.pack("t");
  });
  ExpectError(Decode(missing), Status::Code::kInvalidArgument, "field 'task': missing");
  std::string qpm = Frame(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("id");
    pk.pack(8);
    pk.pack("type");
    pk.pack("search.start");
    pk.pack("body");
    pk.pack_map(3);
    pk.pack("tree");
    pk.pack("t");
    pk.pack("task");
    pk.pack("k");
    pk.pack("queries_per_model");
    pk.pack(uint64_t{1} << 40);
  });
  ExpectError(Decode(qpm), Status::Code::kInvalidArgument, "out of range");
  std::string body_not_map = Frame(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("id");
    pk.pack(8);
    pk.pack("type");
    pk.pack("health");
    pk.pack("body");
    pk.pack("x");
  });
  ExpectError(Decode(body_not_map), Status::Code::kInvalidArgument, "body");
}

// Revision 3: `info`, and the fields a client may leave to gemd (a tree's name, N).
TEST(Protocol, Revision3InfoAndWhatGemdDecides) {
  Reply reply;
  reply.id = 5;
  reply.type = "info";
  InfoReply info;
  info.tasks = {"gsm8k", "mbpp"};
  info.default_method = "gem";
  info.default_queries_per_model = 50;
  reply.body = info;
  Reply got;
  ASSERT_TRUE(DecodeReply(EncodeReply(reply), &got).ok());
  const auto* i = std::get_if<InfoReply>(&got.body);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->tasks, info.tasks);
  EXPECT_EQ(i->revision, kRevision);
  EXPECT_EQ(i->default_queries_per_model, 50u);

  std::string no_name = Frame(4, [](auto& pk) {
    pk.pack("v");
    pk.pack(kVersion);
    pk.pack("id");
    pk.pack(9);
    pk.pack("type");
    pk.pack("tree.register");
    pk.pack("body");
    pk.pack_map(1);
    pk.pack("manifest");
    pk.pack("/m/tree.json");
  });
  Request req;
  ASSERT_TRUE(DecodeRequest(no_name, &req).ok());
  EXPECT_EQ(std::get<TreeRegisterRequest>(req.body).name, "");
  EXPECT_EQ(SearchStartRequest().queries_per_model, 0u) << "0: gemd's default";
}

}  // namespace
}  // namespace gem::protocol
