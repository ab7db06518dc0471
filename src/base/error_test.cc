#include "base/error.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(SyncCodeTest, EveryCodeHasAStableUniqueSpellingThatRoundTrips) {
  std::set<std::string_view> names;
  for (int i = 0; i < kSyncCodeCount; ++i) {
    const auto code = static_cast<SyncCode>(i);
    const std::string_view name = ToString(code);
    EXPECT_TRUE(name.starts_with("KC_SYNC_")) << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    EXPECT_EQ(SyncCodeFromString(name), code);
    EXPECT_FALSE(NextStepFor(code).empty()) << name;
  }
  EXPECT_EQ(SyncCodeFromString("KC_SYNC_NOPE"), std::nullopt);
}

TEST(SyncCodeTest, SeedSpellingsArePinned) {
  EXPECT_EQ(ToString(SyncCode::kTargetUnsupported), "KC_SYNC_TARGET_UNSUPPORTED");
  EXPECT_EQ(ToString(SyncCode::kTargetInvalid), "KC_SYNC_TARGET_INVALID");
  EXPECT_EQ(ToString(SyncCode::kAuthFailed), "KC_SYNC_AUTH_FAILED");
  EXPECT_EQ(ToString(SyncCode::kNetworkFailed), "KC_SYNC_NETWORK_FAILED");
  EXPECT_EQ(ToString(SyncCode::kLocked), "KC_SYNC_LOCKED");
  EXPECT_EQ(ToString(SyncCode::kKeyMismatch), "KC_SYNC_KEY_MISMATCH");
  EXPECT_EQ(ToString(SyncCode::kStateFailed), "KC_SYNC_STATE_FAILED");
  EXPECT_EQ(ToString(SyncCode::kConflict), "KC_SYNC_CONFLICT");
  EXPECT_EQ(ToString(SyncCode::kApplyFailed), "KC_SYNC_APPLY_FAILED");
  EXPECT_EQ(ToString(SyncCode::kMergeNotSafe), "KC_SYNC_MERGE_NOT_SAFE");
  EXPECT_EQ(ToString(SyncCode::kMergePreconditionFailed), "KC_SYNC_MERGE_PRECONDITION_FAILED");
  EXPECT_EQ(ToString(SyncCode::kMergePolicyUnsupported), "KC_SYNC_MERGE_POLICY_UNSUPPORTED");
  EXPECT_EQ(ToString(SyncCode::kMergeTrustConflict), "KC_SYNC_MERGE_TRUST_CONFLICT");
  EXPECT_EQ(ToString(SyncCode::kMergeLockConflict), "KC_SYNC_MERGE_LOCK_CONFLICT");
  EXPECT_EQ(ToString(SyncCode::kMergePolicyV3Unsafe), "KC_SYNC_MERGE_POLICY_V3_UNSAFE");
  EXPECT_EQ(ToString(SyncCode::kMergePolicyV4Unsafe), "KC_SYNC_MERGE_POLICY_V4_UNSAFE");
  EXPECT_EQ(ToString(SyncCode::kVerifyDamaged), "KC_SYNC_VERIFY_DAMAGED");
}

TEST(SyncCodeTest, ExitCodesArePinnedPerClass) {
  EXPECT_EQ(ExitCodeFor(SyncCode::kInternal), 1);
  EXPECT_EQ(ExitCodeFor(SyncCode::kInputInvalid), 2);
  EXPECT_EQ(ExitCodeFor(SyncCode::kTargetUnsupported), 3);
  EXPECT_EQ(ExitCodeFor(SyncCode::kTargetInvalid), 3);
  EXPECT_EQ(ExitCodeFor(SyncCode::kAuthFailed), 4);
  EXPECT_EQ(ExitCodeFor(SyncCode::kKeyMismatch), 4);
  EXPECT_EQ(ExitCodeFor(SyncCode::kNetworkFailed), 5);
  EXPECT_EQ(ExitCodeFor(SyncCode::kLocked), 6);
  EXPECT_EQ(ExitCodeFor(SyncCode::kConflict), 7);
  EXPECT_EQ(ExitCodeFor(SyncCode::kMergeNotSafe), 8);
  EXPECT_EQ(ExitCodeFor(SyncCode::kMergePolicyV4Unsafe), 8);
  EXPECT_EQ(ExitCodeFor(SyncCode::kApplyFailed), 9);
  EXPECT_EQ(ExitCodeFor(SyncCode::kStateFailed), 10);
  EXPECT_EQ(ExitCodeFor(SyncCode::kVerifyDamaged), 11);
}

