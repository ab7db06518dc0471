#include "merge/policy.h"

#include <string>

namespace hx {

std::string_view MergePolicyName(MergePolicy policy) {
  switch (policy) {
    case MergePolicy::kNone: return "none";
    case MergePolicy::kConservative: return "conservative";
    case MergePolicy::kConservativePlusV2: return "conservative_plus_v2";
    case MergePolicy::kConservativePlusV3: return "conservative_plus_v3";
    case MergePolicy::kConservativePlusV4: return "conservative_plus_v4";
    case MergePolicy::kKeepBoth: return "keep_both";
    case MergePolicy::kLocalPreferred: return "local_preferred";
    case MergePolicy::kCloudPreferred: return "cloud_preferred";
    case MergePolicy::kManualPerItem: return "manual_per_item";
  }
  return "none";
}

Result<MergePolicy> ParseMergePolicy(std::string_view name) {
  for (const MergePolicy policy : kAllMergePolicies) {
    if (MergePolicyName(policy) == name) return policy;
  }
  std::string known;
  for (const MergePolicy policy : kAllMergePolicies) {
    if (!known.empty()) known += ", ";
    known += MergePolicyName(policy);
  }
  return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
               "unknown merge policy '" + std::string(name) + "'; use one of: " + known)
      .With("policy", std::string(name));
}

bool IsConservativeFamily(MergePolicy policy) {
  return policy == MergePolicy::kConservative || policy == MergePolicy::kConservativePlusV2 ||
         policy == MergePolicy::kConservativePlusV3 || policy == MergePolicy::kConservativePlusV4;
}

bool IsResolvingPolicy(MergePolicy policy) {
  return policy == MergePolicy::kKeepBoth || policy == MergePolicy::kLocalPreferred ||
         policy == MergePolicy::kCloudPreferred || policy == MergePolicy::kManualPerItem;
}

}  // namespace hx
