// Governance through a real folder store: roles, path locks and the trust
// chain as facts of the merge context, and what the conservative_plus
// policies decide on them.
#include "sync/governance.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <variant>

#include <gtest/gtest.h>

#include "json/schema_validator.h"
#include "merge/preview.h"
#include "sync/merge_preview.h"
#include "sync/prepare.h"
#include "sync/session.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr std::int64_t kHour = 3600 * 1000;

// OK iff `report`'s JSON is valid against schemas/<name>.schema.json.
template <typename R>
Status MatchesSchema(const R& report, const std::string& name) {
  return ValidateAgainstSchemaFile(report.ToJson(),
                                   fs::path(HX_SOURCE_DIR) / "schemas" / (name + ".schema.json"));
}

class GovernanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    a_.Write("shared.txt", "v1");
    HX_ASSERT_OK(a_.Push(2000));
    HX_ASSERT_OK(b_.Init(3000));
    HX_ASSERT_OK(b_.Pull(4000));
  }

  std::string NodeOf(const Device& device) {
    Result<StatusReport> status = const_cast<Device&>(device).Status(5000);
    EXPECT_TRUE(status.ok());
    return status.ok() ? status->node_id : std::string();
  }

  // The merge context `device` would pull with at now_ms.
  Result<SyncMergeContextV2> ContextOf(const Device& device, std::int64_t now_ms) {
    HX_ASSIGN_OR_RETURN(Session s, OpenSession(device.vault(), device.options(now_ms)));
    PullReport report;
    HX_ASSIGN_OR_RETURN(const PreparedPull prepared,
                        PreparePull(s, device.options(now_ms), report));
    return BuildMergeContext(s, prepared, now_ms);
  }

  // What `policy` decides for a local change to `local_path` and a remote
  // change to `remote_path` under `context`.
  static Status Decide(const SyncMergeContextV2& context, MergePolicy policy,
                       const std::string& local_path, const std::string& remote_path,
                       std::int64_t now_ms) {
    HX_ASSIGN_OR_RETURN(const SyncMergePreviewReportV2 report,
                        MergePreviewWithPolicyV2({{ObjectHashOfPath(local_path)}, {}},
                                                 {{ObjectHashOfPath(remote_path)}, {}}, context,
                                                 policy, now_ms));
    return EnsureMergeSafe(report);
  }

  // What `hx sync merge-preview --policy <policy>` on `device` reports, as
  // the ensure_* check of that policy.
  static Status PreviewVerdict(const Device& device, MergePolicy policy, std::int64_t now_ms) {
    HX_ASSIGN_OR_RETURN(const MergePreviewReport preview,
                        SyncMergePreview(device.vault(), device.options(now_ms), policy));
    if (const auto* v1 = std::get_if<SyncMergePreviewReportV1>(&preview.report)) {
      return EnsureConservativeMergeSafe(*v1);
    }
    return EnsureMergeSafe(std::get<SyncMergePreviewReportV2>(preview.report));
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 11};
  Device b_{*store_, "b", 12};
};

TEST_F(GovernanceTest, EveryDeviceIsAWriterUntilAWriterSaysOtherwise) {
  Result<MemberReport> members = SyncMemberList(a_.vault(), a_.options(6000));
  HX_ASSERT_OK(members);
  EXPECT_EQ(members->seq, 0u);
  ASSERT_EQ(members->members.size(), 2u);
  for (const MemberView& member : members->members) {
    EXPECT_EQ(member.role, DeviceRole::kWriter);
    EXPECT_FALSE(member.listed);
  }
  Result<Session> s = OpenSession(b_.vault(), b_.options(6000));
  HX_ASSERT_OK(s);
  EXPECT_TRUE(EnsureMayPush(*s).ok());
}

