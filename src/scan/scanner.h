// The vault scanner: what the folder holds right now, as an EntryMap.
//
// ScanVault walks the vault with a small pool of threads (directory listing
// and hashing share it, so both cores stay busy whether the work is a
// no-change scan of 100,000 files or hashing one large one) and returns,
// for every path it syncs, an Entry: kind (file, dir, symlink), and for a
// file its size, executable bit (the owner's x bit), mtime and chunk list.
// Version vectors are left empty (the planner assigns them).
//
// A file's chunks come from the stat cache when its size, mtime, ctime and
// inode are unchanged (index/stat_cache.h); otherwise the file is streamed
// through FastCDC and each chunk's id is computed by the caller's ChunkIdFn.
// Such a file is read with a check that it did not change meanwhile
// (size, mtime and ctime equal before and after, and exactly size bytes
// read); if it did, it is read once more, and if it changed again it is
// reported as unstable rather than recorded with a torn hash.
//
// Racy timestamps: a file modified within the file system's timestamp
// granularity after hx read it would keep its stat. So a file whose mtime or
// ctime is within kRacyWindowNs of the scan's start is hashed but not put
// into the stat cache; the next scan hashes it again.
//
// What is synced and what is not:
//   - `.hx` at the vault root, and whatever .hxignore ignores (scan/ignore.h),
//     are left out; ignored directories are not descended into.
//   - Symlinks are never followed; their target is stored as is (it must be
//     valid UTF-8, else the link is skipped).
//   - Sockets, FIFOs and devices are skipped (listed in `skipped`).
//   - A name that IsValidEntryName rejects (not valid UTF-8) is skipped,
//     with its subtree (listed in `skipped`). '\n' and other control
//     characters are valid: the tree codec escapes them.
//   - Mount points inside the vault are crossed: the vault is the folder
//     tree the user sees.
//   - A directory whose vault-relative path is longer than PATH_MAX (4096
//     bytes) cannot be opened: it is a per-item error.
//   - Empty directories are entries (kind dir). The root itself is not an
//     entry.
// Nothing here aborts the scan except a missing or unreadable vault root, or
// an unreadable .hxignore: an unreadable file or directory is a per-item
// error. A path that vanishes between listing and reading is simply absent.
//
// Thread-safety: ScanVault may be called from any thread; it calls chunk_id
// from its worker threads concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "chunk/fastcdc.h"
#include "index/stat_cache.h"
#include "os/env.h"
#include "scan/baseline.h"
#include "repo/tree.h"
#include "scan/ignore.h"

