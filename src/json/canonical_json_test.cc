// The canonical writer and ParseCanonicalJson, as a specification: the
// bytes hx writes for each kind of value, the RFC 8785 vectors, and what
// makes a text non-canonical.
#include "json/canonical_json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "base/hex.h"

namespace hx {
namespace {

using json = nlohmann::json;

std::string Write(const json& value) {
  Result<std::string> result = WriteCanonicalJson(value);
  EXPECT_TRUE(result.ok()) << result.error().ToShortString();
  return result.ok() ? *result : "";
}

json Nested(int depth, bool objects) {
  json value = 0;
  for (int i = 0; i < depth; ++i) {
    value = objects ? json{{"k", std::move(value)}} : json::array({std::move(value)});
  }
  return value;
}

// ---- Values and their bytes -------------------------------------------------

TEST(CanonicalJsonWriteTest, WritesLiteralsAndIntegersInShortestForm) {
  EXPECT_EQ(Write(nullptr), "null");
  EXPECT_EQ(Write(true), "true");
  EXPECT_EQ(Write(false), "false");
  EXPECT_EQ(Write(0), "0");
  EXPECT_EQ(Write(-1), "-1");
  EXPECT_EQ(Write(1234567890), "1234567890");
  EXPECT_EQ(Write(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(Write(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
}

TEST(CanonicalJsonWriteTest, WritesUnsignedIntegersThatFitInInt64) {
  EXPECT_EQ(Write(std::uint64_t{42}), "42");
  EXPECT_EQ(Write(std::uint64_t{9223372036854775807u}), "9223372036854775807");
}

TEST(CanonicalJsonWriteTest, WritesNoWhitespace) {
  const json value = {{"a", json::array({1, json::object(), json::array(), "x y"})}, {"b", nullptr}};
  EXPECT_EQ(Write(value), R"({"a":[1,{},[],"x y"],"b":null})");
}

TEST(CanonicalJsonWriteTest, EscapesStringsExactlyAsRfc8785) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"\"\\", R"("\"\\")"},
      {"\b\t\n\f\r", R"("\b\t\n\f\r")"},
      {std::string(1, '\0'), R"("\u0000")"},
      {"\x01\x0b\x1f", R"("\u0001\u000b\u001f")"},
      {"/", R"("/")"},                        // not escaped
      {"\x7f", "\"\x7f\""},                   // DEL is not a control for JCS
      {"\xC3\xA9\xE2\x82\xAC", "\"\xC3\xA9\xE2\x82\xAC\""},  // é€ stay UTF-8
      {"\xF0\x9F\x98\x82", "\"\xF0\x9F\x98\x82\""},          // 😂 is not \ud83d\ude02
      {"</script>", R"("</script>")"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Write(c.text), c.expected) << json(c.text).dump();
  }
}

TEST(CanonicalJsonWriteTest, SortsKeysByUtf16CodeUnitsNotUtf8Bytes) {
  // In UTF-8 byte order U+E000 and U+FFFD come before U+10000 and U+1F600;
  // in UTF-16 the supplementary characters start with a surrogate (D800..)
  // and so come first.
  const json value = {
      {"\xEE\x80\x80", 1},          // U+E000
      {"\xEF\xBF\xBD", 2},          // U+FFFD
      {"\xF0\x90\x80\x80", 3},      // U+10000
      {"\xF0\x9F\x98\x80", 4},      // U+1F600
      {"\xED\x9F\xBF", 5},          // U+D7FF
      {"a", 6},
  };
  EXPECT_EQ(Write(value),
            "{\"a\":6,\"\xED\x9F\xBF\":5,\"\xF0\x90\x80\x80\":3,\"\xF0\x9F\x98\x80\":4,"
            "\"\xEE\x80\x80\":1,\"\xEF\xBF\xBD\":2}");
}

TEST(CanonicalJsonWriteTest, SortsKeysByCodeUnitsNotByLocale) {
  const json value = {{"b", 1}, {"B", 2}, {"a", 3}, {"\xC3\xA9", 4}, {"e", 5}, {"", 6}, {"aa", 7}};
  EXPECT_EQ(Write(value), "{\"\":6,\"B\":2,\"a\":3,\"aa\":7,\"b\":1,\"e\":5,\"\xC3\xA9\":4}");
}

TEST(CanonicalJsonWriteTest, CanonicalKeyLessIsUtf16Order) {
  EXPECT_TRUE(CanonicalKeyLess("a", "b"));
  EXPECT_TRUE(CanonicalKeyLess("a", "aa"));
  EXPECT_FALSE(CanonicalKeyLess("a", "a"));
  EXPECT_TRUE(CanonicalKeyLess("\xF0\x9F\x98\x80", "\xEE\x80\x80"));      // U+1F600 < U+E000
  EXPECT_FALSE(CanonicalKeyLess("\xEE\x80\x80", "\xF0\x9F\x98\x80"));
  EXPECT_TRUE(CanonicalKeyLess("\xED\x9F\xBF", "\xF0\x90\x80\x80"));      // U+D7FF < U+10000
  EXPECT_TRUE(CanonicalKeyLess("x\xF4\x8F\xBF\xBF", "x\xEF\xBF\xBF"));   // U+10FFFF < U+FFFF
  EXPECT_TRUE(CanonicalKeyLess("\xC3\xA9", "\xC3\xAA"));                  // differ in a continuation byte
}

TEST(CanonicalJsonWriteTest, RefusesFloatsAsAnInternalErrorNamingThePath) {
  const Result<std::string> top = WriteCanonicalJson(1.5);
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code, SyncCode::kInternal);
  EXPECT_EQ(top.error().category, Category::kInternal);
  EXPECT_EQ(top.error().details.at("path"), "");

  // Even a float with an integral value: hx never builds one.
  const Result<std::string> nested = WriteCanonicalJson({{"a", json::array({1, 2.0})}});
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code, SyncCode::kInternal);
  EXPECT_EQ(nested.error().details.at("path"), "/a/1");
  EXPECT_NE(nested.error().message.find("integers only"), std::string::npos);
}

TEST(CanonicalJsonWriteTest, RefusesBinaryValuesAsAnInternalError) {
  const Result<std::string> result = WriteCanonicalJson(json::binary({1, 2, 3}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kInternal);
}

TEST(CanonicalJsonWriteTest, RefusesUnsignedIntegersAboveInt64AsInvalidInput) {
  const Result<std::string> result =
      WriteCanonicalJson({{"size", std::uint64_t{9223372036854775808u}}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(result.error().category, Category::kInvalidInput);
  EXPECT_EQ(result.error().details.at("path"), "/size");
}

TEST(CanonicalJsonWriteTest, RefusesInvalidUtf8InStringsAndKeysAsInvalidInput) {
  const Result<std::string> in_string = WriteCanonicalJson({{"name", "caf\xE9"}});
  ASSERT_FALSE(in_string.ok());
  EXPECT_EQ(in_string.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(in_string.error().details.at("path"), "/name");
  EXPECT_NE(in_string.error().message.find("not valid UTF-8"), std::string::npos);

  const Result<std::string> in_key = WriteCanonicalJson({{"ok", {{"\xED\xA0\x80", 1}}}});
  ASSERT_FALSE(in_key.ok());
  EXPECT_EQ(in_key.error().code, SyncCode::kInputInvalid);
  EXPECT_NE(in_key.error().message.find("surrogate"), std::string::npos);
  // The error itself stays valid UTF-8: each byte of the bad sequence
  // becomes U+FFFD.
  EXPECT_EQ(in_key.error().details.at("path"), "/ok/\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(CanonicalJsonWriteTest, ErrorPathsAreJsonPointers) {
  const Result<std::string> result = WriteCanonicalJson({{"a/b~c", json::array({0, 0, 0.5})}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().details.at("path"), "/a~1b~0c/2");
}

TEST(CanonicalJsonWriteTest, WritesNestingUpToTheDepthLimitAndRefusesDeeper) {
  for (const bool objects : {false, true}) {
    EXPECT_TRUE(WriteCanonicalJson(Nested(kMaxJsonDepth, objects)).ok());
    const Result<std::string> deeper = WriteCanonicalJson(Nested(kMaxJsonDepth + 1, objects));
    ASSERT_FALSE(deeper.ok());
    EXPECT_EQ(deeper.error().code, SyncCode::kInputInvalid);
    EXPECT_NE(deeper.error().message.find("nesting deeper than 128"), std::string::npos);
  }
}

// ---- RFC 8785 vectors (cyberphone/json-canonicalization testdata) -----------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string VectorPath(const std::string& dir, const std::string& name) {
  return std::string(HX_SHARED_DIR) + "/vectors/jcs/" + dir + "/" + name;
}

std::string ExpectedOutput(const std::string& name) {
  const std::string output = ReadFile(VectorPath("output", name + ".json"));
  // The hex form must be the same bytes; check it so a damaged vector is seen.
  std::string hex = ReadFile(VectorPath("outhex", name + ".txt"));
  hex.erase(std::remove_if(hex.begin(), hex.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
            hex.end());
  const auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << name;
  if (bytes) {
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()), output) << name;
  }
  return output;
}

// Removes the first `"<key>":...],` member text (whitespace allowed) from a
// JSON text whose value for `key` is an array without nested arrays.
std::string WithoutArrayMember(std::string text, const std::string& key) {
  const std::size_t begin = text.find("\"" + key + "\"");
  const std::size_t end = text.find("],", begin);
  EXPECT_NE(begin, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  std::size_t stop = end + 2;
  while (stop < text.size() && std::isspace(static_cast<unsigned char>(text[stop]))) ++stop;
  return text.erase(begin, stop - begin);
}

class JcsVectorTest : public testing::TestWithParam<std::string> {};

TEST_P(JcsVectorTest, IntegerOnlyVectorsCanonicalizeToTheExpectedBytes) {
  const std::string input = ReadFile(VectorPath("input", GetParam() + ".json"));
  const std::string expected = ExpectedOutput(GetParam());
  const Result<json> parsed = ParseJson(input);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToShortString();
  EXPECT_EQ(Write(*parsed), expected);
  // The expected output is itself canonical.
  const Result<json> reparsed = ParseCanonicalJson(expected);
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().ToShortString();
  EXPECT_EQ(*reparsed, *parsed);
  // The pretty-printed input is not.
  EXPECT_FALSE(ParseCanonicalJson(input).ok());
}

INSTANTIATE_TEST_SUITE_P(Rfc8785, JcsVectorTest,
                         testing::Values("arrays", "french", "unicode", "weird"));

TEST(JcsVectorTest, StructuresIsRefusedFor56Point0ButOtherwiseMatches) {
  const std::string input = ReadFile(VectorPath("input", "structures.json"));
  const Result<json> parsed = ParseJson(input);
  ASSERT_FALSE(parsed.ok());
  const std::size_t float_offset = input.find("56.0");
  EXPECT_EQ(parsed.error().details.at("offset"), std::to_string(float_offset));
  EXPECT_NE(parsed.error().message.find("fraction"), std::string::npos);

  // With 56.0 written as the integer 56, the vector is in the subset, and its
  // expected output (which prints 56) is matched exactly.
  std::string integral = input;
  integral.replace(float_offset, 4, "56");
  const Result<json> fixed = ParseJson(integral);
  ASSERT_TRUE(fixed.ok()) << fixed.error().ToShortString();
  const std::string expected = ExpectedOutput("structures");
  EXPECT_EQ(Write(*fixed), expected);
  EXPECT_TRUE(ParseCanonicalJson(expected).ok());
}

TEST(JcsVectorTest, ValuesIsRefusedForItsFloatsButItsStringsAndLiteralsMatch) {
  const std::string input = ReadFile(VectorPath("input", "values.json"));
  const Result<json> parsed = ParseJson(input);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().details.at("offset"), std::to_string(input.find("333333333.33333329")));
  const std::string expected = ExpectedOutput("values");
  EXPECT_FALSE(ParseCanonicalJson(expected).ok());

  // The rest of the vector (string escaping, literals) is in the subset.
  const Result<json> rest = ParseJson(WithoutArrayMember(input, "numbers"));
  ASSERT_TRUE(rest.ok()) << rest.error().ToShortString();
  EXPECT_EQ(Write(*rest), WithoutArrayMember(expected, "numbers"));
}

// ---- ParseCanonicalJson -------------------------------------------------------

TEST(ParseCanonicalJsonTest, AcceptsExactlyTheWriterOutput) {
  const json value = {{"seq", 7}, {"id", "ab"}, {"parents", json::array({"x", "y"})}, {"ok", true}};
  const std::string canonical = Write(value);
  const Result<json> parsed = ParseCanonicalJson(canonical);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToShortString();
  EXPECT_EQ(*parsed, value);
}

TEST(ParseCanonicalJsonTest, RefusesNonCanonicalTextAtTheFirstDifference) {
  struct Case {
    std::string text;
    std::size_t offset;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"{ }", 1, "found ' ' where the canonical form has '}'"},
      {"[1, 2]", 3, "found ' '"},
      {"{\"b\":1,\"a\":2}", 2, "found 'b' where the canonical form has 'a'"},
      {"1\n", 1, "the canonical form ends but the text continues with byte 0x0a"},
      {" 1", 0, "found ' '"},
      {"\"\\u0041\"", 1, "found '\\'"},          // "A" is written raw
      {"\"\\/\"", 1, "found '\\'"},              // "/" is written raw
      {"\"\\u001F\"", 6, "found 'F' where the canonical form has 'f'"},
      {"\"\\ud83d\\ude00\"", 1, "found '\\'"},   // astral characters are raw UTF-8
      // Keys in UTF-8 byte order rather than UTF-16 order.
      {"{\"\xEE\x80\x80\":1,\"\xF0\x9F\x98\x80\":2}", 2, "found byte 0xee where the canonical form has byte 0xf0"},
  };
  for (const Case& c : cases) {
    const Result<json> result = ParseCanonicalJson(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.error().code, SyncCode::kInputInvalid) << c.text;
    EXPECT_EQ(result.error().category, Category::kInvalidInput) << c.text;
    EXPECT_EQ(result.error().details.at("offset"), std::to_string(c.offset)) << c.text;
    EXPECT_NE(result.error().message.find("not in canonical form"), std::string::npos) << c.text;
    EXPECT_NE(result.error().message.find(c.message_part), std::string::npos)
        << c.text << " -> " << result.error().message;
  }
}

TEST(ParseCanonicalJsonTest, RefusesWhatTheStrictReaderRefuses) {
  const Result<json> result = ParseCanonicalJson("{\"a\":1,\"a\":1}");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("duplicate key"), std::string::npos);
}

}  // namespace
}  // namespace hx
