// Lowercase hexadecimal encoding of bytes, and its strict inverse.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

// Lowercase hex of `bytes` (two characters per byte).
std::string ToHex(std::span<const std::uint8_t> bytes);
// Parses lowercase or uppercase hex of even length; nullopt otherwise.
std::optional<std::vector<std::uint8_t>> FromHex(std::string_view hex);
// True if `text` is exactly `length` lowercase hex digits.
bool IsLowerHex(std::string_view text, std::size_t length);

}  // namespace hx
