// The strict JSON reader behind ParseJson (see canonical_json.h for the
// rules). It is a small recursive-descent parser rather than nlohmann's own
// parser because hx needs what nlohmann's SAX interface does not give: the
// byte offset of a duplicate key or of an out-of-range number, refusal of
// "-0" and of a byte order mark (which nlohmann skips), and one error type
// without exceptions. It builds nlohmann::json values directly.
#include "json/canonical_json.h"

#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>

#include "base/hex.h"
#include "json/message_text.h"
#include "json/utf8.h"

namespace hx {
namespace {

using json = nlohmann::json;

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

class StrictReader {
 public:
  StrictReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  Result<json> ParseDocument() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
      Fail(0, "a byte order mark (U+FEFF) is not allowed");
      return TakeError();
    }
    SkipWhitespace();
    if (AtEnd()) {
      Fail(pos_, "no JSON value (empty input)");
      return TakeError();
    }
    json value;
    if (!ParseValue(value, 0)) return TakeError();
    SkipWhitespace();
    if (!AtEnd()) {
      Fail(pos_, "unexpected " + Byte(pos_) + " after the JSON value");
      return TakeError();
    }
    return value;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  std::string Byte(std::size_t offset) const {
    return json_internal::DescribeByte(static_cast<unsigned char>(text_[offset]));
  }

