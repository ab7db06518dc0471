// Lowercase hexadecimal encoding of bytes, and its strict inverse.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

// The value of one hex digit (either case), or -1 for any other character.
int HexDigitValue(char c);
// Lowercase hex of `bytes` (two characters per byte).
std::string ToHex(std::span<const std::uint8_t> bytes);
// Parses lowercase or uppercase hex of even length; nullopt otherwise.
std::optional<std::vector<std::uint8_t>> FromHex(std::string_view hex);
// Lowercase hex of the bytes a string holds (store versions, ETags).
std::string StringToHex(std::string_view bytes);
// The strict inverse of StringToHex: nullopt for an odd length, more than
// `max_chars` characters, or any character that is not lowercase hex.
std::optional<std::string> LowerHexToString(std::string_view hex, std::size_t max_chars);
// True if `text` is exactly `length` lowercase hex digits.
bool IsLowerHex(std::string_view text, std::size_t length);

}  // namespace hx
