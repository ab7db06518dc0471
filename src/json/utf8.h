// Strict UTF-8 validation (RFC 3629), shared by the JSON reader and writer.
//
// "Valid" means the shortest-form encoding of a Unicode scalar value:
// overlong forms (C0 80, E0 80 80, ...), UTF-16 surrogates encoded as UTF-8
// (ED A0 80 .. ED BF BF), code points above U+10FFFF and stray or missing
// continuation bytes are all invalid. Each failure is classified so that
// error messages can say what is wrong, not just where.
//
// Thread-safety: pure functions on values; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hx {

enum class Utf8Problem : std::uint8_t {
  kTruncated,               // a lead byte without enough continuation bytes
  kUnexpectedContinuation,  // a continuation byte (80..BF) where a lead is due
  kInvalidByte,             // F5..FF: never appears in UTF-8
  kOverlong,                // a longer encoding than needed (C0, C1, E0 80..)
  kSurrogate,               // U+D800..U+DFFF encoded directly
  kAboveMax,                // a code point above U+10FFFF (F4 90.. and up)
};

// A short lowercase phrase for messages, e.g. "overlong encoding".
std::string_view Describe(Utf8Problem problem);

// One decoded character, or the reason the bytes at that position are not one.
struct Utf8Char {
  char32_t code_point = 0;  // meaningful only without a problem
  std::size_t length = 0;   // bytes of the character; 0 with a problem
  std::optional<Utf8Problem> problem;
};

// Decodes the character that starts at text[pos]. Precondition: pos < size.
Utf8Char DecodeUtf8At(std::string_view text, std::size_t pos);

struct Utf8Error {
  std::size_t offset = 0;  // byte offset of the first invalid sequence
  Utf8Problem problem = Utf8Problem::kInvalidByte;
};

// nullopt if `text` is entirely valid UTF-8; otherwise the first problem.
std::optional<Utf8Error> FindInvalidUtf8(std::string_view text);

// Appends the UTF-8 encoding of a Unicode scalar value (not a surrogate,
// at most U+10FFFF; precondition).
void AppendUtf8(std::string& out, char32_t code_point);

}  // namespace hx
