// Fuzzes .hxignore parsing and matching (the file is synced, so it is
// untrusted): any rules text, matched against paths taken from the same
// input, must neither crash nor take more than polynomial time. Input: rules
// text, a NUL byte, then '\n'-separated paths (a trailing '/' marks a
// directory).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scan/ignore.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view rules_text = input.substr(0, split);
  const hx::IgnoreRules rules = hx::IgnoreRules::Parse(rules_text);
  if (split == std::string_view::npos) {
    return 0;
  }
  std::string_view paths = input.substr(split + 1);
  while (!paths.empty()) {
    const std::size_t end = paths.find('\n');
    std::string_view path = paths.substr(0, end);
    paths = end == std::string_view::npos ? std::string_view() : paths.substr(end + 1);
    bool is_dir = false;
    if (path.ends_with('/')) {
      is_dir = true;
      path.remove_suffix(1);
    }
    if (path.empty() || path.starts_with('/')) {
      continue;
    }
    // Matches without parents must never say "ignored" where IsIgnored,
    // which also checks the parents, says "kept".
    if (rules.Matches(path, is_dir) && !rules.IsIgnored(path, is_dir)) {
      __builtin_trap();
    }
  }
  return 0;
}
