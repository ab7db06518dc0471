#include "merge/preview.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <set>
#include <string>
#include <utility>

#include "base/hex.h"
#include "hash/blake3.h"

namespace hx {
namespace {

constexpr std::size_t kObjectHashLength = 64;
// Values quoted back in error details are cut to this many bytes, so a huge
// hostile input does not produce a huge error.
constexpr std::size_t kMaxQuotedValue = 80;

constexpr std::array kOverlayKinds = {kOverlayKindMode, kOverlayKindSymlink,
                                      kOverlayKindDirCreated, kOverlayKindDirRemoved};

std::string Quoted(std::string_view value) {
  if (value.size() <= kMaxQuotedValue) return std::string(value);
  // Cut at a byte boundary; details must stay valid UTF-8, so drop a cut
  // multi-byte sequence's continuation bytes.
  std::size_t end = kMaxQuotedValue;
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  return std::string(value.substr(0, end)) + "...";
}

Error PreconditionFailed(std::string message) {
  return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput, std::move(message));
}

// Validates every element with `valid`, then sorts and deduplicates.
Status NormalizeArray(std::vector<std::string>& values, bool (*valid)(std::string_view),
                      std::string_view what, std::string_view field,
                      std::string_view expected) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!valid(values[i])) {
      return PreconditionFailed(std::string(what) + "." + std::string(field) + "[" +
                                std::to_string(i) + "] is not " + std::string(expected) +
                                "; fix the change set (see docs/MERGE.md)")
          .With("field", std::string(what) + "." + std::string(field))
          .With("index", std::to_string(i))
          .With("value", Quoted(values[i]));
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return OkStatus();
}

std::vector<std::string> Intersect(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::string CountsTrace(std::string_view label, const SyncMergeChangeSetV1& set) {
  return std::string(label) + " objects=" + std::to_string(set.object_hashes.size()) +
         " overlays=" + std::to_string(set.overlay_ids.size());
}

std::string OverlapTrace(const SyncMergeOverlapV1& overlap) {
  return "overlap objects=" + std::to_string(overlap.object_hashes.size()) +
         " overlays=" + std::to_string(overlap.overlay_ids.size());
}

struct Normalized {
  SyncMergeChangeSetV1 local;
  SyncMergeChangeSetV1 remote;
  SyncMergeOverlapV1 overlap;
};

Result<Normalized> NormalizeBoth(SyncMergeChangeSetV1 local, SyncMergeChangeSetV1 remote) {
  Normalized n;
  HX_ASSIGN_OR_RETURN(n.local, NormalizeChangeSet(std::move(local), "local"));
  HX_ASSIGN_OR_RETURN(n.remote, NormalizeChangeSet(std::move(remote), "remote"));
  n.overlap.object_hashes = Intersect(n.local.object_hashes, n.remote.object_hashes);
  n.overlap.overlay_ids = Intersect(n.local.overlay_ids, n.remote.overlay_ids);
  return n;
}

Status ValidateContext(const SyncMergeContextV2& context) {
  for (std::size_t i = 0; i < context.active_locks.size(); ++i) {
    const SyncMergeLockV2& lock = context.active_locks[i];
    if (!IsValidObjectHash(lock.object_hash)) {
      return PreconditionFailed("context.active_locks[" + std::to_string(i) +
                                "].object_hash is not 64 lowercase hex digits")
          .With("field", "context.active_locks.object_hash")
          .With("index", std::to_string(i))
          .With("value", Quoted(lock.object_hash));
    }
  }
  if (context.local_role != "writer" && context.local_role != "reader") {
    return PreconditionFailed("context.local_role must be \"writer\" or \"reader\"")
        .With("field", "context.local_role")
        .With("value", Quoted(context.local_role));
  }
  return OkStatus();
}

// The reason vocabulary of a policy: v4 has its own; every other policy uses
// the v3 categories (restricted to the checks it makes).
struct Vocabulary {
  std::string_view safe, object, overlay, trust, lock, rbac;
};
constexpr Vocabulary kV3Vocabulary{kReasonSafeDisjoint,  kReasonUnsafeOverlapObject,
                                   kReasonUnsafeOverlayOverlap, kReasonUnsafeTrust,
                                   kReasonUnsafeLock,    kReasonUnsafeRbac};
constexpr Vocabulary kV4Vocabulary{kReasonSafeDisjointV4,  kReasonUnsafeObjectOverlapV4,
                                   kReasonUnsafeOverlayOverlapV4, kReasonUnsafeTrustChainV4,
                                   kReasonUnsafeLockScopeV4, kReasonUnsafeRbacV4};

std::string_view ResolveAction(MergePolicy policy) {
  switch (policy) {
    case MergePolicy::kKeepBoth: return "kept_both";
    case MergePolicy::kLocalPreferred: return "kept_local";
    case MergePolicy::kCloudPreferred: return "kept_remote";
    case MergePolicy::kManualPerItem: return "await_decision";
    default: return "conflict";
  }
}

bool ChecksTrustAndLocks(MergePolicy policy) {
  return policy == MergePolicy::kConservativePlusV2 ||
         policy == MergePolicy::kConservativePlusV3 || policy == MergePolicy::kConservativePlusV4;
}

bool ChecksRbac(MergePolicy policy) {
  return policy == MergePolicy::kConservativePlusV3 || policy == MergePolicy::kConservativePlusV4;
}

Error NotSafe(std::string_view policy, std::size_t objects, std::size_t overlays,
              const std::vector<std::string>& object_hashes,
              const std::vector<std::string>& overlay_ids) {
  Error error(SyncCode::kMergeNotSafe, Category::kConflict,
              std::string(policy) + " merge refused: " + std::to_string(objects) +
                  " object(s) and " + std::to_string(overlays) +
                  " overlay(s) changed on both sides; preview with `hx sync merge-preview`, "
                  "then pull with a resolving policy (keep_both, local_preferred, "
                  "cloud_preferred, manual_per_item) or reconcile the files by hand");
  error.With("policy", std::string(policy))
      .With("overlap_objects", std::to_string(objects))
      .With("overlap_overlays", std::to_string(overlays));
  if (!object_hashes.empty()) error.With("first_object_hash", object_hashes.front());
  if (!overlay_ids.empty()) error.With("first_overlay_id", overlay_ids.front());
  return error;
}

}  // namespace

