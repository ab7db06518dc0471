#include "json/message_text.h"

#include "base/json_string.h"
#include "json/utf8.h"

namespace hx::json_internal {
namespace {

constexpr std::size_t kMaxMessageBytes = 64;
constexpr char32_t kReplacementCharacter = 0xFFFD;

}  // namespace

std::string QuoteForMessage(std::string_view text) {
  std::string clean;
  std::size_t pos = 0;
  while (pos < text.size() && clean.size() < kMaxMessageBytes) {
    const Utf8Char ch = DecodeUtf8At(text, pos);
    if (ch.problem) {
      AppendUtf8(clean, kReplacementCharacter);
      ++pos;  // resynchronise on the next byte
    } else {
      clean.append(text.substr(pos, ch.length));
      pos += ch.length;
    }
  }
  std::string out;
  AppendJsonQuoted(out, clean);
  if (pos < text.size()) out += "...";
  return out;
}

std::string DescribeByte(unsigned char byte) {
  if (byte >= 0x20 && byte < 0x7F) return std::string("'") + static_cast<char>(byte) + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "byte 0x";
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xF]);
  return out;
}

}  // namespace hx::json_internal
