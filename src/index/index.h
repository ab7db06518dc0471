// The local index of one vault: what this device knows that it need not
// re-derive on every sync, in a SQLite database at <vault>/.hx/index.sqlite.
//
// It is a cache with transactions, never a source of truth: everything in it
// can be rebuilt from the folder and the store (deleting the file makes hx
// rebuild it). It holds
//   - meta: key/values (the kMeta* keys below; values are text, JSON where
//     noted), among them a copy of the store's vault.json;
//   - the base state: for each path, the Entry of the last snapshot this
//     device synced (what a pull or push starts from);
//   - the base tree ids: for each directory path ("" = the root), the id of
//     its tree in that snapshot, so a pull skips subtrees whose ids did not
//     change;
//   - the stat cache (stat_cache.h): so a scan hashes only changed files;
//   - the object index: object id -> ObjectLocation for every object the
//     store is known to hold, learned from snapshot bodies this device read
//     or wrote, and the ids of the snapshots whose bodies were imported;
//   - the unpublished packs: packs this device uploaded (durably, the
//     store's Put returned) that no published snapshot lists yet, with the
//     objects in them, so that a push interrupted by a crash, a reboot or a
//     lost connection uploads on its rerun only what is missing. They are
//     not the object index: the store may have lost such a pack (a restore
//     from a backup), so a push trusts one only after seeing it on the
//     store (sync/uploader.h), and a push that publishes forgets them all.
//
// Schema (user_version = kIndexSchemaVersion, application_id = 0x68780001;
// WAL journal, synchronous=FULL so that a committed base state survives a
// power cut and matches the head it was synced with):
//   meta(key TEXT PK, value TEXT)
//   base(path TEXT PK, kind INT (0 file, 1 dir, 2 symlink, 3 tombstone),
//        size INT, flags INT (bit 0: executable), mtime_ns INT,
//        chunks BLOB (row_codec.h chunk list, NULL if none),
//        target TEXT (symlink target, NULL if none),
//        vv BLOB (row_codec.h version vector))
//   base_trees(path TEXT PK, id BLOB(32))
//   stat_cache(path TEXT PK, size INT, mtime_ns INT, ctime_ns INT, inode INT,
//              mode INT, chunks BLOB)
//   blobs(n INTEGER PK, id BLOB(32) UNIQUE)      -- pack ids, numbered
//   objects(id BLOB(32) PK, kind INT (ObjectKind), blob INT (blobs.n),
//           byte_offset INT, byte_length INT, raw_length INT)
//   snapshots(id TEXT PK, seq INT)
//   unpublished_packs(id BLOB(32) PK, size INT)        -- since version 2
//   unpublished_objects(id BLOB(32) PK, kind INT, pack BLOB(32),
//                       byte_offset INT, byte_length INT, raw_length INT)
// An index of version 1 (hx before resumable pushes) is migrated to version
// 2 when opened: the two tables are added, empty, in one transaction. An hx
// that reads only version 1 refuses a version 2 index (unsupported: delete
// the file and it is rebuilt).
// Path-keyed tables are WITHOUT ROWID, so one SELECT returns the rows in
// path (byte) order, which builds the std::map in linear time. uint64
// values are stored as their int64 bit pattern.
//
// Errors: every SQLite failure is KC_SYNC_STATE_FAILED naming the file, with
// category no_space (disk full), corrupt (a damaged or foreign file, or a
// row that does not decode; the message says that deleting the file makes
// hx rebuild it), locked (another process holds the database) or io.
//
// Thread-safety: not thread-safe; one Index per vault per process, used
// from one thread at a time (the caller holds the vault's flock, so no other
// hx process writes the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "index/stat_cache.h"
#include "repo/tree.h"
#include "repo/vault_context.h"

