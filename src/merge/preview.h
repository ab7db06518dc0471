// The seed-002 merge preview: decides, without I/O and without a clock,
// whether the changes this device made since its base ("local") and the
// changes the store's head made since that base ("remote") may be merged
// automatically, and says why in a deterministic report.
//
// A change set names changed vault entries by object hash (the lowercase
// BLAKE3 hex of the entry's normalized path) and metadata-only changes by
// overlay id ("<kind>:<object_hash>", kinds below). docs/MERGE.md defines
// the mapping from a vault to change sets, the reasons, the trace strings and
// the report schemas (schemas/sync_merge_preview_report_v1/v2.schema.json).
//
// Determinism: every function here is pure. Equivalent inputs (the same sets,
// in any order, with duplicates) give byte-identical reports: arrays are
// validated, deduplicated and sorted lexicographically (byte order), overlap
// arrays and reasons are sorted, decision_trace is a fixed sequence of
// strings, generated_at_ms is the caller's now_ms.
//
// Thread-safety: pure functions on values; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "merge/policy.h"

namespace hx {

// ---- Change sets -----------------------------------------------------------

// The kinds of a lineage overlay id, "<kind>:<object_hash>":
//   mode:<h>          the exec bit of the file at h changed
//   symlink:<h>       the target of the symlink at h changed
//   dir_created:<h>   the directory at h was created
//   dir_removed:<h>   the directory at h was removed
inline constexpr std::string_view kOverlayKindMode = "mode";
inline constexpr std::string_view kOverlayKindSymlink = "symlink";
inline constexpr std::string_view kOverlayKindDirCreated = "dir_created";
inline constexpr std::string_view kOverlayKindDirRemoved = "dir_removed";

// True iff `text` is 64 lowercase hex digits.
bool IsValidObjectHash(std::string_view text);
// True iff `text` is "<kind>:<object hash>" with a kind listed above.
bool IsValidOverlayId(std::string_view text);

// The object hash of a normalized vault path ("dir/file.txt": relative, '/'
// separated, no "." or ".." or empty components, no leading or trailing '/').
// Precondition: the path is normalized (the caller's scan guarantees it).
std::string ObjectHashOfPath(std::string_view normalized_path);
// "<kind>:<ObjectHashOfPath(path)>"; `kind` must be one of the kinds above.
std::string OverlayIdOf(std::string_view kind, std::string_view normalized_path);

struct SyncMergeChangeSetV1 {
  std::vector<std::string> object_hashes;
  std::vector<std::string> overlay_ids;

  bool empty() const { return object_hashes.empty() && overlay_ids.empty(); }
  friend bool operator==(const SyncMergeChangeSetV1&, const SyncMergeChangeSetV1&) = default;
};

// Validates, deduplicates and sorts both arrays. An invalid object hash or
// overlay id is KC_SYNC_MERGE_PRECONDITION_FAILED (category invalid_input)
// with details {"field", "index", "value" (truncated)}; `what` ("local",
// "remote") names the set in the message.
Result<SyncMergeChangeSetV1> NormalizeChangeSet(SyncMergeChangeSetV1 set,
                                                std::string_view what);

// ---- Context of the _plus policies ------------------------------------------

// An active path lock held by another device (from the store's lock records).
struct SyncMergeLockV2 {
  std::string object_hash;  // ObjectHashOfPath of the locked path
  std::string owner;        // node id of the holder
  std::int64_t expires_at_ms = 0;  // active iff expires_at_ms > now_ms

  friend bool operator==(const SyncMergeLockV2&, const SyncMergeLockV2&) = default;
};

// What governance knows about a merge (H5's BuildMergeContext computes it for
// a real pull). A default-constructed context is "nothing known against the
// merge": fingerprints equal (both empty), author chain ok, no locks, this
// device a writer, no unauthorized authors.
struct SyncMergeContextV2 {
  // Trust chain: the vault's key fingerprint this device expects, and the one
  // the remote snapshots carry; a mismatch, or a broken author chain, is a
  // trust conflict.
  std::string expected_key_fingerprint;
  std::string seen_key_fingerprint;
  bool author_chain_ok = true;
  // Locks on paths held by other devices.
  std::vector<SyncMergeLockV2> active_locks;
  // "writer" or "reader": this device's role in the vault's membership.
  std::string local_role = "writer";
  // Node ids of remote snapshot authors that have no write rights.
  std::vector<std::string> unauthorized_remote_authors;

