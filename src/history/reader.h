// The store's history as hx sync log, restore, diff and verify read it:
// the snapshots reachable from head.json (following each snapshot's
// parents), the object locations their bodies record, and the trees of any
// one of them. Internal to the history module.
//
// Everything here comes from the store and is untrusted: snapshots are read
// with ReadSnapshot (bounded, authenticated, key fingerprint checked), trees
// through the sync fetcher (OpenObject: authenticated, bounded, hashed to
// their id) and DecodeTree (strict), a history is at most
// kMaxHistorySnapshots snapshots, a flattened tree at most
// kMaxFlattenedEntries entries and kMaxTreeDepth deep, and the decoded-tree
// cache at most kMaxCachedTrees trees.
//
// Snapshot specs (what --at, diff's arguments and log's cursor accept):
//   - a full snapshot id (64 hex) or a unique prefix of at least 6 hex
//     digits;
//   - a seq: "#12", or "12" (digits only, fewer than 12 of them; six or more
//     digits that also start a snapshot id are refused as ambiguous);
//   - a time, UTC: "2026-12-06", "2026-12-06T08:04", "2026-12-06T08:04:38"
//     (a space may replace the T; a trailing Z is allowed): the newest
//     snapshot created at or before it.
//
// Thread-safety: one reader per operation, on its session's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "meta/head.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "repo/tree.h"
#include "sync/fetcher.h"
#include "sync/resolve.h"  // ContentId: log's content id of a version
#include "sync/session.h"

namespace hx {

// Decoded trees kept for path lookups; the cache is emptied when full.
inline constexpr std::size_t kMaxCachedTrees = 4096;

// One snapshot as the history lists it (its body without the locations).
struct SnapshotInfo {
  std::string id;
  std::uint64_t seq = 0;
  std::int64_t created_ms = 0;
  std::string author;
  std::vector<std::string> parents;
  ObjectId root{};
  SnapshotSummary summary;
};

// A path's entry in one snapshot, with the id of the tree beneath it (a
// directory's listing; tombstones beneath a deleted directory).
struct PathVersion {
  Entry entry;
  std::optional<ObjectId> subtree;
};

// The "<date>" of a restored copy's name: "2026-12-06 08.04.38" (no ':').
std::string FormatRestoreStamp(std::int64_t ms);
// Parses a time spec (see above) to ms since the epoch; nullopt if it is
// not one.
std::optional<std::int64_t> ParseSnapshotTime(std::string_view text);

// OK if `path` is a vault content path a user may name (relative, '/'
// separated, no "." or "..", not inside .hx/); else KC_SYNC_INPUT_INVALID
// naming it.
Status CheckUserPath(std::string_view path);

class HistoryReader {
 public:
  // Borrows the session, which must outlive the reader.
  explicit HistoryReader(Session& s);

  // The store's head (nullopt: an empty vault). Read once.
  Result<std::optional<Head>> ReadHeadOnce();

  // Newest first (by seq, then id): up to `limit` snapshots of the head's
  // history after skipping `offset`, reading only the bodies it needs
  // (offset + limit + the parents waiting in line). *more: whether older
  // snapshots remain. Bodies' locations are not kept. A parent a prune
  // deleted (prune.json) may hide retained snapshots below it: the page is
  // then taken from LoadAll.
  Result<std::vector<SnapshotInfo>> Page(std::size_t offset, std::size_t limit, bool* more);

  // Reads every snapshot of the head's history (one GET each), newest
  // first, and hands every location their bodies record to the fetcher.
  // Idempotent. A snapshot other than the head's that is missing or does
  // not read (truncated, tampered) is left out and described in problems()
  // (one a prune deleted, as prune.json lists it, is left out silently);
  // since it hides its parents, the store's listing of snapshots/ is then
  // read (one List) to find the older history. The head's snapshot failing,
  // or any other store error, fails the call.
  Status LoadAll();
  // What LoadAll left out, for the report's warnings.
  const std::vector<std::string>& problems() const { return problems_; }
  // After LoadAll: the history, newest first.
  const std::vector<SnapshotInfo>& snapshots() const { return all_; }

  // After LoadAll: the snapshot `spec` names (see above). Errors:
  // KC_SYNC_INPUT_INVALID (not_found) naming the spec when nothing matches,
  // (invalid_input) for an ambiguous prefix.
  Result<const SnapshotInfo*> Resolve(std::string_view spec) const;
  // After LoadAll: the snapshot with this id, or null.
  const SnapshotInfo* Find(std::string_view id) const;

  // Whether `info` (a snapshot Page or LoadAll gave) is a prune's
  // relocation (history/prune.h): one parent, the parent's root, no change.
  // Page and LoadAll read a snapshot's parents before they give it, so the
  // answer needs no request.
  bool IsRelocation(const SnapshotInfo& info) const;

  // `path`'s entry in the snapshot whose root tree is `root` (nullopt: the
  // path is not there). Loads the trees on the way (cached). "" is refused.
  Result<std::optional<PathVersion>> VersionAt(const ObjectId& root, std::string_view path);

  // The entries beneath the tree `subtree`, relative to it (bounded as
  // FlattenTrees).
  Result<EntryMap> Flatten(const ObjectId& subtree);

  // Loads, opens and decodes one tree (through the cache).
  Result<std::shared_ptr<const Tree>> LoadTree(const ObjectId& id);

  ObjectFetcher& fetcher() { return *fetcher_; }
  std::uint64_t snapshots_read() const { return snapshots_read_; }
  std::uint64_t trees_loaded() const { return trees_loaded_; }

 private:
  Result<Snapshot> Read(const std::string& id);

  Session& s_;
  std::unique_ptr<ObjectFetcher> fetcher_;
  PrunedSnapshots pruned_;
  bool head_read_ = false;
  std::optional<Head> head_;
  bool loaded_ = false;
  std::vector<SnapshotInfo> all_;
  std::vector<std::string> problems_;
  std::map<std::string, std::size_t> by_id_;
  std::map<ObjectId, std::shared_ptr<const Tree>> trees_;
  // The root of every snapshot read (IsRelocation); at most
  // kMaxHistorySnapshots of them.
  std::map<std::string, ObjectId, std::less<>> roots_;
  std::uint64_t snapshots_read_ = 0;
  std::uint64_t trees_loaded_ = 0;
};

}  // namespace hx
