// Fuzzes .hxignore parsing and matching (the file is synced, so it is
// untrusted). The first byte picks the mode:
//   - even: arbitrary rules text, a NUL byte, then '\n'-separated paths
//     (a trailing '/' marks a directory). Nothing may crash or take more
//     than polynomial time (libFuzzer's -timeout catches blow-ups).
//   - odd: differential. The rest of the input is mapped to one rule built
//     from a small token alphabet (a b . * ? / [ab] [!a]) and one path; the
//     result of IgnoreRules must equal a deliberately naive reference: a
//     recursive segment matcher for "**" and fnmatch(3) for each segment.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fnmatch.h>

#include "scan/ignore.h"

namespace {

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      return parts;
    }
    start = slash + 1;
  }
}

bool Glob(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool SegmentsMatch(const std::vector<std::string>& pattern, std::size_t p,
                   const std::vector<std::string>& path, std::size_t s) {
  if (p == pattern.size()) {
    return s == path.size();
  }
  const std::string& segment = pattern[p];
  if (segment.size() >= 2 && segment.find_first_not_of('*') == std::string::npos) {
    if (p + 1 == pattern.size()) {
      return path.size() - s >= 1;  // a trailing "**": one level or more
    }
    for (std::size_t k = s; k <= path.size(); ++k) {
      if (SegmentsMatch(pattern, p + 1, path, k)) {
        return true;
      }
    }
    return false;
  }
  return s < path.size() && Glob(segment, path[s]) && SegmentsMatch(pattern, p + 1, path, s + 1);
}

bool Reference(std::string rule, const std::string& path, bool is_dir) {
  bool dir_only = false;
  if (!rule.empty() && rule.back() == '/') {
    dir_only = true;
    rule.pop_back();
  }
  const bool anchored = rule.find('/') != std::string::npos;
  if (!rule.empty() && rule.front() == '/') {
    rule.erase(0, 1);
  }
  if (rule.empty() || (dir_only && !is_dir)) {
    return false;
  }
  if (!anchored) {
    return Glob(rule, path.substr(path.rfind('/') + 1));
  }
  const std::vector<std::string> pattern = Split(rule);
  for (const std::string& segment : pattern) {
    if (segment.empty()) {
      return false;
    }
  }
  return SegmentsMatch(pattern, 0, Split(path), 0);
}

void Differential(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kRuleTokens[] = {"a", "b", ".", "*", "?", "/", "[ab]", "[!a]"};
  static constexpr char kPathChars[] = {'a', 'b', '.', '/'};
  const bool is_dir = size > 0 && (data[0] & 1) != 0;
  std::string rule;
  std::size_t i = 1;
  for (; i < size && data[i] != 0xff && rule.size() < 40; ++i) {
    rule += kRuleTokens[data[i] % 8];
  }
  std::string path;
  for (++i; i < size && path.size() < 40; ++i) {
    const char c = kPathChars[data[i] % 4];
    // No empty segments: paths are "a/b", never "a//b", "/a" or "a/".
    if (c == '/' && (path.empty() || path.back() == '/')) {
      continue;
    }
    path += c;
  }
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  // "." and ".." are not names a scan can see.
  for (const std::string& segment : Split(path)) {
    if (segment == "." || segment == "..") {
      return;
    }
  }
  if (path.empty() || rule.empty() || rule.front() == '!' || rule.front() == '#' ||
      rule.find("//") != std::string::npos) {
    return;
  }
  const hx::IgnoreRules rules = hx::IgnoreRules::Parse(rule);
  if (rules.Matches(path, is_dir) != Reference(rule, path, is_dir)) {
    __builtin_trap();
  }
}

void Arbitrary(std::string_view input) {
  const std::size_t split = input.find('\0');
  const hx::IgnoreRules rules = hx::IgnoreRules::Parse(input.substr(0, split));
  if (split == std::string_view::npos) {
    return;
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
    if (!path.empty() && !path.starts_with('/')) {
      (void)rules.IsIgnored(path, is_dir);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  if (data[0] % 2 == 1) {
    Differential(data + 1, size - 1);
  } else {
    Arbitrary(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  }
  return 0;
}
