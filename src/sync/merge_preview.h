// The merge preview of a real vault: the seed-002 change sets of this
// device's changes and of the store's changes since the base they share, and
// the decision a merge policy would make on them — computed on exactly what
// a pull would do (sync/prepare.h), without changing anything.
//
//   ChangeSetBetween   pure: the change set that turns one state into another
//   PreviewMerge       on an open session and a prepared pull (pull uses it
//                      for the conservative family)
//   SyncMergePreview   the public operation (hx sync merge-preview, RPC)
//
// docs/MERGE.md describes the mapping from entries to object hashes and
// overlay ids.
//
// Thread-safety: ChangeSetBetween is pure; the others use the Session of the
// calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "merge/policy.h"
#include "merge/preview.h"
#include "repo/tree.h"
#include "sync/engine.h"
#include "sync/prepare.h"
#include "sync/session.h"

namespace hx {

// The change set from `base` to `side` (both complete vault states; absent
// paths and tombstones are "no entry"). Per path whose entry differs:
//   - a file or symlink created, deleted, or with other content, or whose
//     kind changed: object hash of the path;
//   - the same, when only the exec bit changed: object hash + "mode:<h>";
//   - a symlink whose target changed: object hash + "symlink:<h>";
//   - a directory created / removed: "dir_created:<h>" / "dir_removed:<h>"
//     (a directory replaced by a file: dir_removed and the file's hash).
// mtimes and version vectors are not content: an entry that differs only in
// them is unchanged. The result is normalized (sorted, unique).
SyncMergeChangeSetV1 ChangeSetBetween(const EntryMap& base, const EntryMap& side);

// The change sets of a prepared pull: local = base -> what this device would
// publish (prepared.local.state); remote = base -> the store's head
// (prepared.remote.entries). An up-to-date prepared pull has no remote
// changes, and its local set comes from `local_when_up_to_date` (the caller
// scans; PreparePull does not when the head is the base).
struct MergeChangeSets {
  SyncMergeChangeSetV1 local;
  SyncMergeChangeSetV1 remote;
  // object hash -> normalized path, for every path in either set.
  std::map<std::string, std::string> paths;
};
MergeChangeSets ChangeSetsOf(const PreparedPull& prepared, const EntryMap* local_when_up_to_date);

// The V2 preview of a prepared pull under `policy` at `now_ms`:
//   - conservative family: the seed's checks; the _plus policies on the
//     context governance builds (BuildMergeContext: trust chain, other
//     devices' locks on the local changes, roles);
//   - none and the resolving policies: the overlap, and per conflict of the
//     pull plan (by path) what the policy would do ("conflict" for none,
//     "kept_both", "kept_local", "kept_remote", "await_decision").
// Writes nothing.
Result<SyncMergePreviewReportV2> PreviewMerge(Session& s, const PreparedPull& prepared,
                                              MergePolicy policy, std::int64_t now_ms);

// What hx sync merge-preview prints: the V1 report for "conservative" (the
// seed's merge_preview_conservative), the V2 report for every other policy.
struct MergePreviewReport {
  std::variant<SyncMergePreviewReportV1, SyncMergePreviewReportV2> report;

  bool safe() const;
  // Exactly the seed report's JSON (schemas/sync_merge_preview_report_v1 or
  // _v2.schema.json).
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Opens the vault, prepares the pull that a `hx sync pull` would run now and
// previews it under `policy` with options.now_ms as generated_at_ms. Changes
// neither the vault nor the store (nor the local index). Errors: those of
// opening and PreparePull; KC_SYNC_MERGE_* for invalid input.
Result<MergePreviewReport> SyncMergePreview(const std::filesystem::path& vault,
                                            const SyncOptions& options, MergePolicy policy);

}  // namespace hx
