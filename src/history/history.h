// The vault's history, for people: every push keeps a snapshot on the store
// (meta/snapshot.h); this module lists them (hx sync log), brings back a file
// or a directory as it was in one (hx sync restore), and says what changed
// between two (hx sync diff). Read-only on the store; restore writes only
// new paths, through the vault's symlink-safe VaultDir (os/vault_dir.h).
//
// Snapshot specs (--at, diff's arguments): see history/reader.h.
//
// Every failure is an hx::Error with a KC_SYNC_* code: a spec that names no
// snapshot or an unsafe path is KC_SYNC_INPUT_INVALID; a damaged store
// record the operation needs is KC_SYNC_STATE_FAILED or KC_SYNC_APPLY_FAILED
// naming it (run hx sync verify); store errors keep their codes.
//
// Thread-safety: as every operation of sync/engine.h (the vault's process
// lock is held while one runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"
#include "versions/versions.h"

namespace hx {

// ---- hx sync log ----------------------------------------------------------

struct LogOptions {
  // With a path: only the snapshots that changed it (vault-relative, '/').
  std::string path;
  std::size_t limit = 20;  // at most kMaxLogLimit
  std::size_t offset = 0;
};
inline constexpr std::size_t kMaxLogLimit = 10'000;

struct LogEntry {
  std::uint64_t seq = 0;
  std::string snapshot_id;
  std::int64_t created_ms = 0;
  std::string author;  // node id of the device that pushed it
  std::uint64_t added = 0, modified = 0, deleted = 0;
  std::uint64_t files = 0, bytes = 0;
  // Marked forgotten by a forget record (history/forget.h): still there
  // until a prune removes it.
  bool forgotten = false;
  // A prune's relocation (HistoryReader::IsRelocation): the same files as
  // its parent, listing objects a repack moved.
  bool relocation = false;
  // With a path: the path's version in this snapshot: "file", "dir",
  // "symlink" or "deleted"; for a file its size and ContentId.
  std::optional<std::string> kind;
  std::optional<std::uint64_t> size;
  std::optional<std::string> content_id;
};

struct LogReport {
  std::string target;
  std::string path;  // empty: the whole vault
  std::vector<LogEntry> snapshots;  // newest first
  std::size_t offset = 0;
  // The offset of the next page (the cursor), if there is one.
  std::optional<std::size_t> next_offset;
  std::uint64_t snapshots_read = 0;
  // Snapshots left out because they do not read (HistoryReader::problems).
  std::vector<std::string> warnings;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Without a path: reads only the snapshot bodies of the page (plus the
// parents waiting in line). With a path: reads the whole history and the
// trees on the path in each snapshot (cached by id: an unchanged directory
// is read once).
Result<LogReport> SyncLog(const std::filesystem::path& vault, const SyncOptions& options,
                          const LogOptions& log);

// ---- hx sync restore ------------------------------------------------------

struct RestoreOptions {
  std::string path;  // vault-relative, the file or directory to bring back
  // The snapshot spec; empty: the head.
  std::string at;
  // Where to write; empty: beside the current path in the vault. A
  // relative directory is resolved against SyncOptions::cwd.
  std::string to;
  // From this device's history cache (.hx/versions/, versions/versions.h)
  // instead of the store: offline, no passphrase. `at` is then empty (the
  // version most recently replaced) or a UTC time (the version the path
  // held then: the first one replaced after it).
  bool local = false;
};

struct RestoreReport {
  std::string path;
  std::string snapshot_id;  // the snapshot --at named
  std::uint64_t seq = 0;
  // The snapshot the version came from: --at's, or for a path deleted there
  // the newest older snapshot that still had it.
  std::string from_snapshot_id;
  std::uint64_t from_seq = 0;
  std::int64_t from_created_ms = 0;
  std::string kind;  // "file", "dir", "symlink"
  // Where it was written: vault-relative when in the vault, else absolute.
  std::string written_to;
  bool in_vault = true;
  std::uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
  std::vector<std::string> warnings;  // as LogReport's
  // RestoreOptions::local: the cached version it came from (vault-relative,
  // under .hx/versions/) and when a pull replaced it; the snapshot fields
  // are then empty. The JSON carries "from_version" only when set.
  std::string from_version;
  std::int64_t from_replaced_ms = 0;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Never replaces anything: the version is written as
// "<path> (restored <date>)" beside the current path (the date is the
// version's snapshot time, UTC, "2026-12-06 08.04.38"; " 2", " 3", ... is
// added while that name is taken), or with --to as DIR/<last component of
// path> (or that restored name if DIR already has it). Files are assembled
// in .hx/staging/ (in DIR itself for a DIR outside the vault), made durable,
// then renamed into place refusing to replace (renameat2 RENAME_NOREPLACE),
// every step beneath the destination's root descriptor without following a
// symlink; a vault path never leads into .hx/. The next push publishes a
// restored copy like any new file. A path deleted in the named snapshot is
// restored as it was in the newest older snapshot that had it (a deleted
// directory with all its files, as they were just before the deletion).
// With RestoreOptions::local the version is copied (never linked: an edit
// of the restored file must not change the cache) from the history cache,
// the same way; no store is opened. No cached version of the path (or none
// replaced after --at): KC_SYNC_INPUT_INVALID, not_found, pointing to
// 'hx sync versions' and to a restore from the store.
Result<RestoreReport> SyncRestore(const std::filesystem::path& vault, const SyncOptions& options,
                                  const RestoreOptions& restore);

// ---- hx sync versions -----------------------------------------------------

// The local history cache (versions/versions.h): every version pulls kept
// on this device (of `path` only, if not empty), newest first. Reads only
// the vault folder: offline, no passphrase.
struct VersionsReport {
  std::string path;  // the filter ("" : all)
  std::vector<StoredVersion> versions;
  std::uint64_t bytes = 0;      // the listed versions' sizes
  std::uint64_t max_bytes = 0;  // the cache's cap (0: off)
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};
Result<VersionsReport> SyncVersions(const std::filesystem::path& vault, const std::string& path);

// ---- hx sync diff ---------------------------------------------------------

struct DiffReport {
  std::string from_snapshot_id, to_snapshot_id;
  std::uint64_t from_seq = 0, to_seq = 0;
  // Live paths (files, symlinks, directories) added, changed (kind or
  // content) and deleted from `from` to `to`, sorted; each list capped at
  // kMaxReportedPaths (the counts are complete).
  std::vector<std::string> added, modified, deleted;
  std::uint64_t added_count = 0, modified_count = 0, deleted_count = 0;
  std::vector<std::string> warnings;  // as LogReport's
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

Result<DiffReport> SyncDiff(const std::filesystem::path& vault, const SyncOptions& options,
                            const std::string& from, const std::string& to);

}  // namespace hx
