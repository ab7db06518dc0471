// The scanner one directory at a time: for a caller that compares the
// folder with what it knew directory by directory (sync's streaming
// comparison, sync/local_changes_stream.h) and so never holds a map of
// every path.
//
// Each call lists one directory and hashes its changed files with exactly
// the rules and the code of ScanVault (scanner.h; the walk of walk.h): the
// same ignore rules, special files, invalid names, symlinks, unstable
// files, racy window and per-item errors. Its subdirectories are named
// (with the dev and inode the listing saw, checked when each is opened, as
// the walk does) but not listed: the caller scans each in turn. Scanning
// every directory so reached, from the root, finds what one ScanVault of
// the whole vault finds.
//
// The stat cache is given per directory: the rows of the directory's own
// children (a file's chunks are reused while its stat is unchanged).
//
// Thread-safety: a DirectoryScanner is used from one thread; each Scan runs
// the hashing of the directory's changed files on up to
// ScanOptions::threads threads (the caller's included) and calls chunk_id
// from them concurrently. The file system is read through ScanOptions::env.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "index/stat_cache.h"
#include "scan/ignore.h"
#include "scan/scanner.h"

namespace hx {

// What a scan of one directory found.
struct DirectoryScan {
  // False if the directory could not be opened or listed (then `errors`
  // names it, and its base state is unknown: keep it) or vanished since
  // its parent was listed (no error: it is gone).
  bool listed = false;
  // The files and symlinks among its children, sorted by path.
  std::vector<std::pair<std::string, Entry>> entries;
  // The directories among its children, to be scanned next (Scan), sorted
  // by path.
  struct Subdir {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  std::vector<Subdir> subdirs;
  // As ScanResult::stat_changes for this directory's children: `put` the
  // files read (not racy), `remove` the given cache rows not confirmed.
  StatCacheChanges stat_changes;
  std::vector<ScanSkip> skipped;  // sorted by path
  std::vector<ScanError> errors;  // sorted by path
  // As ScanResult::stats for the children listed, except directories:
  // `dirs` is 1 for a subdirectory that was listed (0 for the root), so
  // that the scans of every directory add up (AddScanStats) to ScanVault's.
  ScanStats stats;
  // With ScanOptions::collect_baseline: the children for the baseline
  // (AppendBaselineChild), or nullopt if this directory's part is unfit
  // (ScanResult::baseline: a racy file, a file changed or gone since it was
  // listed, or the directory not listed).
  std::optional<std::string> baseline;
};

// Adds `from`'s counts to `into` (a scan done in parts: each directory's,
// each worker's).
void AddScanStats(ScanStats& into, const ScanStats& from);

class DirectoryScanner {
 public:
  // Opens the vault root and reads its .hxignore. Errors: as ScanVault's
  // for the root and .hxignore. ScanOptions::scope is not used.
  static Result<std::unique_ptr<DirectoryScanner>> Open(const std::filesystem::path& root,
                                                        const ScanOptions& options,
                                                        const FastCdc& cdc,
                                                        const ChunkIdFn& chunk_id);
  ~DirectoryScanner();
  DirectoryScanner(const DirectoryScanner&) = delete;
  DirectoryScanner& operator=(const DirectoryScanner&) = delete;

  // The rules every Scan applies (read once, by Open).
  const IgnoreRules& ignore_rules() const;

  // Scans the vault root; `cache` holds the stat cache rows of its
  // children (consumed). A root that cannot be listed is an error (as
  // ScanVault's), not a DirectoryScan.
  Result<DirectoryScan> ScanRoot(StatCache&& cache);
  // Scans `dir`, a subdirectory named by an earlier scan; `cache` holds the
  // rows of its children (consumed).
  DirectoryScan Scan(const DirectoryScan::Subdir& dir, StatCache&& cache);

  struct Impl;
  explicit DirectoryScanner(std::unique_ptr<Impl> impl);

 private:
  DirectoryScan ScanOne(DirectoryScan::Subdir dir, StatCache&& cache);

  std::unique_ptr<Impl> impl_;
};

}  // namespace hx
