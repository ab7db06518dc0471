#include "json/utf8.h"

namespace hx {
namespace {

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

}  // namespace

std::string_view Describe(Utf8Problem problem) {
  switch (problem) {
    case Utf8Problem::kTruncated: return "truncated multi-byte sequence";
    case Utf8Problem::kUnexpectedContinuation: return "unexpected continuation byte";
    case Utf8Problem::kInvalidByte: return "byte that never occurs in UTF-8";
    case Utf8Problem::kOverlong: return "overlong encoding";
    case Utf8Problem::kSurrogate: return "UTF-16 surrogate encoded in UTF-8";
    case Utf8Problem::kAboveMax: return "code point above U+10FFFF";
  }
  return "invalid UTF-8";
}

Utf8Char DecodeUtf8At(std::string_view text, std::size_t pos) {
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte_at(pos);
  Utf8Char result;
  if (lead < 0x80) {
    result.code_point = lead;
    result.length = 1;
    return result;
  }
  if (lead < 0xC0) {
    result.problem = Utf8Problem::kUnexpectedContinuation;
    return result;
  }
  if (lead < 0xC2) {
    result.problem = Utf8Problem::kOverlong;
    return result;
  }
  if (lead > 0xF4) {
    result.problem = Utf8Problem::kInvalidByte;
    return result;
  }
  const std::size_t length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  // Every byte after the lead must be a continuation byte; a missing or
  // non-continuation byte means the sequence was cut short.
  for (std::size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size() || !IsContinuation(byte_at(pos + i))) {
      result.problem = Utf8Problem::kTruncated;
      return result;
    }
  }
  // The second byte's range depends on the lead (RFC 3629, section 4): the
  // leads E0, ED, F0 and F4 narrow it to exclude overlong forms, surrogates
  // and code points above U+10FFFF.
  const unsigned char second = byte_at(pos + 1);
  if (lead == 0xE0 && second < 0xA0) {
    result.problem = Utf8Problem::kOverlong;
    return result;
  }
  if (lead == 0xED && second > 0x9F) {
    result.problem = Utf8Problem::kSurrogate;
    return result;
  }
  if (lead == 0xF0 && second < 0x90) {
    result.problem = Utf8Problem::kOverlong;
    return result;
  }
  if (lead == 0xF4 && second > 0x8F) {
    result.problem = Utf8Problem::kAboveMax;
    return result;
  }
  char32_t code_point = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (std::size_t i = 1; i < length; ++i) {
    code_point = (code_point << 6) | (byte_at(pos + i) & 0x3F);
  }
  result.code_point = code_point;
  result.length = length;
  return result;
}

std::optional<Utf8Error> FindInvalidUtf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII is by far the common case; skip it without decoding.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const Utf8Char ch = DecodeUtf8At(text, pos);
    if (ch.problem) return Utf8Error{pos, *ch.problem};
    pos += ch.length;
  }
  return std::nullopt;
}

void AppendUtf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace hx