TEST_F(GovernanceTest, AReaderCannotPushAndIsToldWhoCanChangeThat) {
  const std::string b = NodeOf(b_);
  Result<MemberReport> set =
      SyncMemberSetRole(a_.vault(), a_.options(6000), b.substr(0, 6), DeviceRole::kReader);
  HX_ASSERT_OK(set);
  EXPECT_TRUE(set->changed);
  EXPECT_EQ(set->seq, 1u);

  Result<Session> s = OpenSession(b_.vault(), b_.options(7000));
  HX_ASSERT_OK(s);
  const Status may = EnsureMayPush(*s);
  ASSERT_FALSE(may.ok());
  EXPECT_EQ(may.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(may.error().category, Category::kAuth);
  EXPECT_NE(may.error().message.find("is a reader"), std::string::npos);
  EXPECT_NE(may.error().message.find("hx member set-role"), std::string::npos);

  Result<Session> writer = OpenSession(a_.vault(), a_.options(7000));
  HX_ASSERT_OK(writer);
  EXPECT_TRUE(EnsureMayPush(*writer).ok());
}

TEST_F(GovernanceTest, AReaderCannotChangeRolesNorLockPaths) {
  const std::string b = NodeOf(b_);
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(6000), b, DeviceRole::kReader));
  Result<MemberReport> promote =
      SyncMemberSetRole(b_.vault(), b_.options(7000), b, DeviceRole::kWriter);
  ASSERT_FALSE(promote.ok());
  EXPECT_EQ(promote.error().code, SyncCode::kAuthFailed);
  Result<LockReport> lock = SyncLockAdd(b_.vault(), b_.options(7000), "shared.txt", kHour);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, SyncCode::kAuthFailed);
}

TEST_F(GovernanceTest, AMembershipRecordTheStoreLostOrRolledBackIsCaughtAndRepairedByAWriter) {
  const std::string b = NodeOf(b_);
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(6000), b, DeviceRole::kReader));
  {
    Result<Session> s = OpenSession(b_.vault(), b_.options(7000));
    HX_ASSERT_OK(s);
    EXPECT_EQ(EnsureMayPush(*s).error().code, SyncCode::kAuthFailed);  // and remembers seq 1
  }
  // The store drops the record: without it the reader would be a writer again.
  fs::remove(fs::path(store_->TargetUri()) / kMembershipKey);
  {
    Result<Session> s = OpenSession(b_.vault(), b_.options(8000));
    HX_ASSERT_OK(s);
    const Status may = EnsureMayPush(*s);
    ASSERT_FALSE(may.ok());
    EXPECT_EQ(may.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(may.error().category, Category::kCorrupt);
    EXPECT_EQ(may.error().details.at("seen_seq"), "1");
  }
  // The laptop, which saw it too, no longer trusts the roles in its merge context.
  b_.Write("x.txt", "x");
  a_.Write("y.txt", "y");
  {
    Result<SyncMergeContextV2> context = ContextOf(a_, 9000);
    HX_ASSERT_OK(context);
    EXPECT_FALSE(context->author_chain_ok);
  }
  // A writer rewrites it above every seq seen, and the reader is a reader again.
  Result<MemberReport> repaired =
      SyncMemberSetRole(a_.vault(), a_.options(10000), b, DeviceRole::kReader);
  HX_ASSERT_OK(repaired);
  EXPECT_EQ(repaired->seq, 2u);
  Result<Session> s = OpenSession(b_.vault(), b_.options(11000));
  HX_ASSERT_OK(s);
  EXPECT_EQ(EnsureMayPush(*s).error().code, SyncCode::kAuthFailed);
}

TEST_F(GovernanceTest, TheLastWriterCannotDemoteItself) {
  const std::string a = NodeOf(a_);
  const std::string b = NodeOf(b_);
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(6000), b, DeviceRole::kReader));
  Result<MemberReport> alone =
      SyncMemberSetRole(a_.vault(), a_.options(7000), a, DeviceRole::kReader);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().code, SyncCode::kInputInvalid);
}

TEST_F(GovernanceTest, LocksAreListedRemovedByTheirOwnerAndByOthersOnlyWithForce) {
  Result<LockReport> added = SyncLockAdd(a_.vault(), a_.options(6000), "docs/", kHour);
  HX_ASSERT_OK(added);
  EXPECT_EQ(added->path, "docs");
  ASSERT_TRUE(added->lock.has_value());
  EXPECT_TRUE(added->lock->mine);

  Result<LockListReport> listed = SyncLockList(b_.vault(), b_.options(7000));
  HX_ASSERT_OK(listed);
  ASSERT_EQ(listed->locks.size(), 1u);
  EXPECT_EQ(listed->locks[0].lock.path, "docs");
  EXPECT_TRUE(listed->locks[0].active);
  EXPECT_FALSE(listed->locks[0].mine);
  EXPECT_EQ(listed->locks[0].lock.owner, NodeOf(a_));

  Result<LockReport> refused = SyncLockRemove(b_.vault(), b_.options(7000), "docs", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kLocked);
  HX_ASSERT_OK(SyncLockRemove(b_.vault(), b_.options(7000), "docs", /*force=*/true));
  Result<LockListReport> after = SyncLockList(a_.vault(), a_.options(8000));
  HX_ASSERT_OK(after);
  EXPECT_TRUE(after->locks.empty());
}