  friend bool operator==(const SyncMergeContextV2&, const SyncMergeContextV2&) = default;
};

// ---- Reports ----------------------------------------------------------------

// The v3 reason categories (conservative and conservative_plus_v2 use the
// subset they check; see docs/MERGE.md) ...
inline constexpr std::string_view kReasonSafeDisjoint = "safe_disjoint";
inline constexpr std::string_view kReasonUnsafeOverlapObject = "unsafe_overlap_object";
inline constexpr std::string_view kReasonUnsafeOverlayOverlap = "unsafe_overlay_overlap";
inline constexpr std::string_view kReasonUnsafeTrust = "unsafe_trust";
inline constexpr std::string_view kReasonUnsafeLock = "unsafe_lock";
inline constexpr std::string_view kReasonUnsafeRbac = "unsafe_rbac";
// ... and the v4 categories.
inline constexpr std::string_view kReasonSafeDisjointV4 = "safe_disjoint_v4";
inline constexpr std::string_view kReasonUnsafeObjectOverlapV4 = "unsafe_object_overlap_v4";
inline constexpr std::string_view kReasonUnsafeOverlayOverlapV4 = "unsafe_overlay_overlap_v4";
inline constexpr std::string_view kReasonUnsafeTrustChainV4 = "unsafe_trust_chain_v4";
inline constexpr std::string_view kReasonUnsafeLockScopeV4 = "unsafe_lock_scope_v4";
inline constexpr std::string_view kReasonUnsafeRbacV4 = "unsafe_rbac_v4";

struct SyncMergeOverlapV1 {
  std::vector<std::string> object_hashes;  // sorted
  std::vector<std::string> overlay_ids;    // sorted

  friend bool operator==(const SyncMergeOverlapV1&, const SyncMergeOverlapV1&) = default;
};

// schema_version 1: the plain conservative policy.
struct SyncMergePreviewReportV1 {
  static constexpr std::int64_t kSchemaVersion = 1;
  std::string policy = "conservative";
  std::int64_t generated_at_ms = 0;
  SyncMergeChangeSetV1 local;   // normalized
  SyncMergeChangeSetV1 remote;  // normalized
  SyncMergeOverlapV1 overlap;
  bool safe = false;
  std::vector<std::string> reasons;         // sorted
  std::vector<std::string> decision_trace;  // fixed order

  friend bool operator==(const SyncMergePreviewReportV1&,
                         const SyncMergePreviewReportV1&) = default;
};

// What a policy would do with one conflicting object (none and the
// resolving policies; empty for the conservative family, which never
// resolves). MergePreviewWithPolicyV2 lists the overlapping objects; the
// engine (sync/merge_preview.h) replaces them with the pull plan's conflicts.
//   action: "conflict"       none: nothing applied, a conflict artifact
//           "kept_both"      keep_both: both versions kept, one renamed
//           "kept_local"     local_preferred: the remote version archived
//           "kept_remote"    cloud_preferred: the local version archived
//           "await_decision" manual_per_item without a decision
struct SyncMergeItemV2 {
  std::string object_hash;
  std::string path;  // the normalized path when known (engine glue), else ""
  std::string action;
  std::string renamed_to;  // kept_both: the renamed version's path when known, else ""

  friend bool operator==(const SyncMergeItemV2&, const SyncMergeItemV2&) = default;
};

// schema_version 2: any policy, with the context checks.
struct SyncMergePreviewReportV2 {
  static constexpr std::int64_t kSchemaVersion = 2;
  std::string policy;
  std::int64_t generated_at_ms = 0;
  SyncMergeChangeSetV1 local;
  SyncMergeChangeSetV1 remote;
  SyncMergeOverlapV1 overlap;
  // Context checks: each is false when the policy does not check it.
  bool trust_conflict = false;
  std::vector<std::string> lock_conflicts;  // sorted object hashes
  bool rbac_unsafe = false;
  bool safe = false;
  std::vector<std::string> reasons;  // sorted
  std::vector<SyncMergeItemV2> items;  // sorted by object_hash
  std::vector<std::string> decision_trace;

