// Pieces shared by push, pull and status (internal to the sync module).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/index.h"
#include "meta/conflict.h"
#include "meta/head.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "repo/tree.h"
#include "scan/scanner.h"
#include "sync/engine.h"
#include "sync/planner.h"
#include "sync/session.h"

namespace hx {

// Index meta: "1" while the base lags the head because a pull could not
// apply every item.
inline constexpr std::string_view kMetaIncomplete = "base_incomplete";
// Index meta: the manifest_seq this device last wrote.
inline constexpr std::string_view kMetaManifestSeq = "manifest_seq";
// The manifest this device last wrote and its store version (internal.cc).
inline constexpr std::string_view kMetaManifestCache = "manifest_written";
// Index meta: a JSON array of paths whose base entry is a version this
// device kept from snapshots the store's head abandoned (prepare.h
// kept_versions): the next push publishes them as they are, vectors
// included, even when the folder did not change. Empty or absent: none.
inline constexpr std::string_view kMetaRepublish = "republish_paths";
Result<std::vector<std::string>> LoadRepublish(Index& index);

// Cumulative counters shown by status ("objects imported and skipped by
// category"): a JSON object of named non-negative integers.
Result<nlohmann::json> LoadCounters(Index& index);
// Adds `deltas` to the counters (best effort: a failure to count never fails
// a sync).
void AddCounters(Index& index, const std::map<std::string, std::uint64_t>& deltas);

// Keeps the exact bytes of `config` (the store's vault.json, which is
// canonical: encoding the parsed record gives its bytes back) in the index
// (kMetaVaultConfig), for hx sync repair. Writes only when they differ from
// the copy kept; best effort (repair.cc).
void RememberVaultConfig(Index& index, const VaultConfig& config);

// What the index says this device last synced.
struct BaseState {
  EntryMap entries;
  TreeIdMap tree_ids;
  StatCache stats;
  std::optional<std::string> snapshot_id;  // nullopt: never synced
  std::uint64_t head_seq = 0;
  std::uint64_t max_head_seq = 0;  // highest head seq ever seen (replay guard)
  // False after a pull that could not apply every item: the next pull must
  // plan again even if the head did not move.
  bool complete = true;
};
// Everything of the base; without the stat cache when `with_stat_cache` is
// false (a caller that has scanned already: see push.cc).
Result<BaseState> LoadBaseState(Index& index, bool with_stat_cache = true);

// Whether the store's head is exactly the state this device last synced
// (both empty counts).
bool HeadIsBase(const HeadState& head, const BaseState& base);

// ReadHead for a device whose base is `base`: a store without head.json
// where this device has synced a snapshot (a deleted head, or a store
// restored from a backup older than the vault) is KC_SYNC_STATE_FAILED,
// category not_found, with the repair hint ('hx sync repair' publishes this
// device's base as the head again) — never an empty vault. No request
// beyond ReadHead's one.
Result<HeadState> ReadHeadForBase(Session& s, const BaseState& base);

// One step of a walk down the history of head snapshot `head_id` (pull's and
// link's imports), `visited` bodies into it: reads snapshot `id`. Returns
// nullopt when the body is missing because a prune deleted it on purpose
// (prune_record.h), which ends that branch; never for the head itself
// (`is_head`), whose loss is damage. A walk past kMaxHistorySnapshots bodies
// is KC_SYNC_STATE_FAILED, category corrupt; store and decode errors pass
// through.
Result<std::optional<Snapshot>> ReadHistoryStep(Session& s, PrunedSnapshots& pruned,
                                                const std::string& head_id,
                                                const std::string& id, bool is_head,
                                                std::size_t visited);

// How many of `paths` are live files or symlinks in `entries`.
std::uint64_t CountDeletedFiles(const EntryMap& entries, const std::vector<std::string>& paths);

// The report form of a change list (paths capped at kMaxReportedPaths).
inline constexpr std::size_t kMaxReportedPaths = 1000;
// The most items a pull report lists (PullReport::items; the rest are
// counted in items_omitted).
inline constexpr std::size_t kMaxReportedItems = 1000;
ChangeSummary MakeChangeSummary(const std::vector<std::string>& added,
                                const std::vector<std::string>& modified,
                                const std::vector<std::string>& deleted);

// The chunk ids of this vault (keyed per vault), as a scan computes them.
ChunkIdFn VaultChunkIds(const VaultContext& ctx);

// Scans the whole vault folder with the index's stat cache (read here, and
// consumed as the scan goes); changed files get their chunk ids (keyed per
// vault).
Result<ScanResult> ScanFolder(Session& s);

std::vector<std::string> DescribeIssues(const ScanResult& scan);
std::vector<std::string> DescribeIssues(const std::vector<ScanSkip>& skipped,
                                        const std::vector<ScanError>& errors);

// What DetectLocalChanges should compare with the base: the scan, plus the
// base entries of paths the scan could not read (and everything under them)
// and of paths .hxignore now ignores — those are unknown or no longer synced
// from here, never deleted.
EntryMap ScannedWithBase(const BaseState& base, const ScanResult& scan);

// DetectLocalChanges(base.entries, ScannedWithBase(base, scan), node), in one
// walk and without the intermediate copy of the scan (the hot path of a
// no-change push or status at 100,000 files). `want` says when the result's
// `state` is filled: always (pull plans on it), only if something changed
// (push: an unchanged vault publishes nothing; `state` is then empty and
// the base is the state), or never (status needs only the change lists).
enum class StateWanted { kAlways, kIfChanged, kNever };
LocalChanges DetectLocalChangesOfScan(const BaseState& base, const ScanResult& scan,
                                      std::string_view node,
                                      StateWanted want = StateWanted::kAlways);
// DetectLocalChangesOfScan(base, scan, node, StateWanted::kIfChanged) that
// takes the scan's entries into the state instead of copying them: when
// something changed, scan.entries is left empty.
LocalChanges TakeLocalChangesOfScan(const BaseState& base, ScanResult& scan,
                                    std::string_view node);

// Stores what the scan taught the stat cache.
Status SaveStatCache(Index& index, const StatCacheChanges& changes);
// Writes what `scan` learned for the stat cache (its stat_changes, and with
// ScanOptions::cache_stats_in_entries its entry_stats with the entries'
// chunks) in one transaction, then drops both from `scan`.
Status SaveStatCacheOfScan(Index& index, ScanResult& scan);

// The state a push or pull ends in, to be recorded in the index.
struct SyncedState {
  EntryMap entries;
  TreeIdMap tree_ids;
  StatCacheChanges stat_changes;
  std::vector<ObjectLocation> added;  // objects newly known to be on the store
  std::string snapshot_id;
  std::uint64_t head_seq = 0;
  bool complete = true;
  // When set, only these base paths changed (each written as in `entries`,
  // or deleted if `entries` lacks it) and the base's entries are not read:
  // a push that has given them up to save memory says what it changed.
  std::optional<std::vector<std::string>> changed_paths;
  // When set (a pull of a head that does not descend from the base), the
  // object index is replaced, not extended: it is cleared, `added` holds
  // every location the head's whole history records, and these snapshots
  // (that history) are marked imported. What only the abandoned snapshots
  // located is forgotten, so the next push uploads it again.
  std::optional<std::vector<ImportedSnapshot>> history;
  // The paths to record under kMetaRepublish (a push publishes them and
  // records none).
  std::vector<std::string> republish;
};
// One index transaction: base entries, tree ids and stat cache (incremental
// against `base`), object locations, the snapshot as imported, the base
// head, the replay guard, and `time_key` = now_ms.
Status CommitSyncedState(Session& s, const BaseState& base, const SyncedState& synced,
                         std::string_view time_key, std::int64_t now_ms);

// Writes this device's manifest with one more snapshot (if published) and
// the head it has seen.
Status UpdateOwnManifest(Session& s, std::uint64_t head_seq,
                         std::optional<std::string> published_snapshot, std::int64_t now_ms);

// UpdateOwnManifest at the end of a pull (or a link), when everything it
// could apply is applied and recorded: a store that refuses the write for
// want of permission (category auth: a reader device with read-only
// credentials, a read-only folder) does not undo it; the refusal is added to
// `warnings` (KC_SYNC_AUTH_FAILED, detail key; "everything was <done>, but
// ...") and OkStatus returned. Other devices then do not learn which head
// this one has seen; nothing else depends on it. Any other failure is
// returned.
Status UpdateOwnManifestAfterPull(Session& s, std::uint64_t head_seq, std::int64_t now_ms,
                                  std::vector<Error>& warnings, std::string_view done = "pulled");

// Writes a conflict artifact to the store and to .hx/conflicts/, and returns
// KC_SYNC_CONFLICT naming the paths and the artifact.
Error ReportConflict(Session& s, const ConflictArtifact& artifact, std::string message);

// The push-side divergence: the store's head moved on since this device's
// base. Writes the artifact; returns KC_SYNC_CONFLICT.
Error ReportPushDivergence(Session& s, const BaseState& base, const LocalChanges& changes,
                           const Head& remote, std::int64_t now_ms);

}  // namespace hx