TEST_F(GovernanceTest, NoPathOfALockIsReadableOnTheStore) {
  HX_ASSERT_OK(SyncLockAdd(a_.vault(), a_.options(6000), "secret-plans/q3.txt", kHour));
  for (const auto& [key, bytes] : store_->Objects()) {
    EXPECT_EQ(key.find("secret"), std::string::npos) << key;
    EXPECT_EQ(bytes.find("secret"), std::string::npos) << key;
  }
}

TEST_F(GovernanceTest, ALockPathMayBeAbsoluteInsideTheVaultButNotOutside) {
  EXPECT_EQ(*ResolveLockPath(a_.vault(), (a_.vault() / "docs" / "a.txt").string()), "docs/a.txt");
  EXPECT_EQ(*ResolveLockPath(a_.vault(), "./docs//a.txt"), "docs/a.txt");
  EXPECT_EQ(ResolveLockPath(a_.vault(), "/elsewhere/a.txt").error().code,
            SyncCode::kInputInvalid);
  EXPECT_EQ(ResolveLockPath(a_.vault(), "../a.txt").error().code, SyncCode::kInputInvalid);
}

TEST(LocksCoveringTest, ADirectoryLockOfAnotherDeviceCoversTheChangesBeneathIt) {
  const std::string self(32, 'a');
  const std::string other(32, 'b');
  const std::vector<PathLock> locks = {
      {.path = "docs", .owner = other, .created_ms = 0, .expires_ms = 100},
      {.path = "mine", .owner = self, .created_ms = 0, .expires_ms = 100},
      {.path = "old", .owner = other, .created_ms = 0, .expires_ms = 10},
  };
  const std::vector<std::string> changed = {"docs/a.txt", "docs2/b.txt", "mine/c", "old/d", "docs"};
  const std::vector<SyncMergeLockV2> covering = LocksCovering(locks, changed, self, 50);
  ASSERT_EQ(covering.size(), 2u);
  std::vector<std::string> hashes = {ObjectHashOfPath("docs"), ObjectHashOfPath("docs/a.txt")};
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(covering[0].object_hash, hashes[0]);
  EXPECT_EQ(covering[1].object_hash, hashes[1]);
  EXPECT_EQ(covering[0].owner, other);
  EXPECT_EQ(covering[0].expires_at_ms, 100);
}

TEST(LocksCoveringTest, NestedLocksOfTwoDevicesGiveOneEntryPerPathAndOwner) {
  const std::string self(32, 'a');
  const std::string b(32, 'b');
  const std::string c(32, 'c');
  const std::vector<PathLock> locks = {
      {.path = "docs", .owner = b, .created_ms = 0, .expires_ms = 100},
      {.path = "docs/x", .owner = b, .created_ms = 0, .expires_ms = 100},
      {.path = "docs/x", .owner = c, .created_ms = 0, .expires_ms = 100},
  };
  const std::vector<SyncMergeLockV2> covering =
      LocksCovering(locks, {"docs/x/y.txt", "zz", "docs/x"}, self, 50);
  ASSERT_EQ(covering.size(), 4u);  // docs/x and docs/x/y.txt, each for b and c
  for (std::size_t i = 1; i < covering.size(); ++i) {
    EXPECT_LT(std::tie(covering[i - 1].object_hash, covering[i - 1].owner),
              std::tie(covering[i].object_hash, covering[i].owner));
  }
}

