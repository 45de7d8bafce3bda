#include "gem/digest.h"

#include <gtest/gtest.h>

namespace gem {
namespace {

TEST(DigestTest, KnownSha256Vector) {
  EXPECT_EQ(Sha256("abc").Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, FieldsAreUnambiguous) {
  EXPECT_NE(Hasher().Field("ab").Field("c").Finish(), Hasher().Field("a").Field("bc").Finish());
}

TEST(DigestTest, HexRoundTripAndErrors) {
  Digest d = Sha256("x");
  auto back = Digest::FromHex(d.Hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, d);
  EXPECT_TRUE(Digest::FromHex("zz").status().IsInvalidArgument());
  EXPECT_EQ(Digest::FromBytes(d.Bytes()), d);
}

}  // namespace
}  // namespace gem