namespace hx {

inline constexpr int kIndexSchemaVersion = 2;

// Well-known meta keys.
inline constexpr std::string_view kMetaBaseSnapshotId = "base_snapshot_id";  // 64 hex
inline constexpr std::string_view kMetaBaseHeadSeq = "base_head_seq";        // decimal
inline constexpr std::string_view kMetaMaxHeadSeq =
    "max_head_seq";  // highest seq seen (replay guard)
inline constexpr std::string_view kMetaLastPushMs = "last_push_ms";  // decimal
inline constexpr std::string_view kMetaLastPullMs = "last_pull_ms";  // decimal
inline constexpr std::string_view kMetaLastError = "last_error";     // Error::ToJson()
inline constexpr std::string_view kMetaCounters = "counters";        // JSON object for status
// The exact bytes of the store's vault.json (canonical JSON), recorded at
// init/join and refreshed by every session that reads a different one: what
// `hx sync repair` writes back if the store loses it (sync/repair.h).
inline constexpr std::string_view kMetaVaultConfig = "vault_config";
// 32 hex digits, random, renewed by every committed transaction that wrote
// a base row (PutBase, DeleteBase, ClearBase, UpdateBase*, ReplaceBase): it
// names one state of the base, so a cache derived from the base (the scan
// baseline, scan/baseline.h) can tell that it still describes it. Absent
// until the base is first written.
inline constexpr std::string_view kMetaBaseToken = "base_token";

// Directory path ("" for the root) -> the id of its tree in the base snapshot.
using TreeIdMap = std::map<std::string, ObjectId>;

// A pack this device uploaded that no published snapshot lists yet.
struct UnpublishedPack {
  std::string blob_id;  // 64 lowercase hex
  std::uint64_t size = 0;  // bytes
  friend bool operator==(const UnpublishedPack&, const UnpublishedPack&) = default;
};

struct ImportedSnapshot {
  std::string snapshot_id;
  std::uint64_t seq = 0;
  friend bool operator==(const ImportedSnapshot&, const ImportedSnapshot&) = default;
};

class Index {
 public:
  class Transaction;

  // Opens the index at `file`, creating it (and its schema) if the file is
  // missing or empty; the directory must exist. Errors: a file written by a
  // newer hx (user_version above kIndexSchemaVersion) -> category
  // unsupported; a file that is not an SQLite database or not an hx index ->
  // category corrupt with the rebuild hint; otherwise as above.
  static Result<std::unique_ptr<Index>> Open(const std::filesystem::path& file);
  // For Open() only: Impl is defined in index.cc, so no one else can make one.
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const std::filesystem::path& file() const;

  // --- Reads (see the latest committed state, or the open transaction's).
  Result<std::optional<std::string>> GetMeta(std::string_view key);
  // The value parsed as a decimal uint64; a value that is not one is corrupt.
  Result<std::optional<std::uint64_t>> GetMetaUint64(std::string_view key);

  // The whole base state / stat cache / base tree ids. A row that does not
  // decode (row_codec.h), or a file whose chunk sizes do not sum to its size,
  // is category corrupt naming the path.
  Result<EntryMap> LoadBase();
  Result<StatCache> LoadStatCache();
  Result<TreeIdMap> LoadBaseTrees();

  // --- Per-directory reads (index_dir.cc): what a comparison of the folder
  // with the base directory by directory needs (sync/local_changes_stream.h),
  // without a whole table in memory. `dir` is a directory path, "" for the
  // root. Each is a range read of the table's path key: a directory's rows
  // are every path that starts with "dir/", and its children's are those
  // with no further '/', found by skipping each child directory's
  // descendants with one seek. Rows come in path (byte) order. A row that
  // does not decode is category corrupt naming the path, as for the loads.

  // The base rows of `dir`'s children (not their descendants).
  Result<std::vector<std::pair<std::string, Entry>>> LoadBaseChildren(std::string_view dir);
  // Calls visit(path, entry) for every base row strictly below `dir`;
  // stops at the first error, its own or visit's. `visit` must not use the
  // index.
  Status ForEachBaseBelow(std::string_view dir,
                          const std::function<Status(std::string_view, Entry&&)>& visit);
  // The base tree id of directory `dir`; nullopt if the base has none.
  Result<std::optional<ObjectId>> FindBaseTree(std::string_view dir);

  struct StatCacheChildren {
    StatCache files;  // the rows of `dir`'s children
    // The names of `dir`'s children that have rows below them (directories
    // once; they may be anything now), sorted.
    std::vector<std::string> dirs;
  };
  Result<StatCacheChildren> LoadStatCacheChildren(std::string_view dir);
  // The paths of every stat cache row strictly below `dir`, sorted.
  Result<std::vector<std::string>> StatCachePathsBelow(std::string_view dir);

  Result<std::optional<ObjectLocation>> FindObject(const ObjectId& id);
  Result<bool> HasObject(const ObjectId& id);
  // One answer per id, in order (dedup of a push's chunk ids).
  Result<std::vector<bool>> HasObjects(std::span<const ObjectId> ids);
  Result<std::uint64_t> CountObjects();

  // Where an unpublished pack holds `id` (nullopt: none does). Not proof
  // that the store holds it: see the class comment.
  Result<std::optional<ObjectLocation>> FindUnpublishedObject(const ObjectId& id);
  // Every unpublished pack, by id.
  Result<std::vector<UnpublishedPack>> LoadUnpublishedPacks();

  Result<bool> IsSnapshotImported(std::string_view snapshot_id);
  // Ordered by seq, then id.
  Result<std::vector<ImportedSnapshot>> LoadImportedSnapshots();

