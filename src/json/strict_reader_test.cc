// ParseJson, the strict reader for untrusted bytes, as a specification: a
// table of texts it refuses (with the offset and the reason it reports) and
// a table of texts it accepts (with the value it returns).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "json/canonical_json.h"

namespace hx {
namespace {

using json = nlohmann::json;
using namespace std::string_literals;

struct Rejection {
  std::string text;
  std::size_t offset;
  std::string reason;  // a part of the message
};

std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// The text with non-printable bytes as \xNN, for failure messages.
std::string Show(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7F) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

void ExpectRejections(const std::vector<Rejection>& rejections, const JsonReadOptions& options = {}) {
  for (const Rejection& r : rejections) {
    const std::string shown = Show(r.text);
    const Result<json> result = ParseJson(r.text, options);
    if (result.ok()) {
      ADD_FAILURE() << "accepted " << shown;
      continue;
    }
    const Error& error = result.error();
    EXPECT_EQ(error.code, SyncCode::kInputInvalid) << shown;
    EXPECT_EQ(error.category, Category::kInvalidInput) << shown;
    EXPECT_EQ(error.details.at("offset"), std::to_string(r.offset)) << shown << ": " << error.message;
    EXPECT_NE(error.message.find(r.reason), std::string::npos) << shown << ": " << error.message;
    EXPECT_NE(error.message.find("at offset " + std::to_string(r.offset)), std::string::npos)
        << shown << ": " << error.message;
  }
}

TEST(StrictReaderTest, ReportsTheCodeTheCategoryTheOffsetAndAPreciseMessage) {
  const Result<json> result = ParseJson(R"({"seq":1,"id":"x","seq":2})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(result.error().category, Category::kInvalidInput);
  EXPECT_FALSE(result.error().retryable);
  EXPECT_EQ(result.error().message, "duplicate key \"seq\" at offset 18");
  EXPECT_EQ(result.error().details, (std::map<std::string, std::string>{{"offset", "18"}}));
}

TEST(StrictReaderTest, RefusesDuplicateKeysEvenWhenSpelledDifferently) {
  ExpectRejections({
      {R"({"a":1,"a":2})", 7, "duplicate key \"a\""},
      {R"({"a":1,"\u0061":2})", 7, "duplicate key \"a\""},
      {R"({"x":{"k":1,"k":1}})", 12, "duplicate key \"k\""},
      {R"([{"":1},{"":1,"":2}])", 14, "duplicate key \"\""},
      {R"({"\ud83d\ude00":1,"😀":2})", 18, "duplicate key"},
  });
}

TEST(StrictReaderTest, RefusesAnythingButWhitespaceAfterTheValue) {
  ExpectRejections({
      {"{} x", 3, "unexpected 'x' after the JSON value"},
      {"1 2", 2, "after the JSON value"},
      {"[]]", 2, "after the JSON value"},
      {"1\0"s, 1, "byte 0x00 after the JSON value"},
      {"nulll", 4, "after the JSON value"},
      {"\"a\"\"b\"", 3, "after the JSON value"},
  });
}

TEST(StrictReaderTest, RefusesEachClassOfInvalidUtf8) {
  ExpectRejections({
      {"\"\xC3\"", 1, "truncated multi-byte sequence"},
      {"\"\xE2\x82", 1, "truncated multi-byte sequence"},  // cut by the end of input
      {"\"\xF0\x9F\x98\"", 1, "truncated"},
      {"\"a\x80\"", 2, "unexpected continuation byte"},
      {"\"\xBF\"", 1, "unexpected continuation byte"},
      {"\"\xC0\xAF\"", 1, "overlong encoding"},             // '/' in 2 bytes
      {"\"\xC1\xBF\"", 1, "overlong encoding"},
      {"\"\xE0\x80\xAF\"", 1, "overlong encoding"},         // '/' in 3 bytes
      {"\"\xE0\x9F\xBF\"", 1, "overlong encoding"},
      {"\"\xF0\x80\x80\xAF\"", 1, "overlong encoding"},     // '/' in 4 bytes
      {"\"\xF0\x8F\xBF\xBF\"", 1, "overlong encoding"},
      {"\"\xED\xA0\x80\"", 1, "UTF-16 surrogate encoded in UTF-8"},  // U+D800
      {"\"\xED\xBF\xBF\"", 1, "UTF-16 surrogate encoded in UTF-8"},  // U+DFFF
      {"\"\xED\xA0\xBD\xED\xB8\x80\"", 1, "surrogate"},              // CESU-8 pair
      {"\"\xF4\x90\x80\x80\"", 1, "code point above U+10FFFF"},
      {"\"\xF5\x80\x80\x80\"", 1, "byte that never occurs in UTF-8"},
      {"\"\xFE\"", 1, "byte that never occurs in UTF-8"},
      {"\"\xFF\"", 1, "byte that never occurs in UTF-8"},
      {"{\"k\xFF\":1}", 3, "invalid UTF-8 in string"},  // keys too
      {"\xC3\xA9", 0, "unexpected byte 0xc3"},           // outside strings
  });
}

TEST(StrictReaderTest, RefusesEscapesThatLeaveASurrogateUnpaired) {
  ExpectRejections({
      {R"("\ud800")", 1, "high surrogate not followed by a low surrogate"},
      {R"("x\uDBFF")", 2, "high surrogate not followed by a low surrogate"},
      {R"("\ud800\u0041")", 1, "high surrogate not followed by a low surrogate"},
      {R"("\ud800\ud800")", 1, "high surrogate not followed by a low surrogate"},
      {R"("\ud800x")", 1, "high surrogate not followed by a low surrogate"},
      {R"("\udc00")", 1, "low surrogate without a high surrogate"},
      {R"("\ude00\ud83d")", 1, "low surrogate without a high surrogate"},
  });
}

TEST(StrictReaderTest, RefusesNumbersThatAreNotInt64Integers) {
  ExpectRejections({
      {"1.0", 0, "fraction or exponent (hx JSON holds integers only)"},
      {"1.5", 0, "fraction or exponent"},
      {"-0.5", 0, "fraction or exponent"},
      {"1e3", 0, "fraction or exponent"},
      {"1E3", 0, "fraction or exponent"},
      {"1e-3", 0, "fraction or exponent"},
      {"0e0", 0, "fraction or exponent"},
      {"[1,2.0]", 3, "fraction or exponent"},
      {"1e999", 0, "fraction or exponent"},
      {"9223372036854775808", 0, "\"9223372036854775808\" is outside the int64 range"},
      {"-9223372036854775809", 0, "outside the int64 range"},
      {"18446744073709551616", 0, "outside the int64 range"},
      {"{\"n\":99999999999999999999999}", 5, "outside the int64 range"},
      {"-0", 0, "negative zero (-0)"},
      {"[-0]", 1, "negative zero"},
      {"01", 0, "leading zero"},
      {"-01", 0, "leading zero"},
      {"00", 0, "leading zero"},
      {"+1", 0, "unexpected '+'"},
      {"-", 1, "unexpected end of input; expected a digit"},
      {"-a", 1, "unexpected 'a'; expected a digit"},
      {".5", 0, "unexpected '.'"},
      {"0x10", 1, "after the JSON value"},
  });
}

TEST(StrictReaderTest, RefusesNestingDeeperThanTheLimit) {
  // The 129th opening bracket is at offset 128.
  ExpectRejections({
      {Repeat("[", 129) + Repeat("]", 129), 128, "nesting deeper than 128 levels"},
      {Repeat("{\"a\":", 129) + "1" + Repeat("}", 129), 5 * 128, "nesting deeper than 128"},
      // Refused at the limit, without reading (or allocating for) the rest.
      {Repeat("[", 1000000), 128, "nesting deeper than 128"},
  });
}

TEST(StrictReaderTest, RefusesNonJsonSyntax) {
  ExpectRejections({
      {"\xEF\xBB\xBF{}", 0, "byte order mark"},
      {"// c\n1", 0, "unexpected '/'; expected a value (comments are not allowed)"},
      {"/* c */ 1", 0, "comments are not allowed"},
      {"[1/*c*/]", 2, "comments are not allowed"},
      {"'a'", 0, "strings use double quotes"},
      {"{'a':1}", 1, "expected a string key (strings use double quotes)"},
      {"NaN", 0, "unexpected 'N'; expected a value"},
      {"Infinity", 0, "unexpected 'I'"},
      {"-Infinity", 1, "expected a digit"},
      {"nan", 0, "expected a value"},
      {"True", 0, "unexpected 'T'"},
      {"tru", 0, "expected a value"},
      {"nul", 0, "expected a value"},
      {"", 0, "no JSON value (empty input)"},
      {" \n\t\r", 4, "no JSON value"},
      {"[1,]", 3, "trailing comma in array"},
      {"{\"a\":1,}", 7, "trailing comma in object"},
      {"[1 2]", 3, "unexpected '2'; expected ',' or ']'"},
      {"{\"a\" 1}", 5, "expected ':'"},
      {"{1:2}", 1, "expected a string key"},
      {"{\"a\":}", 5, "unexpected '}'; expected a value"},
      {"[1,2", 4, "unexpected end of input; expected ',' or ']'"},
      {"{\"a\":1", 6, "unexpected end of input; expected ',' or '}'"},
      {"[", 1, "unexpected end of input; expected a value"},
      {"\f1", 0, "unexpected byte 0x0c"},              // form feed is not JSON whitespace
      {"\v1", 0, "unexpected byte 0x0b"},
      {"\xC2\xA0" "1", 0, "unexpected byte 0xc2"},      // nor is U+00A0
      {"[1,\x00]"s, 3, "unexpected byte 0x00"},
  });
}

TEST(StrictReaderTest, RefusesBadStringContent) {
  ExpectRejections({
      {"\"a\tb\"", 2, "unescaped control character byte 0x09 in string"},
      {"\"a\nb\"", 2, "unescaped control character byte 0x0a"},
      {"\"\0\""s, 1, "unescaped control character byte 0x00"},
      {"\"\x1f\"", 1, "unescaped control character byte 0x1f"},
      {R"("\x41")", 1, "invalid escape \\'x'"},
      {R"("\U0041")", 1, "invalid escape \\'U'"},
      {R"("\'")", 1, "invalid escape"},
      {R"("\u00G1")", 1, "\\u escape needs four hex digits"},
      {R"("\u12")", 1, "\\u escape needs four hex digits"},
      {"\"\\u12", 1, "truncated \\u escape"},
      {"\"abc", 0, "unterminated string"},
      {"\"abc\\", 0, "unterminated string"},
      {"{\"a", 1, "unterminated string"},
  });
}

TEST(StrictReaderTest, RefusesInputLongerThanTheLimitBeforeParsing) {
  JsonReadOptions options;
  options.max_input_bytes = 4;
  EXPECT_TRUE(ParseJson("[12]", options).ok());
  ExpectRejections({{"[1,2]", 4, "JSON input of 5 bytes exceeds the limit of 4 bytes"}}, options);
}

TEST(StrictReaderTest, MaxDepthIsAnOptionWithinAHardLimit) {
  JsonReadOptions options;
  options.max_depth = 0;
  EXPECT_TRUE(ParseJson("1", options).ok());
  ExpectRejections({{" []", 1, "nesting deeper than 0 levels"}}, options);

  options.max_depth = kMaxJsonDepthLimit;
  EXPECT_TRUE(ParseJson(Repeat("[", kMaxJsonDepthLimit) + Repeat("]", kMaxJsonDepthLimit), options).ok());
  options.max_depth = kMaxJsonDepthLimit + 1;
  const Result<json> too_deep_option = ParseJson("1", options);
  ASSERT_FALSE(too_deep_option.ok());
  EXPECT_EQ(too_deep_option.error().code, SyncCode::kInternal);
}

TEST(StrictReaderTest, KeepsMessagesShortAndValidUtf8ForHugeOrOddKeys) {
  const std::string key(1 << 20, 'k');
  const Result<json> result = ParseJson("{\"" + key + "\":1,\"" + key + "\":2}");
  ASSERT_FALSE(result.ok());
  EXPECT_LT(result.error().message.size(), 200u);
  EXPECT_NE(result.error().message.find("kkk\"... at offset"), std::string::npos);

  const Result<json> control = ParseJson("{\"\\u0000\\n\":1,\"\\u0000\\n\":2}");
  ASSERT_FALSE(control.ok());
  EXPECT_NE(control.error().message.find(R"(duplicate key "\u0000\n")"), std::string::npos);
}

// ---- Acceptances --------------------------------------------------------------

TEST(StrictReaderTest, AcceptsValidJsonAndReturnsItsValue) {
  struct Acceptance {
    std::string text;
    json value;
  };
  const std::vector<Acceptance> cases = {
      {"0", 0},
      {"-1", -1},
      {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
      {" \t\r\n 1 \n", 1},
      {"null", nullptr},
      {"true", true},
      {"false", false},
      {"[]", json::array()},
      {"{}", json::object()},
      {"[ 1 , [ ] , { } ]", json::array({1, json::array(), json::object()})},
      {R"({"":0," ":1})", {{"", 0}, {" ", 1}}},
      {R"({"b":1,"a":{"c":[true,null]}})", {{"a", {{"c", {true, nullptr}}}}, {"b", 1}}},
      {R"("\"\\\/\b\f\n\r\t")", "\"\\/\b\f\n\r\t"},
      {R"("\u0000")", std::string(1, '\0')},
      {R"("\u0041\u00e9\u20AC")", "A\xC3\xA9\xE2\x82\xAC"},
      {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},
      {R"("\uD83D\uDE00")", "\xF0\x9F\x98\x80"},
      {R"("\udbff\udfff")", "\xF4\x8F\xBF\xBF"},  // U+10FFFF
      {"\"\xC2\x80\xDF\xBF\"", "\xC2\x80\xDF\xBF"},  // U+0080, U+07FF
      {"\"\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\"",
       "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"},  // U+0800 U+D7FF U+E000 U+FFFF
      {"\"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"},  // U+10000 U+10FFFF
      {"\"\x7f\"", "\x7f"},
      {R"("\uFEFF")", "\xEF\xBB\xBF"},  // U+FEFF inside a string is just a character
  };
  for (const Acceptance& c : cases) {
    const Result<json> result = ParseJson(c.text);
    ASSERT_TRUE(result.ok()) << c.text << ": " << result.error().ToShortString();
    EXPECT_EQ(*result, c.value) << c.text;
  }
}

TEST(StrictReaderTest, ReturnsIntegersAsSignedInt64Values) {
  const Result<json> result = ParseJson("[0,9223372036854775807,-9223372036854775808]");
  ASSERT_TRUE(result.ok());
  for (const json& number : *result) {
    EXPECT_TRUE(number.is_number_integer());
    EXPECT_FALSE(number.is_number_unsigned());
  }
  EXPECT_EQ((*result)[1].get<std::int64_t>(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ((*result)[2].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
}

TEST(StrictReaderTest, AcceptsNestingUpToTheLimit) {
  EXPECT_TRUE(ParseJson(Repeat("[", 128) + Repeat("]", 128)).ok());
  EXPECT_TRUE(ParseJson(Repeat("{\"a\":", 128) + "1" + Repeat("}", 128)).ok());
}

}  // namespace
}  // namespace hx
