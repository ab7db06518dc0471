// The comparison of the folder with the base directory by directory: what
// DetectLocalChangesOfScan (internal.h) finds over a whole ScanVault and a
// whole base, found while holding one directory at a time and the change.
//
// The walk goes down the folder one directory at a time (scan/: the
// scanner's own listing and hashing, DirectoryScanner), and for each takes
// that directory's stat cache rows and base rows from the index (index/:
// per-directory range reads), compares (sync/: here), and keeps only what
// differs: the change lists, the changed entries, the stat cache changes
// and the scan's issues. A base directory the folder no longer has is read
// below it, row by row, only to list its deletions. Nothing holds a map of
// every path: at 100,000 files in 1,000 directories, the largest
// directory's rows and the change.
//
// The rules are DetectLocalChangesOfScan's: a base path the scan lacks is
// deleted unless the scan could not read it (or a directory above it) or
// .hxignore now ignores it; a base directory replaced by a file or a
// symlink has every live path below it deleted whatever the scan or
// .hxignore says; tombstones stay as they are; a changed or new path takes
// its base vector bumped for `node` (a new path {node: 1}). The property
// test in local_changes_stream_test.cc holds the two to the byte.
//
// Threading: the index is read on the calling thread only (one connection,
// as Index requires); the scanner's workers hash the changed files of each
// directory in parallel and never touch the index.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "index/index.h"
#include "index/stat_cache.h"
#include "scan/baseline.h"
#include "scan/ignore.h"
#include "scan/scanner.h"
#include "sync/planner.h"

namespace hx {

struct StreamedLocalChanges {
  // added, modified and deleted in path order, as DetectLocalChangesOfScan
  // gives them; `state` holds only the changed paths' new entries (vectors
  // bumped; a deleted path's tombstone), and only when asked for.
  LocalChanges changes;
  // As ScanResult::stat_changes for the whole folder.
  StatCacheChanges stat_changes;
  std::vector<ScanSkip> skipped;  // sorted by path
  std::vector<ScanError> errors;  // sorted by path
  ScanStats stats;
  // With ScanOptions::collect_baseline, when the folder has no local change
  // and the scan was fit to be one (ScanResult::baseline); its blocks are
  // dropped at the first change found (only an unchanged folder's baseline
  // is saved by status).
  std::optional<ScanBaseline> baseline;
  // The folder's .hxignore, as the scan applied it.
  IgnoreRules ignore_rules;
  // With a KeepScannedFn: the scan's entries (as ScanVault's, no vectors)
  // of the paths it accepts and of every added or modified path, and the
  // stat cache rows, as they were before this scan, of the files it
  // accepts. What a pull re-checks before it touches a path (sync/apply.h)
  // and where it finds local copies of chunks (sync/local_chunks.h).
  EntryMap kept_scan;
  StatCache kept_stats;
};

// Which scanned paths StreamLocalChanges keeps the scan's view of (a pull:
// the paths where the store's state differs from the base).
using KeepScannedFn = std::function<bool(const std::string& path)>;

// Compares the folder at `vault` with the base and stat cache in `index`,
// directory by directory (above). `options` as for ScanVault (scope not
// used); `with_entries` fills changes.state; `keep` (may be null) fills
// kept_scan and kept_stats. Errors: the scan's (a missing or unlistable
// vault root, an unusable .hxignore) and the index's.
Result<StreamedLocalChanges> StreamLocalChanges(Index& index, const std::filesystem::path& vault,
                                                const ScanOptions& options, const FastCdc& cdc,
                                                const ChunkIdFn& chunk_id, std::string_view node,
                                                bool with_entries,
                                                const KeepScannedFn& keep = nullptr);

}  // namespace hx