TEST(CategoryTest, RetryRulesFollowTheCategory) {
  EXPECT_EQ(RetryRuleFor(Category::kThrottling), RetryRule::kRetryCall);
  EXPECT_EQ(RetryRuleFor(Category::kTimeout), RetryRule::kRetryCall);
  EXPECT_EQ(RetryRuleFor(Category::kNetwork), RetryRule::kRetryCall);
  EXPECT_EQ(RetryRuleFor(Category::kAborted), RetryRule::kRestartTransaction);
  EXPECT_EQ(RetryRuleFor(Category::kCorrupt), RetryRule::kStop);
  EXPECT_EQ(RetryRuleFor(Category::kAuth), RetryRule::kStop);
  for (int i = 0; i <= static_cast<int>(Category::kInternal); ++i) {
    const auto category = static_cast<Category>(i);
    EXPECT_EQ(CategoryFromString(ToString(category)), category);
  }
}

TEST(ErrorTest, RetryableComesFromTheCategory) {
  EXPECT_TRUE(Error(SyncCode::kNetworkFailed, Category::kTimeout, "x").retryable);
  EXPECT_FALSE(Error(SyncCode::kAuthFailed, Category::kAuth, "x").retryable);
}

TEST(ErrorTest, JsonIsCanonicalWithSortedKeysAndEscapes) {
  Error e(SyncCode::kTargetInvalid, Category::kInvalidInput, "bad \"uri\"\n");
  e.With("uri", "s3://").With("at", "0");
  EXPECT_EQ(e.ToJson(),
            R"({"category":"invalid_input","code":"KC_SYNC_TARGET_INVALID",)"
            R"("details":{"at":"0","uri":"s3://"},"message":"bad \"uri\"\n",)"
            R"("retryable":false})");
}

TEST(ErrorTest, HumanTextNamesCodeAndNextStep) {
  Error e(SyncCode::kLocked, Category::kLocked, "the store is locked by node abc");
  const std::string text = e.ToHuman();
  EXPECT_NE(text.find("KC_SYNC_LOCKED"), std::string::npos);
  EXPECT_NE(text.find("the store is locked by node abc"), std::string::npos);
  EXPECT_NE(text.find(std::string(NextStepFor(SyncCode::kLocked))), std::string::npos);
}

TEST(ErrorTest, HostileNamesInMessagesAndDetailsAreEscapedInHumanText) {
  const std::string name = "a\x1b]0;owned\x07\n  next: rm -rf ~\\\xff";
  Error e(SyncCode::kApplyFailed, Category::kIo, "cannot write " + name + ": disk full");
  e.With("path", name).With("a\nkey", "v");
  const std::string text = e.ToHuman();
  const std::string escaped = "a\\e]0;owned\\x07\\n  next: rm -rf ~\\\\\\xff";
  EXPECT_NE(text.find("error: cannot write " + escaped + ": disk full\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  path: " + escaped + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  a\\nkey: v\n"), std::string::npos) << text;
  // Only the layout's own newlines: error, code, two details, next.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  // JSON keeps the name byte for byte (escaped as JSON).
  EXPECT_NE(e.ToJson().find(R"("path":"a\u001b]0;owned\u0007\n  next: rm -rf ~\\)"),
            std::string::npos)
      << e.ToJson();
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidInput(SyncCode::kInputInvalid, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  HX_ASSIGN_OR_RETURN(int h, Half(x));
  HX_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckQuarter(int x) {
  HX_RETURN_IF_ERROR(Quarter(x));
  return OkStatus();
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_FALSE(Quarter(6).ok());
  EXPECT_EQ(Quarter(6).error().message, "odd");
  EXPECT_TRUE(CheckQuarter(4).ok());
  EXPECT_EQ(CheckQuarter(5).error().code, SyncCode::kInputInvalid);
}

// A site that knows the situation better than the code sets its own next
// step: the human text shows it instead of the code's; the JSON (the
// AppError's fields) is the same document with or without it.
TEST(ErrorTest, ASituationsNextStepReplacesTheCodesInTheHumanTextOnly) {
  Error plain(SyncCode::kLocked, Category::kCorrupt, "the store's write lock is damaged");
  Error hinted = plain;
  hinted.WithNextStep("remove it with 'hx sync unlock <vault>'");
  EXPECT_EQ(plain.NextStep(), NextStepFor(SyncCode::kLocked));
  EXPECT_EQ(hinted.NextStep(), "remove it with 'hx sync unlock <vault>'");
  EXPECT_NE(plain.ToHuman().find(std::string("  next: ") +
                                 std::string(NextStepFor(SyncCode::kLocked)) + "\n"),
            std::string::npos);
  EXPECT_NE(hinted.ToHuman().find("  next: remove it with 'hx sync unlock <vault>'\n"),
            std::string::npos)
      << hinted.ToHuman();
  EXPECT_EQ(hinted.ToHuman().find(NextStepFor(SyncCode::kLocked)), std::string::npos);
  EXPECT_EQ(hinted.ToJson(), plain.ToJson());
}

}  // namespace
}  // namespace hx