bool IsValidObjectHash(std::string_view text) { return IsLowerHex(text, kObjectHashLength); }

bool IsValidOverlayId(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view kind = text.substr(0, colon);
  if (std::find(kOverlayKinds.begin(), kOverlayKinds.end(), kind) == kOverlayKinds.end()) {
    return false;
  }
  return IsValidObjectHash(text.substr(colon + 1));
}

std::string ObjectHashOfPath(std::string_view normalized_path) {
  Blake3Hasher hasher;
  hasher.Update(normalized_path);
  const Blake3Digest digest = hasher.Finalize();
  return ToHex(digest);
}

std::string OverlayIdOf(std::string_view kind, std::string_view normalized_path) {
  return std::string(kind) + ":" + ObjectHashOfPath(normalized_path);
}

Result<SyncMergeChangeSetV1> NormalizeChangeSet(SyncMergeChangeSetV1 set,
                                                std::string_view what) {
  HX_RETURN_IF_ERROR(NormalizeArray(set.object_hashes, &IsValidObjectHash, what,
                                    "object_hashes", "64 lowercase hex digits"));
  HX_RETURN_IF_ERROR(NormalizeArray(set.overlay_ids, &IsValidOverlayId, what, "overlay_ids",
                                    "an overlay id <kind>:<object_hash> (kinds: mode, "
                                    "symlink, dir_created, dir_removed)"));
  return set;
}

Result<SyncMergePreviewReportV1> MergePreviewConservative(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(Normalized n, NormalizeBoth(std::move(local), std::move(remote)));
  SyncMergePreviewReportV1 report;
  report.policy = std::string(MergePolicyName(MergePolicy::kConservative));
  report.generated_at_ms = now_ms;
  report.local = std::move(n.local);
  report.remote = std::move(n.remote);
  report.overlap = std::move(n.overlap);
  if (!report.overlap.object_hashes.empty()) {
    report.reasons.emplace_back(kReasonUnsafeOverlapObject);
  }
  if (!report.overlap.overlay_ids.empty()) {
    report.reasons.emplace_back(kReasonUnsafeOverlayOverlap);
  }
  report.safe = report.reasons.empty();
  if (report.safe) report.reasons.emplace_back(kReasonSafeDisjoint);
  std::sort(report.reasons.begin(), report.reasons.end());
  report.decision_trace = {
      "policy=" + report.policy,
      CountsTrace("local", report.local),
      CountsTrace("remote", report.remote),
      OverlapTrace(report.overlap),
      std::string("decision=") + (report.safe ? "safe" : "unsafe"),
  };
  return report;
}