TEST_F(GovernanceTest, AnUpToDateVaultHasANeutralContext) {
  Result<SyncMergeContextV2> context = ContextOf(b_, 6000);
  HX_ASSERT_OK(context);
  EXPECT_TRUE(context->author_chain_ok);
  EXPECT_EQ(context->expected_key_fingerprint, context->seen_key_fingerprint);
  EXPECT_EQ(context->expected_key_fingerprint.size(), 64u);
  EXPECT_EQ(context->local_role, "writer");
  EXPECT_TRUE(context->active_locks.empty());
  EXPECT_TRUE(context->unauthorized_remote_authors.empty());
}

TEST_F(GovernanceTest, ConservativePlusRefusesALocalChangeToAPathAnotherDeviceLocked) {
  HX_ASSERT_OK(SyncLockAdd(a_.vault(), a_.options(6000), "docs", kHour));
  a_.Write("other.txt", "from a");
  HX_ASSERT_OK(a_.Push(7000));
  b_.Write("docs/notes.txt", "from b");

  Result<SyncMergeContextV2> context = ContextOf(b_, 8000);
  HX_ASSERT_OK(context);
  EXPECT_TRUE(context->author_chain_ok);
  // The new directory and the file in it are both under the lock.
  std::vector<std::string> expected = {ObjectHashOfPath("docs"), ObjectHashOfPath("docs/notes.txt")};
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(context->active_locks.size(), 2u);
  EXPECT_EQ(context->active_locks[0].object_hash, expected[0]);
  EXPECT_EQ(context->active_locks[1].object_hash, expected[1]);
  EXPECT_EQ(context->active_locks[0].owner, NodeOf(a_));

  for (const MergePolicy policy : {MergePolicy::kConservativePlusV2,
                                   MergePolicy::kConservativePlusV3,
                                   MergePolicy::kConservativePlusV4}) {
    const Status decided = Decide(*context, policy, "docs/notes.txt", "other.txt", 8000);
    ASSERT_FALSE(decided.ok()) << MergePolicyName(policy);
    EXPECT_EQ(decided.error().code, SyncCode::kMergeLockConflict) << MergePolicyName(policy);
  }
  // Plain conservative looks at overlap only: disjoint, so safe.
  EXPECT_TRUE(Decide(*context, MergePolicy::kConservative, "docs/notes.txt", "other.txt", 8000)
                  .ok());
  // Once the lock has expired, the same merge is safe.
  Result<SyncMergeContextV2> later = ContextOf(b_, 6000 + kHour);
  HX_ASSERT_OK(later);
  EXPECT_TRUE(later->active_locks.empty());
  EXPECT_TRUE(Decide(*later, MergePolicy::kConservativePlusV2, "docs/notes.txt", "other.txt",
                     6000 + kHour)
                  .ok());
}

TEST_F(GovernanceTest, ChangesAuthoredByAReaderAreAnRbacFactForV3AndV4) {
  b_.Write("from-b.txt", "b");
  HX_ASSERT_OK(b_.Push(6000));
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(7000), NodeOf(b_), DeviceRole::kReader));
  a_.Write("from-a.txt", "a");

  Result<SyncMergeContextV2> context = ContextOf(a_, 8000);
  HX_ASSERT_OK(context);
  EXPECT_TRUE(context->author_chain_ok);
  EXPECT_EQ(context->unauthorized_remote_authors, std::vector<std::string>{NodeOf(b_)});
  EXPECT_EQ(context->local_role, "writer");

  Status v3 = Decide(*context, MergePolicy::kConservativePlusV3, "from-a.txt", "from-b.txt", 8000);
  ASSERT_FALSE(v3.ok());
  EXPECT_EQ(v3.error().code, SyncCode::kMergePolicyV3Unsafe);
  Status v4 = Decide(*context, MergePolicy::kConservativePlusV4, "from-a.txt", "from-b.txt", 8000);
  ASSERT_FALSE(v4.ok());
  EXPECT_EQ(v4.error().code, SyncCode::kMergePolicyV4Unsafe);
  // v2 does not check roles.
  EXPECT_TRUE(
      Decide(*context, MergePolicy::kConservativePlusV2, "from-a.txt", "from-b.txt", 8000).ok());
}

