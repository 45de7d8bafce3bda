// Copyright the gem authors. The worker protocol's frames (cluster/wire.h): every message round
// trips; hostile frames are refused with a message naming the problem and never crash.
#include "cluster/wire.h"

#include <gtest/gtest.h>

#include <random>

namespace gem::cluster {
namespace {

TEST(ClusterWire, EveryMessageRoundTrips) {
  Hello hello{"123_4.0", "123_4", "n1", "cpu:0", "1", 4242, "0.1.0", "qwen@abcd"};
  Unit unit{7, 9, 3, "qwen@abcd", 5, {1, 2, 3, 4000000}, {0, 1}};
  UnitResult result;
  result.unit = 7;
  result.lease = 9;
  result.results.push_back({1, 0, true, "42", "expected 42, got 42", 10, 2, 0.25});
  result.results.push_back({2, 1, false, std::string("a\0b", 3), "", 0, 0, 0});
  Load load{
      "qwen@abcd", std::string("\x82\xa1x\x01", 4), "gsm8k", "/data", "/var/lib/gemd", "/tasks",
      0.5};
  std::vector<Message> all = {hello,
                              Ready{},
                              Loaded{"t", "ff", "", 1.5},
                              result,
                              Heartbeat{},
                              Bye{"SIGTERM"},
                              Welcome{"w", 250, 4},
                              Refuse{"who?", true},
                              load,
                              unit,
                              Stop{"idle"}};
  for (const auto& m : all) {
    std::string frame = Encode(m);
    Message back;
    ASSERT_TRUE(Decode(frame, &back).ok()) << TypeOf(m);
    EXPECT_EQ(back.index(), m.index());
    EXPECT_EQ(Encode(back), frame) << TypeOf(m);
  }
  Message back;
  ASSERT_TRUE(Decode(Encode(result), &back).ok());
  const auto& r = std::get<UnitResult>(back);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[1].output, std::string("a\0b", 3));
  EXPECT_TRUE(r.results[0].correct);
  EXPECT_DOUBLE_EQ(r.results[0].seconds, 0.25);
  ASSERT_TRUE(Decode(Encode(unit), &back).ok());
  EXPECT_EQ(std::get<Unit>(back).queries, unit.queries);
}

TEST(ClusterWire, BadFramesAreNamed) {
  Message m;
  Status st = Decode("", &m);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("empty"), std::string::npos);

  // A frame of another version.
  std::string frame = Encode(Ready{});
  std::string v2 = frame;
  v2[v2.find('\x01')] = '\x02';  // "v": 1 -> 2 (the first fixint 1 is the version)
  st = Decode(v2, &m);
  EXPECT_TRUE(st.IsNotSupported()) << st.ToString();

  // An unknown type, listing the known ones.
  std::string unknown = frame;
  unknown.replace(unknown.find("ready"), 5, "steal");
  st = Decode(unknown, &m);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.ToString().find("'steal'"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("hello"), std::string::npos) << st.ToString();

  // A missing required field and a wrong type are named.
  Unit u{1, 2, 0, "t", 0, {1}, {0}};
  std::string uf = Encode(u);
  std::string renamed = uf;
  renamed.replace(renamed.find("lease"), 5, "leash");
  st = Decode(renamed, &m);
  EXPECT_NE(st.ToString().find("'lease'"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("missing"), std::string::npos) << st.ToString();

  EXPECT_EQ(Decode(frame, &m, /*max_bytes=*/3).code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(Decode(frame + "x", &m).IsInvalidArgument());
}

TEST(ClusterWire, TruncationAndCorruptionNeverCrash) {
  UnitResult r;
  r.unit = 1;
  r.lease = 1;
  for (uint32_t q = 0; q < 20; ++q) r.results.push_back({q, q % 2, q % 3 == 0, "out", "why"});
  const std::string frame = Encode(r);
  Message m;
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_FALSE(Decode(frame.substr(0, n), &m).ok()) << "a prefix of " << n << " bytes decoded";
  }
  std::mt19937 rng(7);
  int decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bad = frame;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    decoded += Decode(bad, &m).ok();
  }
  EXPECT_LT(decoded, 5000);  // most corruptions are caught; none crashes
}

TEST(ClusterWire, FingerprintCoversOrderAndEveryPart) {
  Digest a = Sha256("a"), b = Sha256("b"), t = Sha256("t"), c = Sha256("c");
  Digest f = TreeFingerprint({a, b}, t, {a}, {c});
  EXPECT_EQ(f, TreeFingerprint({a, b}, t, {a}, {c}));
  EXPECT_NE(f, TreeFingerprint({b, a}, t, {a}, {c}));
  EXPECT_NE(f, TreeFingerprint({a, b}, c, {a}, {c}));
  EXPECT_NE(f, TreeFingerprint({a, b}, t, {a, b}, {c}));
  EXPECT_NE(f, TreeFingerprint({a, b}, t, {a}, {c, c}));
  EXPECT_NE(f, TreeFingerprint({a}, t, {b, a}, {c}));  // counts separate the lists
}

}  // namespace
}  // namespace gem::cluster
