// .hxignore: the paths of a vault that hx does not sync, in a documented
// subset of gitignore syntax. Only the file at the vault root is read
// (there are no per-directory ignore files), and `.hx` at the root is
// always ignored, whatever the rules say.
//
// Syntax, one rule per line (checked against `git check-ignore` by
// ignore_test.cc):
//   - A blank line, or a line starting with '#', is not a rule. A trailing
//     '\r' is dropped (a file saved on Windows). Trailing spaces are dropped
//     unless escaped with '\'.
//   - A leading '!' negates: a path it matches is not ignored. "\!" and
//     "\#" start a rule with a literal '!' or '#'.
//   - A trailing '/' makes the rule match only directories.
//   - A rule with a '/' at the start or in the middle is anchored: it is
//     matched against the whole path from the vault root (a leading '/' is
//     otherwise dropped). A rule without one matches a name at any depth.
//   - '*' matches any run of characters except '/', '?' any one byte
//     except '/', "[...]" one byte of a set ("[a-z]", "[!a-z]" or "[^a-z]"
//     negated, a ']' first is literal, "[[:alpha:]]" and the other POSIX
//     classes, ASCII only); a '/' never matches inside brackets. '\' makes
//     the next character literal. Like git, '?' and brackets match bytes,
//     so a non-ASCII character needs one '?' per UTF-8 byte.
//   - "**" as a whole path segment: a leading "**/" matches any number of
//     directories (zero included), a middle "/**/" the same, a trailing
//     "/**" everything inside (one level or more). Elsewhere "**" is '*'.
//   - The last rule that matches a path decides. An ignored directory is
//     not descended into, so nothing under it can be re-included (as in
//     git).
//   - A pattern that cannot be parsed (an unclosed '[' or a trailing '\')
//     never matches, as in git; it is not an error.
//
// Thread-safety: an IgnoreRules is immutable after Parse; Matches and
// IsIgnored may be called from any number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "os/env.h"

namespace hx {

inline constexpr std::string_view kIgnoreFileName = ".hxignore";
// The folder of hx's local state at the vault root; never synced.
inline constexpr std::string_view kStateDirName = ".hx";
// A larger .hxignore is refused (it is synced, so it is untrusted input).
inline constexpr std::size_t kMaxIgnoreFileBytes = std::size_t{1} << 20;

class IgnoreRules {
 public:
  // No rules: nothing but `.hx` is ignored.
  IgnoreRules();
  // Parses the text of a .hxignore file. Never fails (see above).
  static IgnoreRules Parse(std::string_view text);

  // Whether the rules ignore `path` itself (vault-relative, '/'-separated,
  // no leading or trailing '/'; `is_dir` says whether it is a directory).
  // Does not look at the path's parents: the scanner never descends into an
  // ignored directory, so for the paths it visits this is the full answer.
  bool Matches(std::string_view path, bool is_dir) const;
  // Whether `path` is ignored given its parents too: true if it or any
  // directory above it is matched (what git reports for a path).
  bool IsIgnored(std::string_view path, bool is_dir) const;

  // Which rule decides IsIgnored(path, is_dir), for `hx explain`: the path
  // (or the directory above it) that a rule ignores, and that rule's line.
  // nullopt when the path is not ignored. `.hx` itself is line 0, rule
  // ".hx" (always ignored, whatever the file says).
  struct Match {
    std::string path;   // `path` itself or the ignored directory above it
    std::size_t line = 0;  // 1-based line of .hxignore
    std::string rule;   // the line's text (without a trailing '\r')
  };
  std::optional<Match> Explain(std::string_view path, bool is_dir) const;

  // The number of rules parsed (comments and blank lines excluded).
  std::size_t size() const;
  // BLAKE3 of the text the rules were parsed from (of "" for no rules): two
  // rule sets with equal digests are the same rules.
  const std::array<std::uint8_t, 32>& source_digest() const { return source_digest_; }

  // Copyable values; defined in ignore.cc, where Rule is complete.
  ~IgnoreRules();
  IgnoreRules(const IgnoreRules&);
  IgnoreRules& operator=(const IgnoreRules&);
  IgnoreRules(IgnoreRules&&) noexcept;
  IgnoreRules& operator=(IgnoreRules&&) noexcept;

 private:
  struct Rule;  // one compiled line (ignore.cc)
  // Compiles one line into `rule`; false for comments, blank lines and
  // patterns that can never match.
  static bool ParseLine(std::string_view line, Rule& rule);
  // The last rule that matches `path` itself (negated or not), or null.
  const Rule* Deciding(std::string_view path, bool is_dir) const;

  std::vector<Rule> rules_;
  std::array<std::uint8_t, 32> source_digest_;
};

// Reads and parses `<root>/.hxignore` (no rules if there is none), through
// `env`. `root_fd` is an open descriptor of the vault root; pass -1 to open
// `root`. Errors (KC_SYNC_STATE_FAILED): unreadable -> category io (auth
// for a permission error, no_space for ENOSPC); not a regular
// file (a symlink or a directory: hx reads rules only from a regular file,
// and never syncs what the user meant to ignore) -> unsupported; larger than
// kMaxIgnoreFileBytes -> invalid_input.
Result<IgnoreRules> LoadIgnoreFile(const std::filesystem::path& root, int root_fd = -1,
                                   Env& env = Env::Default());

}  // namespace hx
