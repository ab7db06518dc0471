#include "base/hex.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(HexTest, EncodesLowercaseAndDecodesBothCases) {
  const std::vector<std::uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(ToHex(bytes), "00abff10");
  EXPECT_EQ(FromHex("00ABff10"), bytes);
}

TEST(HexTest, HexDigitValueReadsEitherCaseAndRefusesEverythingElse) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xff'}) {
    EXPECT_EQ(HexDigitValue(c), -1) << static_cast<int>(c);
  }
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

TEST(HexTest, StringsOfBytesRoundTripAndOnlyStrictBoundedLowercaseHexDecodes) {
  const std::string bytes("\x00\"e\xff", 4);  // an ETag's quote, a NUL, a high byte
  EXPECT_EQ(StringToHex(bytes), "002265ff");
  EXPECT_EQ(LowerHexToString("002265ff", 8), bytes);
  EXPECT_EQ(LowerHexToString("", 8), "");
  EXPECT_EQ(LowerHexToString("002265FF", 8), std::nullopt) << "uppercase";
  EXPECT_EQ(LowerHexToString("002265f", 8), std::nullopt) << "odd length";
  EXPECT_EQ(LowerHexToString("002265ff", 6), std::nullopt) << "longer than the bound";
  EXPECT_EQ(LowerHexToString("0g", 8), std::nullopt);
}

}  // namespace
}  // namespace hx