Status EnsureConservativeMergeSafe(const SyncMergePreviewReportV1& report) {
  if (report.safe && report.overlap.object_hashes.empty() &&
      report.overlap.overlay_ids.empty()) {
    return OkStatus();
  }
  return NotSafe(report.policy, report.overlap.object_hashes.size(),
                 report.overlap.overlay_ids.size(), report.overlap.object_hashes,
                 report.overlap.overlay_ids);
}

Result<SyncMergePreviewReportV2> MergePreviewWithPolicyV2(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          const SyncMergeContextV2& context,
                                                          MergePolicy policy,
                                                          std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(Normalized n, NormalizeBoth(std::move(local), std::move(remote)));
  HX_RETURN_IF_ERROR(ValidateContext(context));
  SyncMergePreviewReportV2 report;
  report.policy = std::string(MergePolicyName(policy));
  report.generated_at_ms = now_ms;
  report.local = std::move(n.local);
  report.remote = std::move(n.remote);
  report.overlap = std::move(n.overlap);

  const Vocabulary& words =
      policy == MergePolicy::kConservativePlusV4 ? kV4Vocabulary : kV3Vocabulary;
  std::vector<std::string> reasons;
  if (!report.overlap.object_hashes.empty()) reasons.emplace_back(words.object);
  if (!report.overlap.overlay_ids.empty()) reasons.emplace_back(words.overlay);

  std::string trust_trace = "check trust=skipped";
  std::string lock_trace = "check lock=skipped";
  std::string rbac_trace = "check rbac=skipped";
  if (ChecksTrustAndLocks(policy)) {
    report.trust_conflict = !context.author_chain_ok ||
                            context.expected_key_fingerprint != context.seen_key_fingerprint;
    trust_trace = std::string("check trust=") + (report.trust_conflict ? "conflict" : "ok");
    if (report.trust_conflict) reasons.emplace_back(words.trust);

    // A lock held by another device conflicts with a local change to the
    // locked path: merging would publish this device's edit of a path the
    // holder reserved. (A remote change to it is the holder's own.)
    std::set<std::string> locked;
    for (const SyncMergeLockV2& lock : context.active_locks) {
      if (lock.expires_at_ms > now_ms) locked.insert(lock.object_hash);
    }
    for (const std::string& hash : report.local.object_hashes) {
      if (locked.count(hash) != 0) report.lock_conflicts.push_back(hash);
    }
    lock_trace = report.lock_conflicts.empty()
                     ? std::string("check lock=ok")
                     : "check lock=conflict count=" + std::to_string(report.lock_conflicts.size());
    if (!report.lock_conflicts.empty()) reasons.emplace_back(words.lock);
  }
  if (ChecksRbac(policy)) {
    const bool reader_with_changes = context.local_role == "reader" && !report.local.empty();
    report.rbac_unsafe = reader_with_changes || !context.unauthorized_remote_authors.empty();
    rbac_trace = std::string("check rbac=") + (report.rbac_unsafe ? "unsafe" : "ok");
    if (report.rbac_unsafe) reasons.emplace_back(words.rbac);
  }
  report.safe = reasons.empty();
  if (report.safe) reasons.emplace_back(words.safe);
  std::sort(reasons.begin(), reasons.end());
  report.reasons = std::move(reasons);

  std::string resolve_trace = "resolve skipped";
  if (!IsConservativeFamily(policy)) {
    const std::string_view action = ResolveAction(policy);
    for (const std::string& hash : report.overlap.object_hashes) {
      report.items.push_back(SyncMergeItemV2{hash, "", std::string(action), ""});
    }
    resolve_trace = "resolve items=" + std::to_string(report.items.size());
  }
  report.decision_trace = {
      "policy=" + report.policy,
      CountsTrace("local", report.local),
      CountsTrace("remote", report.remote),
      OverlapTrace(report.overlap),
      trust_trace,
      lock_trace,
      rbac_trace,
      resolve_trace,
      std::string("decision=") + (report.safe ? "safe" : "unsafe"),
  };
  return report;
}

Result<SyncMergePreviewReportV2> MergePreviewWithPolicyV2(SyncMergeChangeSetV1 local,
                                                          SyncMergeChangeSetV1 remote,
                                                          const SyncMergeContextV2& context,
                                                          std::string_view policy,
                                                          std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const MergePolicy parsed, ParseMergePolicy(policy));
  return MergePreviewWithPolicyV2(std::move(local), std::move(remote), context, parsed, now_ms);
}

