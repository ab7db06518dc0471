// The scan baseline: a flat record of what a clean scan of the vault saw
// (every directory's children with their lstat), so that an unchanged
// folder can be recognised by one walk compared in order, without loading
// the base, the stat cache or building any map.
//
// What it claims. A baseline is written (by sync) only from a scan that
// (1) had no errors, no skipped items and no racy files (scanner.h), and
// (2) compared with the base named by `token` (for sync: the index's
// kMetaBaseToken with the base snapshot id and head seq) gave no local
// changes. If the folder now lists exactly the same paths,
// kinds, symlink targets and, for files, the same size, mtime (ns), ctime
// (ns), inode and st_mode, under the same .hxignore bytes, then a scan now
// would produce the same entries (the stat cache's rule: content is assumed
// unchanged while size, times and inode are), and comparing them with the
// same base gives no changes again. Anything else, including a baseline that
// is missing, damaged, or written for another base, is simply "no match":
// the caller does the full comparison, which is always correct. It is a
// cache: deleting it costs one full comparison.
//
// File format (all integers little-endian; docs/FORMAT.md, "Scan baseline"):
//   "HXSCANB1"                         magic and version (8 bytes)
//   u8 token length, token bytes       the base token it was derived from
//   32 bytes                           BLAKE3 of .hxignore's bytes
//   u32 directory count, then per directory, sorted by path (bytes):
//     u32 path length, path             "" for the vault root
//     u32 child count, then per child, sorted by name (bytes):
//       u16 name length, name, u8 kind (0 file, 1 directory, 2 symlink)
//       file:    u64 size, i64 mtime_ns, i64 ctime_ns, u64 inode, u32 mode
//       symlink: u32 target length, target
//   32 bytes                           BLAKE3 of every byte before it
//
// Thread-safety: values and pure functions; FolderMatchesBaseline runs its
// own worker threads and may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "index/stat_cache.h"
#include "os/env.h"

namespace hx {

inline constexpr std::string_view kBaselineMagic = "HXSCANB1";
inline constexpr std::size_t kMaxBaselineTokenBytes = 255;
// A baseline file larger than this is not read (about 10 million files).
inline constexpr std::size_t kMaxBaselineBytes = std::size_t{1} << 30;

enum class BaselineKind : std::uint8_t { kFile = 0, kDir = 1, kSymlink = 2 };

// One child of a directory as the scan saw it.
struct BaselineChild {
  std::string name;
  BaselineKind kind = BaselineKind::kFile;
  FileStat stat;       // kFile only
  std::string target;  // kSymlink only
  friend bool operator==(const BaselineChild&, const BaselineChild&) = default;
};

// What a scan collected for its baseline (ScanOptions::collect_baseline):
// the directory blocks already encoded and sorted, so that a push can hold
// it compactly until its new base is committed.
struct ScanBaseline {
  std::array<std::uint8_t, 32> ignore_digest{};
  std::uint32_t dir_count = 0;
  std::string dirs;  // the encoded directory blocks (format above)
};

// Builds a ScanBaseline from directories given in any order, each with its
// children in any order. Precondition: paths and names are distinct.
ScanBaseline MakeScanBaseline(const std::array<std::uint8_t, 32>& ignore_digest,
                              std::vector<std::pair<std::string, std::vector<BaselineChild>>> dirs);

// The compact form the scanner collects (about 45 bytes a file instead of a
// BaselineChild's 110): one directory's children appended, encoded, in any
// order, then sorted once by MakeScanBaselineFromBlocks.
void AppendBaselineChild(std::string& block, std::string_view name, BaselineKind kind,
                         const FileStat& stat, std::string_view target);
// MakeScanBaseline for directories given as (path, block of children
// appended with AppendBaselineChild). Each block is released once copied.
ScanBaseline MakeScanBaselineFromBlocks(const std::array<std::uint8_t, 32>& ignore_digest,
                                        std::vector<std::pair<std::string, std::string>> dirs);

// The file's bytes: `baseline` tagged with `token` (at most
// kMaxBaselineTokenBytes) and checksummed.
std::string EncodeBaselineFile(const ScanBaseline& baseline, std::string_view token);
// The same bytes in three pieces (head, the baseline's directories, the
// checksum), so that a large baseline is written without a copy.
struct BaselineFileParts {
  std::string head;
  std::string_view dirs;  // views baseline.dirs
  std::string checksum;
};
BaselineFileParts BaselineFile(const ScanBaseline& baseline, std::string_view token);

// A parsed baseline file. Views into the bytes given to ParseBaseline,
// which must outlive it.
class BaselineView {
 public:
  struct Dir {
    std::string_view path;
    std::uint32_t child_count = 0;
    std::size_t children_offset = 0;  // into bytes()
  };

  std::string_view token() const { return token_; }
  // The whole file, as given to ParseBaseline.
  std::string_view bytes() const { return bytes_; }
  const std::array<std::uint8_t, 32>& ignore_digest() const { return ignore_digest_; }
  const std::vector<Dir>& dirs() const { return dirs_; }
  // The directory block of `path`, or null.
  const Dir* FindDir(std::string_view path) const;
  // The children of `dir`, decoded (for tests and tools; the matcher
  // decodes them one at a time).
  std::vector<BaselineChild> Children(const Dir& dir) const;

 private:
  friend Result<BaselineView> ParseBaseline(std::string_view bytes);
  std::string_view bytes_;
  std::string_view token_;
  std::array<std::uint8_t, 32> ignore_digest_{};
  std::vector<Dir> dirs_;
};

// Parses and fully checks a baseline file (untrusted bytes: bounded, never
// crashes): magic, checksum, every length in bounds, directories and
// children strictly sorted, names non-empty without '/' or NUL, known kinds,
// no trailing bytes. Any failure: KC_SYNC_STATE_FAILED, category corrupt
// (the caller ignores the file and does the full comparison).
Result<BaselineView> ParseBaseline(std::string_view bytes);

// Whether the folder at `root` is exactly as `baseline` recorded it (see
// above): one walk on `threads` threads (0: the number of cores, at most
// 8), stopping at the first difference. Every doubt is "false": an
// unreadable directory or .hxignore, a special file, a name that is not
// valid UTF-8, a directory replaced while listed. Every file-system call
// goes through `env` (concurrently, from the walk's threads).
bool FolderMatchesBaseline(const std::filesystem::path& root, const BaselineView& baseline,
                           int threads = 0, Env& env = Env::Default());

}  // namespace hx
