// Times for people: "2026-12-06 11:32 (3 min ago)" — the local date and time
// of a wall-clock instant (the process's time zone, TZ), and how long before
// `now_ms` it was. The engine never reads the clock: `now_ms` is the
// operation's input (SyncOptions::now_ms), so the text is deterministic for a
// given time zone.
//
// Thread-safety: pure functions (localtime_r).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <string>

namespace hx {

// "just now", "3 min ago", "5 h ago", "12 days ago"; a time after now (a
// clock set wrong on some device) says so.
inline std::string FormatAgo(std::int64_t ago_ms) {
  if (ago_ms < 0) return "in the future: check the clocks";
  const std::int64_t minutes = ago_ms / 60'000;
  if (minutes < 1) return "just now";
  if (minutes < 60) return std::to_string(minutes) + " min ago";
  const std::int64_t hours = minutes / 60;
  if (hours < 48) return std::to_string(hours) + " h ago";
  return std::to_string(hours / 24) + " days ago";
}

// "2026-12-06 11:32 (3 min ago)" for `ms` (ms since the epoch); a time the
// C library cannot convert is shown as "<ms> ms".
inline std::string FormatLocalTimeAgo(std::int64_t ms, std::int64_t now_ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  std::array<char, 32> text{};
  std::size_t n = 0;
  if (localtime_r(&seconds, &local) != nullptr) {
    n = std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M", &local);
  }
  const std::string date = n > 0 ? std::string(text.data(), n) : std::to_string(ms) + " ms";
  return date + " (" + FormatAgo(now_ms - ms) + ")";
}

}  // namespace hx