  // --- Writes: all go through a Transaction.
  // Starts the transaction (it takes SQLite's write lock at once). Only one
  // may be open at a time: a second Begin() is KC_SYNC_INTERNAL. The Index
  // must outlive the Transaction.
  Result<Transaction> Begin();
  // Sets one meta value in a transaction of its own.
  Status SetMeta(std::string_view key, std::string_view value);

 private:
  std::unique_ptr<Impl> impl_;
};

// An open write transaction. Destroying it without Commit() rolls back every
// change made through it. After Commit() (successful or not) every method
// returns KC_SYNC_INTERNAL.
class Index::Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status SetMeta(std::string_view key, std::string_view value);
  Status DeleteMeta(std::string_view key);

  // Base state. Incremental writes cost one row per changed path, so a sync
  // that changed 1% of 100,000 paths writes ~1,000 rows: use UpdateBase with
  // the map loaded at the start and the map to store. Node ids of version
  // vectors must be 32 lowercase hex digits (else KC_SYNC_INTERNAL).
  Status PutBase(std::string_view path, const Entry& entry);
  Status DeleteBase(std::string_view path);
  Status ClearBase();
  // Makes the stored base equal `after`, given that it currently equals
  // `before`: deletes paths missing from `after`, writes paths that are new
  // or whose Entry differs (operator==), leaves the rest untouched.
  Status UpdateBase(const EntryMap& before, const EntryMap& after);
  // The same for a caller that knows which paths changed: each of `paths`
  // is written as in `after`, or deleted if `after` lacks it; every other
  // row is left alone (the caller guarantees it equals `after`).
  Status UpdateBasePaths(const EntryMap& after, const std::vector<std::string>& paths);
  // ClearBase() then PutBase() for every entry.
  Status ReplaceBase(const EntryMap& base);

  Status PutBaseTree(std::string_view dir_path, const ObjectId& id);
  Status DeleteBaseTree(std::string_view dir_path);
  Status UpdateBaseTrees(const TreeIdMap& before, const TreeIdMap& after);
  Status ReplaceBaseTrees(const TreeIdMap& trees);

  Status PutStat(std::string_view path, const StatCacheEntry& entry);
  Status DeleteStat(std::string_view path);
  // Writes a scan's delta (ScanResult::stat_changes): one row per change.
  Status ApplyStatCacheChanges(const StatCacheChanges& changes);
  // As UpdateBase, for two whole caches.
  Status UpdateStatCache(const StatCache& before, const StatCache& after);
  Status ReplaceStatCache(const StatCache& cache);

  // Records where objects live. An id already indexed takes the new
  // location: callers add locations oldest snapshot first (a pull's are the
  // newest of what it imported), and after a prune only the newest copy of
  // an object is sure to be kept (docs/ARCHITECTURE.md, "Retention and
  // prune"). Preconditions (else KC_SYNC_INTERNAL):
  // blob_id is 64 lowercase hex, kind is a known ObjectKind.
  Status AddObjects(std::span<const ObjectLocation> locations);
  // Forgets every object, pack and imported snapshot (together: a snapshot
  // marked imported must have its objects indexed).
  Status ClearObjects();
  // Forgets every object located in the pack `blob_id` (a prune condemned or
  // deleted it): the next push packs them again where it needs them.
  Status ForgetObjectsInPack(std::string_view blob_id);
  Status MarkSnapshotImported(std::string_view snapshot_id, std::uint64_t seq);

  // Records an uploaded pack of `size` bytes and the objects in it (each
  // location's blob_id must be `pack.blob_id`; an object already recorded
  // in another unpublished pack keeps that one). Preconditions as
  // AddObjects, else KC_SYNC_INTERNAL.
  Status AddUnpublishedPack(const UnpublishedPack& pack,
                            std::span<const ObjectLocation> locations);
  // The same for objects all in `pack` (no blob_id to check).
  Status AddUnpublishedPack(const UnpublishedPack& pack, std::span<const PackedObject> objects);
  // Forgets one unpublished pack and its objects (the store lacks it).
  Status ForgetUnpublishedPack(std::string_view blob_id);
  // Forgets every unpublished pack (a push published what it needed).
  Status ClearUnpublished();

  // Makes every change durable. On failure the changes are rolled back.
  // A transaction that wrote a base row also renews kMetaBaseToken.
  Status Commit();

 private:
  friend class Index;
  explicit Transaction(Index::Impl* impl) : impl_(impl) {}
  Status CheckOpen() const;
  // AddUnpublishedPack's work for either kind of object list.
  template <typename Object>
  Status PutUnpublishedPack(const UnpublishedPack& pack, std::span<const Object> objects);

  Index::Impl* impl_;  // null once committed or moved from
};

}  // namespace hx