  friend bool operator==(const SyncMergePreviewReportV2&,
                         const SyncMergePreviewReportV2&) = default;
};

// ---- The seed functions -----------------------------------------------------

// merge_preview_conservative: normalizes both sets (invalid input is
// KC_SYNC_MERGE_PRECONDITION_FAILED), intersects them; safe iff both
// intersections are empty.
Result<SyncMergePreviewReportV1> MergePreviewConservative(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          std::int64_t now_ms);

// ensure_conservative_merge_safe: OK iff report.safe; else
// KC_SYNC_MERGE_NOT_SAFE (category conflict) naming the overlap counts.
Status EnsureConservativeMergeSafe(const SyncMergePreviewReportV1& report);

// merge_preview_with_policy_v2: any policy. The conservative family checks
// what it names (plus_v2: trust, locks; plus_v3/v4: also roles); the other
// policies report the overlap and, per overlapping object, what they would do.
// Invalid change sets or context entries are KC_SYNC_MERGE_PRECONDITION_FAILED.
Result<SyncMergePreviewReportV2> MergePreviewWithPolicyV2(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          const SyncMergeContextV2& context,
                                                          MergePolicy policy,
                                                          std::int64_t now_ms);
// The same with a policy name; an unknown name is
// KC_SYNC_MERGE_POLICY_UNSUPPORTED.
Result<SyncMergePreviewReportV2> MergePreviewWithPolicyV2(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          const SyncMergeContextV2& context,
                                                          std::string_view policy,
                                                          std::int64_t now_ms);

// Replaces report.items with `items` (sorted by object_hash; duplicates
// refused) and the trace's resolve step with their count. For the engine,
// which knows the pull plan's conflicts and their paths. An invalid object
// hash or a duplicate is KC_SYNC_MERGE_PRECONDITION_FAILED; a report of the
// conservative family (which has no items) is KC_SYNC_INTERNAL.
Status SetResolutionItems(SyncMergePreviewReportV2& report, std::vector<SyncMergeItemV2> items);

// The ensure_* family. Each fails, in this order of precedence, with
//   overlap                 -> KC_SYNC_MERGE_NOT_SAFE
//   trust conflict          -> KC_SYNC_MERGE_TRUST_CONFLICT
//   lock conflict           -> KC_SYNC_MERGE_LOCK_CONFLICT
//   rbac (v3 / v4 only)     -> KC_SYNC_MERGE_POLICY_V3_UNSAFE / _V4_UNSAFE
// and with KC_SYNC_MERGE_PRECONDITION_FAILED when the report was made for
// another policy.
Status EnsureConservativePlusV2MergeSafe(const SyncMergePreviewReportV2& report);
Status EnsureConservativePlusV3MergeSafe(const SyncMergePreviewReportV2& report);
Status EnsureConservativePlusV4MergeSafe(const SyncMergePreviewReportV2& report);
// Dispatches on report.policy: conservative (overlap only), the _plus
// variants above; for a non-conservative policy it is
// KC_SYNC_MERGE_POLICY_UNSUPPORTED (those policies resolve, they do not
// ensure).
Status EnsureMergeSafe(const SyncMergePreviewReportV2& report);

// ---- Canonical JSON -----------------------------------------------------------

// To* build the JSON values (docs/MERGE.md, schemas/); WriteCanonicalJson of
// them is the report's bytes. From* parse untrusted values strictly (unknown
// fields, wrong types, invalid hashes refused: KC_SYNC_MERGE_PRECONDITION_FAILED
// for hashes/ids, KC_SYNC_INPUT_INVALID for shape) and normalize the sets.
nlohmann::json ToJson(const SyncMergeChangeSetV1& set);
nlohmann::json ToJson(const SyncMergeContextV2& context);
nlohmann::json ToJson(const SyncMergePreviewReportV1& report);
nlohmann::json ToJson(const SyncMergePreviewReportV2& report);
Result<SyncMergeChangeSetV1> ChangeSetFromJson(const nlohmann::json& value);
Result<SyncMergeContextV2> ContextFromJson(const nlohmann::json& value);
Result<SyncMergePreviewReportV1> ReportV1FromJson(const nlohmann::json& value);
Result<SyncMergePreviewReportV2> ReportV2FromJson(const nlohmann::json& value);

}  // namespace hx