TEST_F(GovernanceTest, AReadersOwnLocalChangesAreAnRbacFact) {
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(6000), NodeOf(b_), DeviceRole::kReader));
  a_.Write("from-a.txt", "a");
  HX_ASSERT_OK(a_.Push(7000));
  b_.Write("from-b.txt", "b");
  Result<SyncMergeContextV2> context = ContextOf(b_, 8000);
  HX_ASSERT_OK(context);
  EXPECT_EQ(context->local_role, "reader");
  EXPECT_EQ(Decide(*context, MergePolicy::kConservativePlusV4, "from-b.txt", "from-a.txt", 8000)
                .error()
                .code,
            SyncCode::kMergePolicyV4Unsafe);
}

TEST_F(GovernanceTest, ASnapshotByADeviceTheVaultDoesNotKnowBreaksTheTrustChain) {
  b_.Write("from-b.txt", "b");
  HX_ASSERT_OK(b_.Push(6000));
  // The author's registration (its manifest) is gone: nobody vouches for it.
  fs::remove(fs::path(store_->TargetUri()) / "manifests" / (NodeOf(b_) + ".hxman"));
  a_.Write("from-a.txt", "a");

  Result<SyncMergeContextV2> context = ContextOf(a_, 8000);
  HX_ASSERT_OK(context);
  EXPECT_FALSE(context->author_chain_ok);
  for (const MergePolicy policy : {MergePolicy::kConservativePlusV2,
                                   MergePolicy::kConservativePlusV3,
                                   MergePolicy::kConservativePlusV4}) {
    const Status decided = Decide(*context, policy, "from-a.txt", "from-b.txt", 8000);
    ASSERT_FALSE(decided.ok()) << MergePolicyName(policy);
    EXPECT_EQ(decided.error().code, SyncCode::kMergeTrustConflict) << MergePolicyName(policy);
  }
}

TEST_F(GovernanceTest, AHeadThatDoesNotDescendFromTheBaseBreaksTheTrustChain) {
  b_.Write("from-b.txt", "b");
  HX_ASSERT_OK(b_.Push(6000));
  Result<Session> s = OpenSession(a_.vault(), a_.options(7000));
  HX_ASSERT_OK(s);
  Result<HeadState> head = ReadHead(*s->store, s->ctx);
  HX_ASSERT_OK(head);
  Result<Snapshot> snapshot = ReadSnapshot(*s->store, s->ctx, head->head->snapshot_id);
  HX_ASSERT_OK(snapshot);
  HX_ASSERT_OK(ReadMembership(*s->store, s->ctx));
  const Membership none{.vault_id = s->ctx.vault_id, .seq = 0, .members = {}};

  Result<TrustChain> from_root = CheckTrustChain(*s, *snapshot, std::nullopt, none);
  HX_ASSERT_OK(from_root);
  EXPECT_TRUE(from_root->author_chain_ok);
  EXPECT_EQ(from_root->snapshots_checked, 2u);
  EXPECT_EQ(from_root->authors.size(), 2u);

  Result<TrustChain> foreign_base =
      CheckTrustChain(*s, *snapshot, std::string(64, 'e'), none);
  HX_ASSERT_OK(foreign_base);
  EXPECT_FALSE(foreign_base->author_chain_ok);
  ASSERT_FALSE(foreign_base->problems.empty());
  EXPECT_NE(foreign_base->problems.back().find("does not descend"), std::string::npos);
}

TEST_F(GovernanceTest, ReportsMatchTheirSchemas) {
  Result<LockReport> added = SyncLockAdd(a_.vault(), a_.options(6000), "docs", kHour);
  HX_ASSERT_OK(added);
  HX_ASSERT_OK(MatchesSchema(*added, "lock_report"));
  HX_ASSERT_OK(SyncLockAdd(a_.vault(), a_.options(6000), "other/x.txt", 1));
  Result<LockListReport> listed = SyncLockList(b_.vault(), b_.options(7000));
  HX_ASSERT_OK(listed);
  ASSERT_EQ(listed->locks.size(), 2u);
  HX_ASSERT_OK(MatchesSchema(*listed, "lock_list_report"));
  Result<LockReport> removed = SyncLockRemove(a_.vault(), a_.options(8000), "docs", false);
  HX_ASSERT_OK(removed);
  HX_ASSERT_OK(MatchesSchema(*removed, "lock_report"));

  Result<MemberReport> set =
      SyncMemberSetRole(a_.vault(), a_.options(9000), NodeOf(b_), DeviceRole::kReader);
  HX_ASSERT_OK(set);
  HX_ASSERT_OK(MatchesSchema(*set, "member_report"));
  Result<MemberReport> members = SyncMemberList(b_.vault(), b_.options(9000));
  HX_ASSERT_OK(members);
  HX_ASSERT_OK(MatchesSchema(*members, "member_report"));

  // The schemas are not vacuous: a report with a foreign field fails.
  nlohmann::json bad = members->ToJson();
  bad["members"][0]["role"] = "owner";
  EXPECT_FALSE(ValidateAgainstSchemaFile(
                   bad, fs::path(HX_SOURCE_DIR) / "schemas" / "member_report.schema.json")
                   .ok());
}

