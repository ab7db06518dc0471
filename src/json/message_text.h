// Internal to the json module: how untrusted strings appear in messages.
//
// Error messages and details must themselves be valid UTF-8 of bounded size
// (Error::ToJson quotes them, and a 10 MB key must not become a 10 MB
// message), so a string taken from input is shown quoted, with invalid UTF-8
// replaced by U+FFFD and long text cut short.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace hx::json_internal {

// `text` as a JSON-quoted string for a message: control characters escaped,
// invalid UTF-8 sequences replaced by U+FFFD, and at most about 64 bytes of
// content kept (a cut is marked with "...").
std::string QuoteForMessage(std::string_view text);

// One input byte for a message: 'x' for printable ASCII, else "byte 0xNN".
std::string DescribeByte(unsigned char byte);

}  // namespace hx::json_internal