namespace hx {

// The id of one chunk's plaintext. Called from several threads at once, so
// it must be thread-safe. `bytes` is valid only during the call; the
// function may also consume it (e.g. seal and queue it for upload). A file
// that turns out to be unstable has had some of its chunks passed here too.
using ChunkIdFn = std::function<ObjectId(std::span<const std::uint8_t> bytes)>;

// Takes the next files of a scan in path order (ScanOptions::on_files),
// copies of their paths and entries. Returns false to stop the walk.
using ScannedFilesFn = std::function<bool(std::vector<EntryMap::value_type> files)>;

// Timestamps closer than this to the scan's start are "racy" (see above).
// 2 s covers the coarsest common file system timestamps (FAT).
inline constexpr std::int64_t kRacyWindowNs = 2'000'000'000;

struct ScanOptions {
  // Worker threads (walk and hashing). 0: the number of cores, at most 8.
  int threads = 0;
  // The scan's start for racy-timestamp detection, in ns since the epoch.
  // Unset: `clock`'s wall time when the scan starts. Tests set it.
  std::optional<std::int64_t> now_ns;
  // Every file-system call of the scan goes through `env` (its worker
  // threads call it concurrently). Null: Env::Default().
  Env* env = nullptr;
  // The clock read for now_ns when unset. Null: env's clock.
  Clock* clock = nullptr;
  // Also record what was seen for a scan baseline (scan/baseline.h): set
  // by sync's push and status, whose no-change case it speeds up.
  bool collect_baseline = false;
  // A scoped scan (the agent's batches; unset: the whole vault). Only these
  // vault-relative paths are looked at: the parent directory of each is
  // listed (so the path itself, and its siblings, are seen as they are
  // now), and a path that is a directory is walked whole; the directories
  // on the way to them are listed too. Every other directory is reported
  // as an entry but not descended into. ScanResult::listed_dirs names the
  // directories listed: the result is the truth about their children and
  // knows nothing below the others (sync takes those from the base). No
  // baseline is collected.
  std::optional<std::vector<std::string>> scope;
  // Handed the scan's regular files while it runs, in path (byte) order, as
  // soon as every path before them is known (scan/file_release.h): a first
  // push uploads them while the scan goes on (sync/first_push.h). Called
  // from the walk's threads, one call at a time; the calls together give
  // exactly the files of the result's `entries` (those from the stat cache
  // too), each once and in order; a call may block, holding the walk back.
  // Returning false stops the walk, and the scan fails (KC_SYNC_INTERNAL,
  // category aborted: the caller knows why). Ignored with `scope`.
  ScannedFilesFn on_files;
  // A consuming scan of the whole vault (ScanVault's StatCache&& form, no
  // `scope`; else ignored) keeps what the stat cache is to learn of each
  // file it hashed beside the file's entry, not in stat_changes.put: only
  // the stat (ScanResult::entry_stats), whose chunks are the entry's. A
  // map node, the path again and a copy of the chunk list per file (~18 MB
  // at 100,000 files hashed) become 40 bytes. Write them with the entries
  // (sync's SaveStatCacheOfScan) before the entries change.
  bool cache_stats_in_entries = false;
};

enum class ScanSkipReason : std::uint8_t {
  kInvalidName,           // not valid UTF-8 (IsValidEntryName)
  kSpecialFile,           // socket, FIFO, character or block device
  kInvalidSymlinkTarget,  // a link whose target is not valid UTF-8
};
// "invalid_name", "special_file", "invalid_symlink_target".
std::string_view ToString(ScanSkipReason reason);

struct ScanSkip {
  // The path for display: bytes that are not valid UTF-8 are written as
  // "\xNN" (so this is not necessarily a real path).
  std::string path;
  ScanSkipReason reason;
  friend bool operator==(const ScanSkip&, const ScanSkip&) = default;
};

// A path that exists but could not be read. The caller must keep the base
// state of this path, and for a directory of everything under it, as is:
// it is unknown, not deleted. `error` is KC_SYNC_STATE_FAILED with category
// auth (permission denied), aborted (unstable: it kept changing while being
// read; a later scan will pick it up) or io, and details {path, errno?}.
// `path` is in display form, as in ScanSkip, in the rare case of a name
// that could not even be stat'ed and is not valid UTF-8 (such a name is
// never in the base state).
struct ScanError {
  std::string path;
  Error error;
};

struct ScanStats {
  std::uint64_t files = 0;             // regular files in `entries`
  std::uint64_t dirs = 0;              // directories in `entries`
  std::uint64_t symlinks = 0;          // symlinks in `entries`
  std::uint64_t files_hashed = 0;      // files read (a re-read counts once)
  std::uint64_t bytes_hashed = 0;      // bytes read, re-reads included
  std::uint64_t files_from_cache = 0;  // files whose chunks came from the stat cache
  std::uint64_t ignored = 0;           // paths matched by .hxignore (not counting their contents)
};

struct ScanResult {
  EntryMap entries;
  // What the stat cache should learn from this scan (write it with
  // Index::Transaction::ApplyStatCacheChanges, or ApplyTo an in-memory
  // cache): `put` holds every file read by this scan except racy ones;
  // `remove` every cached path this scan did not confirm. Empty when
  // nothing changed.
  StatCacheChanges stat_changes;
  // With ScanOptions::cache_stats_in_entries: one per regular file of
  // `entries`, in their order, the stat the stat cache is to keep for it
  // with the entry's chunks; mode 0 for none (a racy file, or one whose
  // entry came from the stat cache, which keeps it). stat_changes.put is
  // then empty; its `remove` is as always.
  std::vector<FileStat> entry_stats;
  std::vector<ScanSkip> skipped;  // sorted by path
  std::vector<ScanError> errors;  // sorted by path
  ScanStats stats;
  // The rules that were applied (the planner needs them to tell an ignored
  // base path from a deleted one).
  IgnoreRules ignore_rules;
  // With ScanOptions::collect_baseline: every listed path with its lstat,
  // present only if the scan is fit to be a baseline's claim: no errors, no
  // skipped items, no racy file, and every hashed file's stat as listed.
  std::optional<ScanBaseline> baseline;
  // With ScanOptions::scope: every directory whose children were listed
  // ("" for the root), sorted. The stat cache's `remove` names only
  // children of these.
  std::optional<std::vector<std::string>> listed_dirs;
};

// Scans the vault at `root` (followed if it is a symlink). `cache` is the
// stat cache from the index (may be empty); `cdc` chunks changed files.
// Errors (the whole scan): `root` missing or not a directory ->
// KC_SYNC_STATE_FAILED, category not_found ("the vault folder is missing";
// maybe an unmounted disk); `root` unreadable or unlistable -> category auth
// (permission denied) or io; .hxignore unusable -> see LoadIgnoreFile. An
// empty folder is a valid, empty result.
Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             const StatCache& cache, const FastCdc& cdc, const ChunkIdFn& chunk_id);
// The same scan, the same result, consuming `cache`: each entry is taken
// out of it when its file is listed (its chunk list moved into the entry
// when it is reused, dropped when the file is read again), so the cache
// shrinks as the result grows instead of being held whole beside it (at
// 100,000 files ~16 MB less at the end of the walk). `cache` is left empty.
Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             StatCache&& cache, const FastCdc& cdc, const ChunkIdFn& chunk_id);

}  // namespace hx