// End to end: the preview a user runs refuses with each governance code.
TEST_F(GovernanceTest, MergePreviewRefusesOnEachGovernanceFactWithTheSeedsCodes) {
  // lock: the laptop holds docs/, the desktop edited beneath it.
  HX_ASSERT_OK(SyncLockAdd(a_.vault(), a_.options(6000), "docs", kHour));
  a_.Write("other.txt", "from a");
  HX_ASSERT_OK(a_.Push(7000));
  b_.Write("docs/notes.txt", "from b");
  EXPECT_EQ(PreviewVerdict(b_, MergePolicy::kConservativePlusV2, 8000).error().code,
            SyncCode::kMergeLockConflict);
  HX_ASSERT_OK(PreviewVerdict(b_, MergePolicy::kConservative, 8000));
  HX_ASSERT_OK(b_.Pull(9000));
  HX_ASSERT_OK(b_.Push(10000));
  HX_ASSERT_OK(SyncLockRemove(a_.vault(), a_.options(11000), "docs", false));
  HX_ASSERT_OK(a_.Pull(11000));

  // rbac: the desktop pushed, then the laptop made it a reader.
  b_.Write("by-b.txt", "b");
  HX_ASSERT_OK(b_.Push(12000));
  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(13000), NodeOf(b_), DeviceRole::kReader));
  a_.Write("by-a.txt", "a");
  HX_ASSERT_OK(PreviewVerdict(a_, MergePolicy::kConservativePlusV2, 14000));
  EXPECT_EQ(PreviewVerdict(a_, MergePolicy::kConservativePlusV3, 14000).error().code,
            SyncCode::kMergePolicyV3Unsafe);
  EXPECT_EQ(PreviewVerdict(a_, MergePolicy::kConservativePlusV4, 14000).error().code,
            SyncCode::kMergePolicyV4Unsafe);

  // trust: the author of the new snapshot is unknown to the vault.
  fs::remove(fs::path(store_->TargetUri()) / kMembershipKey);
  fs::remove(fs::path(store_->TargetUri()) / "manifests" / (NodeOf(b_) + ".hxman"));
  EXPECT_EQ(PreviewVerdict(a_, MergePolicy::kConservativePlusV2, 15000).error().code,
            SyncCode::kMergeTrustConflict);
}

// End to end through the engine: pull with a conservative_plus policy and a
// reader's push are refused, and nothing changes.
TEST_F(GovernanceTest, PullWithConservativePlusAndAReadersPushAreRefusedChangingNothing) {
  HX_ASSERT_OK(SyncLockAdd(a_.vault(), a_.options(6000), "docs", kHour));
  a_.Write("other.txt", "from a");
  HX_ASSERT_OK(a_.Push(7000));
  b_.Write("docs/notes.txt", "from b");
  SyncOptions options = b_.options(8000);
  options.auto_merge = MergePolicy::kConservativePlusV2;
  Result<PullReport> pulled = SyncPull(b_.vault(), options);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, SyncCode::kMergeLockConflict);
  EXPECT_FALSE(b_.Exists("other.txt"));
  EXPECT_EQ(b_.Read("docs/notes.txt"), "from b");

  HX_ASSERT_OK(SyncMemberSetRole(a_.vault(), a_.options(9000), NodeOf(b_), DeviceRole::kReader));
  HX_ASSERT_OK(b_.Pull(10000));
  const std::map<std::string, std::string> store_before = store_->Objects();
  Result<PushReport> pushed = b_.Push(11000);
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(pushed.error().category, Category::kAuth);
  EXPECT_EQ(store_->Objects(), store_before);
}

}  // namespace
}  // namespace hx
