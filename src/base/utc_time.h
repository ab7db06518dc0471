// Wall-clock instants as UTC text for messages and listings:
// "2026-11-03T10:15:00Z" (RFC 3339, to the second). The one home of this
// format (the write locks' messages, the trust chain, snapshot times in
// `hx log`); the JSON-line log and the envelopes keep their finer ones.
//
// Thread-safety: pure functions (gmtime_r).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <string>

namespace hx {

// `ms` (since the epoch) as "YYYY-MM-DDTHH:MM:SSZ"; a time the C library
// cannot convert (a corrupt record's) is shown as "<ms> ms".
inline std::string FormatUtcSeconds(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return std::to_string(ms) + " ms";
  std::array<char, 32> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text.data(), n);
}

}  // namespace hx
