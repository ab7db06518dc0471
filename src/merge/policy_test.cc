#include "merge/policy.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(MergePolicy, EveryPolicyRoundTripsThroughItsName) {
  for (const MergePolicy policy : kAllMergePolicies) {
    const Result<MergePolicy> parsed = ParseMergePolicy(MergePolicyName(policy));
    ASSERT_TRUE(parsed.ok()) << MergePolicyName(policy);
    EXPECT_EQ(*parsed, policy);
  }
}

TEST(MergePolicy, UnknownNamesAreUnsupportedAndNameTheKnownOnes) {
  for (const std::string_view bad : {"", "Conservative", "conservative_plus_v5", "keep-both", " none"}) {
    const Result<MergePolicy> parsed = ParseMergePolicy(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, SyncCode::kMergePolicyUnsupported);
    EXPECT_NE(parsed.error().message.find("conservative_plus_v4"), std::string::npos);
  }
}

TEST(MergePolicy, FamiliesPartitionThePoliciesOtherThanNone) {
  for (const MergePolicy policy : kAllMergePolicies) {
    const int families = int(IsConservativeFamily(policy)) + int(IsResolvingPolicy(policy));
    EXPECT_EQ(families, policy == MergePolicy::kNone ? 0 : 1) << MergePolicyName(policy);
  }
}

}  // namespace
}  // namespace hx
