// Applies the remote side of a pull plan to the vault folder, item by item.
//
// Each item is applied atomically and only if the local path is still what
// the scan saw (an edit made during the pull is a local change, never
// something to overwrite): files are assembled in .hx/staging/ (a chunk a
// local file holds is read from there, sync/local_chunks.h; the others are
// fetched), given their mode and mtime, made durable with an fdatasync each
// on a worker pool (sync/apply_sync.h), then renamed into place, and every
// directory renamed into is fsynced once at the end; deletions re-check
// before unlinking. A failure (a corrupt object, a full disk) fails that
// item and the pull goes on with the others.
//
// Every write goes through a VaultDir (os/vault_dir.h) and input.env: the
// re-check stats the leaf relative to the descriptor of the directory it is
// then renamed into or removed from, so a parent that is a symlink (one the
// scan never saw, e.g. hidden by .hxignore, or one swapped in while the pull
// runs) fails that item (KC_SYNC_APPLY_FAILED, Category::kConflict, naming
// the path) and nothing is written outside the vault. A path that would
// lead into .hx/ fails its item the same way (kInvalidInput).
//
// A merge policy's losing local version (ApplyInput::displace) is kept by
// the same step that replaces it (sync/displace.h), so that a failure at any
// point leaves the old or the new version at the path and the loser at its
// new name too — never neither: the remote version is staged and made
// durable, the path re-checked, then the local version given its new name
// as the remote one takes the path (a hard link then a rename for a file or
// symlink; RENAME_EXCHANGE for a directory on either side; a rename aside
// where the file system has neither). A remote deletion's loser is renamed
// to its new name (one atomic step).
//
// Order: every file and symlink is staged first (in path order, so in
// directory order; nothing in the vault changes yet, so every local file a
// chunk can be read from is still there), then file and symlink removals,
// then directory removals (deepest first), then directory creations
// (shallowest first), then the staged files and symlinks are moved into
// place — so a path that changes kind is freed before it is reused (a
// displaced version is not freed first: its replacement takes its place in
// one step).
//
// Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/stat_cache.h"
#include "os/env.h"
#include "scan/scanner.h"
#include "sync/displace.h"
#include "sync/engine.h"
#include "sync/fetcher.h"
#include "sync/local_chunks.h"
#include "sync/planner.h"

namespace hx {

// The fetcher's read-ahead during ApplyPlan (sync/fetcher.h): ranged reads in
// flight at once and the bytes read ahead of the writes. Against a distant
// store (60 ms round trips, 100 Mbit/s) 6 reads of up to 4 MiB keep the link
// busy; the window bounds what a pull holds for it, and what a pull killed
// midway has read and must read again (with one 8 MiB read of its own).
inline constexpr int kPullReadAheadRequests = 6;
inline constexpr std::uint64_t kPullReadAheadWindowBytes = std::uint64_t{32} << 20;
// The window is what is left of a budget once the plan is counted: a pull
// holds about kPullBytesPerItem for each item beside the window (the item,
// the remote entry, its object's location, its outcome: ~600 bytes at
// 100,000 files), so a pull of a few large files reads 32 MiB ahead and a
// first pull of 100,000 small ones ~7 MiB (its window had been a third of
// its peak), never less than kPullReadAheadMinWindowBytes.
inline constexpr std::uint64_t kPullReadAheadBudgetBytes = std::uint64_t{64} << 20;
inline constexpr std::uint64_t kPullBytesPerItem = 600;
inline constexpr std::uint64_t kPullReadAheadMinWindowBytes = std::uint64_t{4} << 20;
std::uint64_t PullReadAheadWindow(std::size_t items);

enum class ApplyStatus { kApplied, kSkippedLocalChange, kSkippedNotEmpty, kFailed };
std::string_view ToString(ApplyStatus status);

// The outcome of one planned item (its path and action are the item's). Kept
// small: a pull of 100,000 files holds one per file.
struct AppliedItem {
  ApplyStatus status = ApplyStatus::kApplied;
  // Why the item failed (kFailed only). Out of line: few items fail, and an
  // Error is a hundred bytes.
  std::unique_ptr<Error> error;
  // For applied writes: the file's stat after the rename (for the stat cache).
  std::optional<FileStat> stat;
  // For a displaced local version (ApplyInput::displace): where it is now
  // (vault-relative). Out of line: few items are displaced.
  std::unique_ptr<std::string> displaced_to;
};

struct ApplyInput {
  std::filesystem::path vault;
  std::filesystem::path staging;
  // The scan the plan was made from: the re-check compares against it.
  const ScanResult* scan = nullptr;
  // The stat cache the scan started from (what it saw for files it did not
  // re-read).
  const StatCache* cache = nullptr;
  // Its Checkpoint("pull.apply_item") runs after each installed file.
  const SyncOptions* checkpoint = nullptr;
  // Every local file-system call goes through it (Session::env).
  Env* env = &Env::Default();
  // Paths whose local version an item replaces and that must be kept
  // elsewhere (see the file comment): a file or symlink (as scanned), or a
  // directory that a file or symlink replaces (it is kept with everything
  // in it). Each such path has a kTakeRemote item in the plan.
  const std::map<std::string, Displacement>* displace = nullptr;
  // The local history cache (versions/versions.h): when set, the local
  // file or symlink an item replaces or deletes (one `displace` does not
  // keep) is kept at VersionRel(path, *keep_versions_at_ms) by the same
  // step (sync/displace.h, never fsynced: a cache), so a kill at any point
  // leaves it at its path or in the cache.
  std::optional<std::int64_t> keep_versions_at_ms = std::nullopt;
  // When set (the vault's chunk id: ComputeObjectId of a kChunk), a chunk
  // that a local file held when scanned is read from there and checked
  // against its id instead of fetched (sync/local_chunks.h); what it saved
  // is added to *local_chunk_stats (if set).
  ChunkIdFn chunk_id = nullptr;
  // The files this device last synced (the base), also looked in for
  // chunks (with chunk_id; may be null).
  const EntryMap* base = nullptr;
  LocalChunkStats* local_chunk_stats = nullptr;
};

// Applies every kTakeRemote and kJoin item of `items` (conflicts must have
// been resolved or refused before). Returns one AppliedItem per item, in the
// order of `items`.
std::vector<AppliedItem> ApplyPlan(const ApplyInput& input, const std::vector<PlannedItem>& items,
                                   ObjectFetcher& fetcher);

// Whether the local path is still what the scan saw (the re-check every
// applied item passes): the same kind and, for files, the same stat; absent
// if the scan saw nothing there. A path whose parent is now a symlink or a
// path that cannot be looked at (EIO, EACCES, ...) is an error naming the
// path (VaultDir's: kConflict for a symlink on the way, the errno's
// category otherwise), never "not as scanned".
Result<bool> StillAsScanned(const ApplyInput& input, const std::string& path);

// Assembles the remote version of a file or symlink in input.staging and
// makes it durable; returns the staged path (the caller moves it somewhere,
// e.g. into the archive). Errors: the fetch's, KC_SYNC_APPLY_FAILED for a
// bad chunk or a local I/O failure, KC_SYNC_INTERNAL for other kinds.
Result<std::filesystem::path> StageRemoteVersion(const ApplyInput& input, const Entry& remote,
                                                 ObjectFetcher& fetcher);

}  // namespace hx
