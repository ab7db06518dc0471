// Strict UTF-8 validation, checked exhaustively against the definition: a
// byte sequence is valid exactly when it is the encoding of a scalar value.
#include "json/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace hx {
namespace {

TEST(Utf8Test, ClassifiesEachKindOfInvalidSequence) {
  struct Case {
    std::string bytes;
    Utf8Problem problem;
  };
  const std::vector<Case> cases = {
      {"\xC3", Utf8Problem::kTruncated},
      {"\xE2\x82", Utf8Problem::kTruncated},
      {"\xE2\x82x", Utf8Problem::kTruncated},
      {"\xF0\x9F\x98", Utf8Problem::kTruncated},
      {"\x80", Utf8Problem::kUnexpectedContinuation},
      {"\xBF", Utf8Problem::kUnexpectedContinuation},
      {"\xC0\x80", Utf8Problem::kOverlong},
      {"\xC1\xBF", Utf8Problem::kOverlong},
      {"\xE0\x9F\xBF", Utf8Problem::kOverlong},
      {"\xF0\x8F\xBF\xBF", Utf8Problem::kOverlong},
      {"\xED\xA0\x80", Utf8Problem::kSurrogate},
      {"\xED\xBF\xBF", Utf8Problem::kSurrogate},
      {"\xF4\x90\x80\x80", Utf8Problem::kAboveMax},
      {"\xF5\x80\x80\x80", Utf8Problem::kInvalidByte},
      {"\xFF", Utf8Problem::kInvalidByte},
  };
  for (const Case& c : cases) {
    const auto error = FindInvalidUtf8("ok" + c.bytes);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->offset, 2u);
    EXPECT_EQ(error->problem, c.problem) << Describe(c.problem);
  }
}

TEST(Utf8Test, AcceptsTheBoundariesOfEachEncodingLength) {
  EXPECT_FALSE(FindInvalidUtf8(std::string("\0\x7F", 2)));
  EXPECT_FALSE(FindInvalidUtf8("\xC2\x80\xDF\xBF"));                  // U+0080 U+07FF
  EXPECT_FALSE(FindInvalidUtf8("\xE0\xA0\x80\xED\x9F\xBF"));          // U+0800 U+D7FF
  EXPECT_FALSE(FindInvalidUtf8("\xEE\x80\x80\xEF\xBF\xBF"));          // U+E000 U+FFFF
  EXPECT_FALSE(FindInvalidUtf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000 U+10FFFF
}

TEST(Utf8Test, EncodesAndDecodesEveryScalarValue) {
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string bytes;
    AppendUtf8(bytes, cp);
    const Utf8Char ch = DecodeUtf8At(bytes, 0);
    ASSERT_FALSE(ch.problem) << std::hex << static_cast<std::uint32_t>(cp);
    ASSERT_EQ(static_cast<std::uint32_t>(ch.code_point), static_cast<std::uint32_t>(cp));
    ASSERT_EQ(ch.length, bytes.size());
  }
}

// Every 1-, 2- and 3-byte sequence: DecodeUtf8At accepts one (consuming
// all of it) exactly when it is some scalar value's encoding.
TEST(Utf8Test, AcceptsExactlyTheEncodingsOfScalarValuesUpToThreeBytes) {
  std::unordered_set<std::string> encodings;
  for (char32_t cp = 0; cp < 0x10000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string bytes;
    AppendUtf8(bytes, cp);
    encodings.insert(bytes);
  }
  std::string bytes;
  const auto check = [&] {
    const Utf8Char ch = DecodeUtf8At(bytes, 0);
    const bool decoded_whole = !ch.problem && ch.length == bytes.size();
    ASSERT_EQ(decoded_whole, encodings.count(bytes) == 1)
        << std::hex << static_cast<int>(static_cast<unsigned char>(bytes[0]));
  };
  for (int a = 0; a < 256; ++a) {
    bytes.assign(1, static_cast<char>(a));
    check();
    for (int b = 0; b < 256; ++b) {
      bytes.assign({static_cast<char>(a), static_cast<char>(b)});
      check();
      if (a < 0xE0 || a > 0xEF) continue;  // only 3-byte leads can start a 3-byte encoding
      for (int c = 0; c < 256; ++c) {
        bytes.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        check();
      }
    }
  }
}

}  // namespace
}  // namespace hx
