// Merge policies: how a pull (or a push whose store moved on) resolves
// changes that both this device and the store made since they last agreed.
//
//   none                    nothing applied; conflict artifact; KC_SYNC_CONFLICT
//   conservative            merge only disjoint change sets (seed 002)
//   conservative_plus_v2    ... and no trust-chain mismatch, no active path lock
//   conservative_plus_v3    ... and no role that may not write (v3 reasons)
//   conservative_plus_v4    ... same checks, v4 reason categories
//   keep_both               both kept; the loser renamed with a suffix built from ids
//   local_preferred         this device wins; the store's version archived
//   cloud_preferred         the store wins; this device's version archived
//   manual_per_item         nothing applied until a decisions file names a choice
//
// The names are the stable spellings of the CLI (--auto-merge, --policy), the
// vault config, reports and RPC.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <string_view>

#include "base/error.h"

namespace hx {

enum class MergePolicy {
  kNone,
  kConservative,
  kConservativePlusV2,
  kConservativePlusV3,
  kConservativePlusV4,
  kKeepBoth,
  kLocalPreferred,
  kCloudPreferred,
  kManualPerItem,
};

inline constexpr std::array kAllMergePolicies = {
    MergePolicy::kNone,           MergePolicy::kConservative,
    MergePolicy::kConservativePlusV2, MergePolicy::kConservativePlusV3,
    MergePolicy::kConservativePlusV4, MergePolicy::kKeepBoth,
    MergePolicy::kLocalPreferred, MergePolicy::kCloudPreferred,
    MergePolicy::kManualPerItem,
};

// The stable name ("conservative_plus_v2", ...).
std::string_view MergePolicyName(MergePolicy policy);

// Parses a policy name (exact, lowercase). Anything else is
// KC_SYNC_MERGE_POLICY_UNSUPPORTED naming the known policies.
Result<MergePolicy> ParseMergePolicy(std::string_view name);

// The seed-002 family: decided by disjointness of change sets (plus context
// checks for the _plus variants); never rewrites a path.
bool IsConservativeFamily(MergePolicy policy);

// The policies that resolve overlapping changes by keeping, renaming or
// archiving versions (seeds 003 and 004).
bool IsResolvingPolicy(MergePolicy policy);

}  // namespace hx
