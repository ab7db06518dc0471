#include "base/hex.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(HexTest, EncodesLowercaseAndDecodesBothCases) {
  const std::vector<std::uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(ToHex(bytes), "00abff10");
  EXPECT_EQ(FromHex("00ABff10"), bytes);
}

TEST(HexTest, RejectsOddLengthAndNonHex) {
  EXPECT_EQ(FromHex("abc"), std::nullopt);
  EXPECT_EQ(FromHex("zz"), std::nullopt);
  EXPECT_TRUE(FromHex("")->empty());
}

TEST(HexTest, IsLowerHexChecksLengthAndAlphabet) {
  EXPECT_TRUE(IsLowerHex("0a", 2));
  EXPECT_FALSE(IsLowerHex("0A", 2));
  EXPECT_FALSE(IsLowerHex("0a", 4));
}

}  // namespace
}  // namespace hx
