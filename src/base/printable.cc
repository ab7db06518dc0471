#include "base/printable.h"

#include <cstddef>
#include <cstdint>

namespace hx {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// One decoded character of valid UTF-8, or length 0 at an invalid byte.
// (json/utf8.h has the classified decoder; base sits below json, and this
// needs only "valid or not".)
struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;
};

Decoded DecodeAt(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, cp = lead & 0x1f, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, cp = lead & 0x0f, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return {};  // a continuation byte, C0/C1 (overlong), or F5..FF
  }
  if (pos + length > text.size()) return {};
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {};
  return {cp, length};
}

// Code points that are valid but change how a line reads.
bool IsInvisibleControl(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

void AppendByteEscape(std::string& out, unsigned char c) {
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xf]);
}

void AppendCodePointEscape(std::string& out, char32_t cp) {
  out += "\\u{";
  char digits[8];
  int n = 0;
  do {
    digits[n++] = kHex[cp & 0xf];
    cp >>= 4;
  } while (cp != 0);
  while (n > 0) out.push_back(digits[--n]);
  out.push_back('}');
}

void Escape(std::string& out, std::string_view text, bool keep_layout) {
  out.reserve(out.size() + text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\' && !keep_layout) {
        out += "\\\\";
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++pos;
      continue;
    }
    if (c < 0x80) {
      if (keep_layout && (c == '\n' || c == '\t')) {
        out.push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == 0x1b) {
        out += "\\e";
      } else {
        AppendByteEscape(out, c);  // other C0 controls, DEL
      }
      ++pos;
      continue;
    }
    const Decoded d = DecodeAt(text, pos);
    if (d.length == 0) {
      AppendByteEscape(out, c);  // not UTF-8: this byte; resynchronise at the next
      ++pos;
    } else if (IsInvisibleControl(d.code_point)) {
      AppendCodePointEscape(out, d.code_point);
      pos += d.length;
    } else {
      out.append(text.substr(pos, d.length));
      pos += d.length;
    }
  }
}

}  // namespace

void AppendPrintable(std::string& out, std::string_view text) {
  Escape(out, text, /*keep_layout=*/false);
}

std::string Printable(std::string_view text) {
  std::string out;
  AppendPrintable(out, text);
  return out;
}

std::string TerminalSafe(std::string_view text) {
  std::string out;
  Escape(out, text, /*keep_layout=*/true);
  return out;
}

}  // namespace hx