  // Records the error and returns false, so that parse steps can
  // `return Fail(...)`.
  bool Fail(std::size_t offset, std::string message) {
    message += " at offset " + std::to_string(offset);
    error_ = Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message))
                 .With("offset", std::to_string(offset));
    return false;
  }

  Error TakeError() { return std::move(*error_); }

  bool FailUnexpected(std::string_view expected) {
    if (AtEnd()) return Fail(pos_, "unexpected end of input; expected " + std::string(expected));
    std::string message = "unexpected " + Byte(pos_) + "; expected " + std::string(expected);
    if (Peek() == '/') message += " (comments are not allowed)";
    if (Peek() == '\'') message += " (strings use double quotes)";
    return Fail(pos_, std::move(message));
  }

  // Precondition: no whitespace at pos_.
  bool ParseValue(json& out, int depth) {
    if (AtEnd()) return FailUnexpected("a value");
    switch (Peek()) {
      case '{': return ParseObject(out, depth + 1);
      case '[': return ParseArray(out, depth + 1);
      case '"': {
        std::string text;
        if (!ParseString(text)) return false;
        out = std::move(text);
        return true;
      }
      case 't': return ParseLiteral("true", json(true), out);
      case 'f': return ParseLiteral("false", json(false), out);
      case 'n': return ParseLiteral("null", json(nullptr), out);
      default:
        if (Peek() == '-' || IsDigit(Peek())) return ParseInteger(out);
        return FailUnexpected("a value");
    }
  }

  bool ParseLiteral(std::string_view word, json value, json& out) {
    if (text_.substr(pos_, word.size()) != word) return FailUnexpected("a value");
    pos_ += word.size();
    out = std::move(value);
    return true;
  }

  bool CheckDepth(int depth) {
    if (depth <= max_depth_) return true;
    return Fail(pos_, "nesting deeper than " + std::to_string(max_depth_) + " levels");
  }

  bool ParseArray(json& out, int depth) {
    if (!CheckDepth(depth)) return false;
    ++pos_;  // '['
    out = json::array();
    auto& array = *out.get_ptr<json::array_t*>();
    SkipWhitespace();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWhitespace();
      if (!AtEnd() && Peek() == ']') return Fail(pos_, "trailing comma in array");
      array.emplace_back();
      if (!ParseValue(array.back(), depth)) return false;
      SkipWhitespace();
      if (AtEnd()) return FailUnexpected("',' or ']'");
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') return FailUnexpected("',' or ']'");
      ++pos_;
    }
  }

  bool ParseObject(json& out, int depth) {
    if (!CheckDepth(depth)) return false;
    ++pos_;  // '{'
    out = json::object();
    auto& object = *out.get_ptr<json::object_t*>();
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWhitespace();
      if (!AtEnd() && Peek() == '}') return Fail(pos_, "trailing comma in object");
      if (AtEnd() || Peek() != '"') return FailUnexpected("a string key");
      const std::size_t key_offset = pos_;
      std::string key;
      if (!ParseString(key)) return false;
      // The map is not modified while the value is parsed (only the value's
      // own containers are), so the hint stays valid for the insertion.
      const auto hint = object.lower_bound(key);
      if (hint != object.end() && hint->first == key) {
        return Fail(key_offset, "duplicate key " + json_internal::QuoteForMessage(key));
      }
      SkipWhitespace();
      if (AtEnd() || Peek() != ':') return FailUnexpected("':'");
      ++pos_;
      SkipWhitespace();
      json value;
      if (!ParseValue(value, depth)) return false;
      object.emplace_hint(hint, std::move(key), std::move(value));
      SkipWhitespace();
      if (AtEnd()) return FailUnexpected("',' or '}'");
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') return FailUnexpected("',' or '}'");
      ++pos_;
    }
  }

  // Parses the four hex digits of a \u escape whose backslash is at
  // `escape_offset`.
  std::optional<char32_t> ParseHex4(std::size_t escape_offset) {
    char32_t unit = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      if (pos_ + i >= text_.size()) {
        Fail(escape_offset, "truncated \\u escape");
        return std::nullopt;
      }
      const int digit = HexDigitValue(text_[pos_ + i]);
      if (digit < 0) {
        Fail(escape_offset, "\\u escape needs four hex digits");
        return std::nullopt;
      }
      unit = (unit << 4) | static_cast<char32_t>(digit);
    }
    pos_ += 4;
    return unit;
  }

  // pos_ is just after "\u". Appends the character, joining a surrogate
  // pair written as two escapes; a lone surrogate is refused since it is
  // not a character and cannot be UTF-8.
  bool ParseUnicodeEscape(std::size_t escape_offset, std::string& out) {
    const std::optional<char32_t> unit = ParseHex4(escape_offset);
    if (!unit) return false;
    if (*unit >= 0xDC00 && *unit <= 0xDFFF) {
      return Fail(escape_offset, "\\u escape is a low surrogate without a high surrogate before it");
    }
    if (*unit < 0xD800 || *unit > 0xDBFF) {
      AppendUtf8(out, *unit);
      return true;
    }
    if (text_.substr(pos_, 2) != "\\u") {
      return Fail(escape_offset, "\\u escape is a high surrogate not followed by a low surrogate");
    }
    const std::size_t low_offset = pos_;
    pos_ += 2;
    const std::optional<char32_t> low = ParseHex4(low_offset);
    if (!low) return false;
    if (*low < 0xDC00 || *low > 0xDFFF) {
      return Fail(escape_offset, "\\u escape is a high surrogate not followed by a low surrogate");
    }
    AppendUtf8(out, 0x10000 + ((*unit - 0xD800) << 10) + (*low - 0xDC00));
    return true;
  }

  bool ParseString(std::string& out) {
    const std::size_t start = pos_;
    ++pos_;  // '"'
    while (true) {
      // Copy runs of plain ASCII in one step; they are most of any text.
      const std::size_t run_start = pos_;
      while (!AtEnd()) {
        const auto c = static_cast<unsigned char>(Peek());
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        ++pos_;
      }
      out.append(text_.substr(run_start, pos_ - run_start));
      if (AtEnd()) return Fail(start, "unterminated string");
      const auto c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        return Fail(pos_, "unescaped control character " + Byte(pos_) + " in string");
      }
      if (c >= 0x80) {
        const Utf8Char ch = DecodeUtf8At(text_, pos_);
        if (ch.problem) {
          return Fail(pos_, "invalid UTF-8 in string (" + std::string(Describe(*ch.problem)) + ")");
        }
        out.append(text_.substr(pos_, ch.length));
        pos_ += ch.length;
        continue;
      }
      // A backslash escape.
      const std::size_t escape_offset = pos_;
      ++pos_;
      if (AtEnd()) return Fail(start, "unterminated string");
      const char escape = Peek();
      ++pos_;
      switch (escape) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u':
          if (!ParseUnicodeEscape(escape_offset, out)) return false;
          break;
        default:
          return Fail(escape_offset, "invalid escape \\" +
                                         json_internal::DescribeByte(static_cast<unsigned char>(escape)));
      }
    }
  }

  bool ParseInteger(json& out) {
    const std::size_t start = pos_;
    const bool negative = Peek() == '-';
    if (negative) ++pos_;
    if (AtEnd() || !IsDigit(Peek())) return FailUnexpected("a digit");
    const bool leading_zero = Peek() == '0';
    // Accumulate the magnitude; remember (rather than stop at) overflow so
    // that "1e999" is still reported as an exponent, the more useful message.
    const std::uint64_t limit =
        negative ? std::uint64_t{1} << 63
                 : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t magnitude = 0;
    bool out_of_range = false;
    const std::size_t digits_start = pos_;
    while (!AtEnd() && IsDigit(Peek())) {
      const auto digit = static_cast<std::uint64_t>(Peek() - '0');
      if (magnitude > (limit - digit) / 10) {
        out_of_range = true;
      } else {
        magnitude = magnitude * 10 + digit;
      }
      ++pos_;
    }
    if (!AtEnd() && (Peek() == '.' || Peek() == 'e' || Peek() == 'E')) {
      return Fail(start, "number with a fraction or exponent (hx JSON holds integers only)");
    }
    if (leading_zero && pos_ - digits_start > 1) {
      return Fail(start, "number with a leading zero");
    }
    if (out_of_range) {
      return Fail(start, "integer " + json_internal::QuoteForMessage(text_.substr(start, pos_ - start)) +
                             " is outside the int64 range");
    }
    if (negative && magnitude == 0) {
      return Fail(start, "negative zero (-0) is not an integer hx writes; use 0");
    }
    // Negating in unsigned arithmetic and converting is exact for the whole
    // range, including -2^63 whose magnitude does not fit in int64.
    out = negative ? static_cast<std::int64_t>(~magnitude + 1) : static_cast<std::int64_t>(magnitude);
    return true;
  }

  std::string_view text_;
  int max_depth_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, const JsonReadOptions& options) {
  if (options.max_depth < 0 || options.max_depth > kMaxJsonDepthLimit) {
    return InternalError("JsonReadOptions::max_depth must be between 0 and " +
                         std::to_string(kMaxJsonDepthLimit));
  }
  if (text.size() > options.max_input_bytes) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "JSON input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                     std::to_string(options.max_input_bytes) + " bytes at offset " +
                     std::to_string(options.max_input_bytes))
        .With("offset", std::to_string(options.max_input_bytes));
  }
  try {
    StrictReader reader(text, options.max_depth);
    return reader.ParseDocument();
  } catch (const std::exception& e) {
    // Only allocation can throw here (memory is bounded by the input size,
    // which was checked above); report it rather than let it escape.
    return InternalError(std::string("parsing JSON failed: ") + e.what());
  }
}

}  // namespace hx