Status SetResolutionItems(SyncMergePreviewReportV2& report, std::vector<SyncMergeItemV2> items) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(report.policy));
  if (IsConservativeFamily(policy)) {
    return InternalError("resolution items for a report of the conservative family");
  }
  std::sort(items.begin(), items.end(), [](const SyncMergeItemV2& a, const SyncMergeItemV2& b) {
    return a.object_hash < b.object_hash;
  });
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!IsValidObjectHash(items[i].object_hash)) {
      return PreconditionFailed("items[" + std::to_string(i) +
                                "].object_hash is not 64 lowercase hex digits")
          .With("field", "items.object_hash")
          .With("value", Quoted(items[i].object_hash));
    }
    if (i > 0 && items[i - 1].object_hash == items[i].object_hash) {
      return PreconditionFailed("two items name the same object").With("field", "items");
    }
  }
  report.items = std::move(items);
  for (std::string& step : report.decision_trace) {
    if (step.rfind("resolve ", 0) == 0) step = "resolve items=" + std::to_string(report.items.size());
  }
  return OkStatus();
}

namespace {

Status EnsurePlus(const SyncMergePreviewReportV2& report, MergePolicy expected) {
  const std::string_view name = MergePolicyName(expected);
  if (report.policy != name) {
    return PreconditionFailed("the report was made for policy '" + report.policy +
                              "', not '" + std::string(name) +
                              "'; preview again with --policy " + std::string(name))
        .With("policy", report.policy)
        .With("expected_policy", std::string(name));
  }
  if (!report.overlap.object_hashes.empty() || !report.overlap.overlay_ids.empty()) {
    return NotSafe(name, report.overlap.object_hashes.size(), report.overlap.overlay_ids.size(),
                   report.overlap.object_hashes, report.overlap.overlay_ids);
  }
  if (expected != MergePolicy::kConservative) {
    if (report.trust_conflict) {
      return Error(SyncCode::kMergeTrustConflict, Category::kConflict,
                   std::string(name) +
                       " merge refused: the remote snapshots do not carry the vault's key "
                       "fingerprint or their author chain is broken; verify the store "
                       "(`hx sync verify`) and the devices that wrote it before merging")
          .With("policy", std::string(name));
    }
    if (!report.lock_conflicts.empty()) {
      return Error(SyncCode::kMergeLockConflict, Category::kConflict,
                   std::string(name) + " merge refused: " +
                       std::to_string(report.lock_conflicts.size()) +
                       " locally changed path(s) are locked by another device; wait for the "
                       "lock to expire or ask its owner to remove it (`hx lock list`)")
          .With("policy", std::string(name))
          .With("lock_conflicts", std::to_string(report.lock_conflicts.size()))
          .With("first_object_hash", report.lock_conflicts.front());
    }
  }
  if ((expected == MergePolicy::kConservativePlusV3 ||
       expected == MergePolicy::kConservativePlusV4) &&
      report.rbac_unsafe) {
    const SyncCode code = expected == MergePolicy::kConservativePlusV3
                              ? SyncCode::kMergePolicyV3Unsafe
                              : SyncCode::kMergePolicyV4Unsafe;
    return Error(code, Category::kAuth,
                 std::string(name) +
                     " merge refused: this device is a reader with local changes, or remote "
                     "changes were authored by a device without write rights; ask a vault "
                     "owner to review the roles (`hx member list`)")
        .With("policy", std::string(name));
  }
  if (!report.safe) {
    return InternalError("merge report marked unsafe without a reason");
  }
  return OkStatus();
}

}  // namespace

Status EnsureConservativePlusV2MergeSafe(const SyncMergePreviewReportV2& report) {
  return EnsurePlus(report, MergePolicy::kConservativePlusV2);
}

Status EnsureConservativePlusV3MergeSafe(const SyncMergePreviewReportV2& report) {
  return EnsurePlus(report, MergePolicy::kConservativePlusV3);
}

Status EnsureConservativePlusV4MergeSafe(const SyncMergePreviewReportV2& report) {
  return EnsurePlus(report, MergePolicy::kConservativePlusV4);
}

Status EnsureMergeSafe(const SyncMergePreviewReportV2& report) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(report.policy));
  if (!IsConservativeFamily(policy)) {
    return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
                 "policy '" + report.policy +
                     "' resolves overlaps instead of refusing them; only the conservative "
                     "family is ensured")
        .With("policy", report.policy);
  }
  return EnsurePlus(report, policy);
}

}  // namespace hx
