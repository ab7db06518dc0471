#include "merge/preview.h"

#include <algorithm>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "json/canonical_json.h"
#include "json/schema_testing.h"

namespace hx {
namespace {

constexpr char kGoldenV1[] =
    R"golden({"decision_trace":["policy=conservative","local objects=2 overlays=1","remote objects=1 overlays=0","overlap objects=1 overlays=0","decision=unsafe"],"generated_at_ms":1700000000000,"local":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5","94c60f97ed63cd196a08aa2a07d4161b606bd26cffe4577dc5219511b4b78683"],"overlay_ids":["mode:d0c9946a9a8c96c751d4b25e02ff4d72b71462bc805d3862ab9e94a35efd51a6"]},"overlap":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5"],"overlay_ids":[]},"policy":"conservative","reasons":["unsafe_overlap_object"],"remote":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5"],"overlay_ids":[]},"safe":false,"schema_version":1})golden";
constexpr char kGoldenV2[] =
    R"golden({"decision_trace":["policy=keep_both","local objects=2 overlays=1","remote objects=1 overlays=0","overlap objects=1 overlays=0","check trust=skipped","check lock=skipped","check rbac=skipped","resolve items=1","decision=unsafe"],"generated_at_ms":1700000000000,"items":[{"action":"kept_both","object_hash":"0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5","path":"","renamed_to":""}],"local":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5","94c60f97ed63cd196a08aa2a07d4161b606bd26cffe4577dc5219511b4b78683"],"overlay_ids":["mode:d0c9946a9a8c96c751d4b25e02ff4d72b71462bc805d3862ab9e94a35efd51a6"]},"lock_conflicts":[],"overlap":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5"],"overlay_ids":[]},"policy":"keep_both","rbac_unsafe":false,"reasons":["unsafe_overlap_object"],"remote":{"object_hashes":["0c1b1bc9896253c19131abb26e3b1342f8ea0fb3148a5dcbe06ebe141831a5d5"],"overlay_ids":[]},"safe":false,"schema_version":2,"trust_conflict":false})golden";

std::string H(std::string_view path) { return ObjectHashOfPath(path); }

std::string Bytes(const nlohmann::json& value) {
  Result<std::string> bytes = WriteCanonicalJson(value);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::string();
}

TEST(SyncMergeHashes, ObjectHashIsTheBlake3HexOfTheNormalizedPath) {
  // BLAKE3("") from the official test vectors.
  EXPECT_EQ(ObjectHashOfPath(""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_TRUE(IsValidObjectHash(H("docs/a.txt")));
  EXPECT_NE(H("docs/a.txt"), H("docs/b.txt"));
  EXPECT_EQ(OverlayIdOf(kOverlayKindMode, "run.sh"), "mode:" + H("run.sh"));
}

TEST(SyncMergeHashes, OnlyLowercaseHexOf64DigitsIsAnObjectHash) {
  const std::string good = H("x");
  std::string upper = good;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_FALSE(IsValidObjectHash(upper));
  EXPECT_FALSE(IsValidObjectHash(good.substr(1)));
  EXPECT_FALSE(IsValidObjectHash(good + "0"));
  EXPECT_FALSE(IsValidObjectHash(""));
  EXPECT_FALSE(IsValidObjectHash(good.substr(1) + "g"));
}

TEST(SyncMergeHashes, OverlayIdGrammarIsStrict) {
  const std::string h = H("d");
  for (const std::string_view kind : {"mode", "symlink", "dir_created", "dir_removed"}) {
    EXPECT_TRUE(IsValidOverlayId(std::string(kind) + ":" + h)) << kind;
  }
  for (const std::string& bad :
       {std::string("mode") + h, "Mode:" + h, "owner:" + h, ":" + h, "mode:" + h + ":",
        "mode::" + h, "mode:" + h.substr(2), " mode:" + h, std::string("mode:")}) {
    EXPECT_FALSE(IsValidOverlayId(bad)) << bad;
  }
}

TEST(SyncMergePreview, NormalizesAndDeduplicatesUnsortedInputDeterministically) {
  SyncMergeChangeSetV1 local{{H("b"), H("a"), H("b"), H("c")},
                             {"mode:" + H("c"), "dir_created:" + H("a"), "mode:" + H("c")}};
  SyncMergeChangeSetV1 remote{{H("z")}, {}};
  Result<SyncMergePreviewReportV1> report = MergePreviewConservative(local, remote, 7);
  ASSERT_TRUE(report.ok()) << report.error().ToShortString();
  std::vector<std::string> expected{H("a"), H("b"), H("c")};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(report->local.object_hashes, expected);
  EXPECT_EQ(report->local.overlay_ids,
            (std::vector<std::string>{"dir_created:" + H("a"), "mode:" + H("c")}));
  EXPECT_TRUE(report->safe);
  EXPECT_EQ(report->reasons, std::vector<std::string>{"safe_disjoint"});
  EXPECT_EQ(report->generated_at_ms, 7);

  // Every permutation of the inputs, with extra duplicates, gives the same bytes.
  const std::string bytes = Bytes(ToJson(*report));
  std::mt19937 rng(42);
  for (int i = 0; i < 50; ++i) {
    SyncMergeChangeSetV1 shuffled = local;
    shuffled.object_hashes.push_back(shuffled.object_hashes[i % 4]);
    std::shuffle(shuffled.object_hashes.begin(), shuffled.object_hashes.end(), rng);
    std::shuffle(shuffled.overlay_ids.begin(), shuffled.overlay_ids.end(), rng);
    Result<SyncMergePreviewReportV1> again = MergePreviewConservative(shuffled, remote, 7);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Bytes(ToJson(*again)), bytes);
  }
}

TEST(SyncMergePreview, OverlapOfObjectsAndOverlaysIsDetectedAndSorted) {
  SyncMergeChangeSetV1 local{{H("c"), H("a"), H("b")}, {"mode:" + H("q"), "mode:" + H("p")}};
  SyncMergeChangeSetV1 remote{{H("b"), H("c"), H("d")}, {"mode:" + H("p"), "symlink:" + H("q")}};
  Result<SyncMergePreviewReportV1> report = MergePreviewConservative(local, remote, 1);
  ASSERT_TRUE(report.ok());
  std::vector<std::string> expected{H("b"), H("c")};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(report->overlap.object_hashes, expected);
  EXPECT_EQ(report->overlap.overlay_ids, std::vector<std::string>{"mode:" + H("p")});
  EXPECT_FALSE(report->safe);
  EXPECT_EQ(report->reasons,
            (std::vector<std::string>{"unsafe_overlap_object", "unsafe_overlay_overlap"}));
}

TEST(SyncMergePreview, UnsafePreviewIsMergeNotSafe) {
  Result<SyncMergePreviewReportV1> report =
      MergePreviewConservative({{H("a")}, {}}, {{H("a")}, {}}, 1);
  ASSERT_TRUE(report.ok());
  const Status status = EnsureConservativeMergeSafe(*report);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, SyncCode::kMergeNotSafe);
  EXPECT_EQ(status.error().category, Category::kConflict);
  EXPECT_EQ(status.error().details.at("first_object_hash"), H("a"));

  Result<SyncMergePreviewReportV1> disjoint =
      MergePreviewConservative({{H("a")}, {}}, {{H("b")}, {}}, 1);
  ASSERT_TRUE(disjoint.ok());
  EXPECT_TRUE(EnsureConservativeMergeSafe(*disjoint).ok());
}

TEST(SyncMergePreview, ATamperedSafeFlagDoesNotPassTheEnsure) {
  Result<SyncMergePreviewReportV1> report =
      MergePreviewConservative({{H("a")}, {}}, {{H("a")}, {}}, 1);
  ASSERT_TRUE(report.ok());
  report->safe = true;
  EXPECT_EQ(EnsureConservativeMergeSafe(*report).error().code, SyncCode::kMergeNotSafe);
}

TEST(SyncMergePreview, InvalidInputIsPreconditionFailed) {
  const std::vector<std::pair<SyncMergeChangeSetV1, SyncMergeChangeSetV1>> cases = {
      {{{"not-a-hash"}, {}}, {}},
      {{}, {{H("a").substr(0, 63)}, {}}},
      {{{}, {"mode:" + H("a") + "x"}}, {}},
      {{}, {{}, {"rename:" + H("a")}}},
      {{{std::string(100000, 'a')}, {}}, {}},
  };
  for (const auto& [local, remote] : cases) {
    Result<SyncMergePreviewReportV1> report = MergePreviewConservative(local, remote, 1);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, SyncCode::kMergePreconditionFailed);
    EXPECT_LE(report.error().details.at("value").size(), 100u);
    Result<SyncMergePreviewReportV2> v2 = MergePreviewWithPolicyV2(
        local, remote, {}, MergePolicy::kConservativePlusV2, 1);
    ASSERT_FALSE(v2.ok());
    EXPECT_EQ(v2.error().code, SyncCode::kMergePreconditionFailed);
  }
}

TEST(SyncMergePreview, UnknownPolicyNameIsPolicyUnsupported) {
  Result<SyncMergePreviewReportV2> report =
      MergePreviewWithPolicyV2({}, {}, {}, std::string_view("conservative_plus_v9"), 1);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, SyncCode::kMergePolicyUnsupported);
}

TEST(SyncMergePreview, InvalidContextIsPreconditionFailed) {
  SyncMergeContextV2 bad_lock;
  bad_lock.active_locks.push_back({"xyz", "node", 10});
  SyncMergeContextV2 bad_role;
  bad_role.local_role = "admin";
  for (const SyncMergeContextV2& context : {bad_lock, bad_role}) {
    Result<SyncMergePreviewReportV2> report =
        MergePreviewWithPolicyV2({}, {}, context, MergePolicy::kConservativePlusV3, 1);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, SyncCode::kMergePreconditionFailed);
  }
}

SyncMergePreviewReportV2 Preview(MergePolicy policy, const SyncMergeChangeSetV1& local,
                                 const SyncMergeChangeSetV1& remote,
                                 const SyncMergeContextV2& context, std::int64_t now_ms = 100) {
  Result<SyncMergePreviewReportV2> report =
      MergePreviewWithPolicyV2(local, remote, context, policy, now_ms);
  EXPECT_TRUE(report.ok()) << report.error().ToShortString();
  return report.ok() ? *report : SyncMergePreviewReportV2{};
}

TEST(SyncMergePolicyV2, TrustChainMismatchIsTrustConflict) {
  SyncMergeContextV2 context;
  context.expected_key_fingerprint = "aa";
  context.seen_key_fingerprint = "bb";
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservativePlusV2, {{H("a")}, {}}, {{H("b")}, {}}, context);
  EXPECT_TRUE(report.trust_conflict);
  EXPECT_FALSE(report.safe);
  EXPECT_EQ(report.reasons, std::vector<std::string>{"unsafe_trust"});
  EXPECT_EQ(EnsureConservativePlusV2MergeSafe(report).error().code,
            SyncCode::kMergeTrustConflict);

  SyncMergeContextV2 broken_chain;
  broken_chain.author_chain_ok = false;
  EXPECT_EQ(EnsureConservativePlusV2MergeSafe(
                Preview(MergePolicy::kConservativePlusV2, {}, {}, broken_chain))
                .error()
                .code,
            SyncCode::kMergeTrustConflict);
}

TEST(SyncMergePolicyV2, AnActiveLockOnALocallyChangedPathIsLockConflict) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("a"), "other-node", 200});
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservativePlusV2, {{H("a")}, {}}, {{H("b")}, {}}, context, 100);
  EXPECT_EQ(report.lock_conflicts, std::vector<std::string>{H("a")});
  EXPECT_EQ(report.reasons, std::vector<std::string>{"unsafe_lock"});
  EXPECT_EQ(EnsureConservativePlusV2MergeSafe(report).error().code,
            SyncCode::kMergeLockConflict);
}

TEST(SyncMergePolicyV2, AnExpiredLockOrALockOnAnUntouchedPathIsNoConflict) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("a"), "other-node", 100});  // expires exactly now
  context.active_locks.push_back({H("z"), "other-node", 500});  // path not changed here
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservativePlusV2, {{H("a")}, {}}, {{H("b")}, {}}, context, 100);
  EXPECT_TRUE(report.lock_conflicts.empty());
  EXPECT_TRUE(report.safe);
  EXPECT_TRUE(EnsureConservativePlusV2MergeSafe(report).ok());
}

TEST(SyncMergePolicyV2, OverlapTakesPrecedenceOverTrustAndLock) {
  SyncMergeContextV2 context;
  context.author_chain_ok = false;
  context.active_locks.push_back({H("a"), "other", 1000});
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservativePlusV2, {{H("a")}, {}}, {{H("a")}, {}}, context);
  EXPECT_EQ(report.reasons, (std::vector<std::string>{"unsafe_lock", "unsafe_overlap_object",
                                                      "unsafe_trust"}));
  EXPECT_EQ(EnsureConservativePlusV2MergeSafe(report).error().code, SyncCode::kMergeNotSafe);
}

TEST(SyncMergePolicyV2, ConservativeIgnoresTheContext) {
  SyncMergeContextV2 context;
  context.author_chain_ok = false;
  context.local_role = "reader";
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservative, {{H("a")}, {}}, {{H("b")}, {}}, context);
  EXPECT_TRUE(report.safe);
  EXPECT_FALSE(report.trust_conflict);
  EXPECT_TRUE(EnsureMergeSafe(report).ok());
}

TEST(SyncMergePolicyV3, ARemoteAuthorWithoutWriteRightsIsV3Unsafe) {
  SyncMergeContextV2 context;
  context.unauthorized_remote_authors = {"node-r"};
  const SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kConservativePlusV3, {{H("a")}, {}}, {{H("b")}, {}}, context);
  EXPECT_TRUE(report.rbac_unsafe);
  EXPECT_EQ(report.reasons, std::vector<std::string>{"unsafe_rbac"});
  EXPECT_EQ(EnsureConservativePlusV3MergeSafe(report).error().code,
            SyncCode::kMergePolicyV3Unsafe);
  EXPECT_EQ(EnsureMergeSafe(report).error().code, SyncCode::kMergePolicyV3Unsafe);
  // v2 does not look at roles.
  EXPECT_TRUE(Preview(MergePolicy::kConservativePlusV2, {{H("a")}, {}}, {{H("b")}, {}}, context)
                  .safe);
}

TEST(SyncMergePolicyV3, AReaderWithLocalChangesIsUnsafeAReaderWithoutIsSafe) {
  SyncMergeContextV2 context;
  context.local_role = "reader";
  EXPECT_TRUE(
      Preview(MergePolicy::kConservativePlusV3, {{H("a")}, {}}, {}, context).rbac_unsafe);
  EXPECT_FALSE(
      Preview(MergePolicy::kConservativePlusV3, {}, {{H("a")}, {}}, context).rbac_unsafe);
}

TEST(SyncMergePolicyV4, UsesTheV4ReasonCategoriesAndCode) {
  SyncMergeContextV2 context;
  context.author_chain_ok = false;
  context.unauthorized_remote_authors = {"n"};
  context.active_locks.push_back({H("a"), "o", 1000});
  const SyncMergePreviewReportV2 unsafe = Preview(
      MergePolicy::kConservativePlusV4, {{H("a")}, {"mode:" + H("a")}},
      {{H("a")}, {"mode:" + H("a")}}, context);
  EXPECT_EQ(unsafe.reasons,
            (std::vector<std::string>{"unsafe_lock_scope_v4", "unsafe_object_overlap_v4",
                                      "unsafe_overlay_overlap_v4", "unsafe_rbac_v4",
                                      "unsafe_trust_chain_v4"}));
  const SyncMergePreviewReportV2 safe = Preview(MergePolicy::kConservativePlusV4, {}, {}, {});
  EXPECT_EQ(safe.reasons, std::vector<std::string>{"safe_disjoint_v4"});
  SyncMergeContextV2 rbac_only;
  rbac_only.unauthorized_remote_authors = {"n"};
  EXPECT_EQ(EnsureConservativePlusV4MergeSafe(
                Preview(MergePolicy::kConservativePlusV4, {}, {}, rbac_only))
                .error()
                .code,
            SyncCode::kMergePolicyV4Unsafe);
}

TEST(SyncMergePolicyV3, V3UsesTheV3CategoriesVerbatim) {
  SyncMergeContextV2 context;
  context.author_chain_ok = false;
  context.unauthorized_remote_authors = {"n"};
  context.active_locks.push_back({H("a"), "o", 1000});
  const SyncMergePreviewReportV2 unsafe = Preview(
      MergePolicy::kConservativePlusV3, {{H("a")}, {"mode:" + H("a")}},
      {{H("a")}, {"mode:" + H("a")}}, context);
  EXPECT_EQ(unsafe.reasons,
            (std::vector<std::string>{"unsafe_lock", "unsafe_overlap_object",
                                      "unsafe_overlay_overlap", "unsafe_rbac", "unsafe_trust"}));
}

TEST(SyncMergePolicyV2, EnsureRefusesAReportOfAnotherPolicy) {
  const SyncMergePreviewReportV2 v3 = Preview(MergePolicy::kConservativePlusV3, {}, {}, {});
  EXPECT_EQ(EnsureConservativePlusV2MergeSafe(v3).error().code,
            SyncCode::kMergePreconditionFailed);
  EXPECT_EQ(EnsureConservativePlusV4MergeSafe(v3).error().code,
            SyncCode::kMergePreconditionFailed);
  EXPECT_TRUE(EnsureConservativePlusV3MergeSafe(v3).ok());
}

TEST(SyncMergeResolving, ResolvingPoliciesListWhatTheyWouldDoPerOverlappingObject) {
  const std::vector<std::pair<MergePolicy, std::string>> expected = {
      {MergePolicy::kNone, "conflict"},
      {MergePolicy::kKeepBoth, "kept_both"},
      {MergePolicy::kLocalPreferred, "kept_local"},
      {MergePolicy::kCloudPreferred, "kept_remote"},
      {MergePolicy::kManualPerItem, "await_decision"},
  };
  for (const auto& [policy, action] : expected) {
    const SyncMergePreviewReportV2 report =
        Preview(policy, {{H("b"), H("a")}, {}}, {{H("a"), H("b"), H("c")}, {}}, {});
    ASSERT_EQ(report.items.size(), 2u) << MergePolicyName(policy);
    EXPECT_LT(report.items[0].object_hash, report.items[1].object_hash);
    EXPECT_EQ(report.items[0].action, action);
    EXPECT_EQ(EnsureMergeSafe(report).error().code, SyncCode::kMergePolicyUnsupported);
  }
  EXPECT_TRUE(Preview(MergePolicy::kConservative, {{H("a")}, {}}, {{H("a")}, {}}, {})
                  .items.empty());
}

TEST(SyncMergeResolving, SetResolutionItemsSortsAndRecountsTheTrace) {
  SyncMergePreviewReportV2 report =
      Preview(MergePolicy::kKeepBoth, {{H("a")}, {}}, {{H("a")}, {}}, {});
  ASSERT_TRUE(SetResolutionItems(report, {{H("y"), "y", "kept_both", "y (conflict 1 2)"},
                                          {H("x"), "x", "kept_remote", ""}})
                  .ok());
  ASSERT_EQ(report.items.size(), 2u);
  EXPECT_LT(report.items[0].object_hash, report.items[1].object_hash);
  EXPECT_NE(std::find(report.decision_trace.begin(), report.decision_trace.end(),
                      "resolve items=2"),
            report.decision_trace.end());
  EXPECT_EQ(SetResolutionItems(report, {{H("x"), "x", "a", ""}, {H("x"), "x", "b", ""}})
                .error()
                .code,
            SyncCode::kMergePreconditionFailed);
  EXPECT_EQ(SetResolutionItems(report, {{"bad", "x", "a", ""}}).error().code,
            SyncCode::kMergePreconditionFailed);
  SyncMergePreviewReportV2 conservative =
      Preview(MergePolicy::kConservative, {{H("a")}, {}}, {{H("a")}, {}}, {});
  EXPECT_EQ(SetResolutionItems(conservative, {}).error().code, SyncCode::kInternal);
}

TEST(SyncMergePreview, DecisionTraceIsAFixedSequence) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("a"), "o", 1000});
  const SyncMergePreviewReportV2 report = Preview(
      MergePolicy::kConservativePlusV2, {{H("a"), H("b")}, {"mode:" + H("b")}}, {{H("c")}, {}},
      context);
  EXPECT_EQ(report.decision_trace,
            (std::vector<std::string>{
                "policy=conservative_plus_v2", "local objects=2 overlays=1",
                "remote objects=1 overlays=0", "overlap objects=0 overlays=0",
                "check trust=ok", "check lock=conflict count=1", "check rbac=skipped",
                "resolve skipped", "decision=unsafe"}));
}

// The bytes of a report are pinned: any change to names, order or format is
// a version-boundary change (seed 002) and must show up here.
TEST(SyncMergeGolden, ReportV1BytesArePinned) {
  Result<SyncMergePreviewReportV1> report = MergePreviewConservative(
      {{H("b.txt"), H("a.txt")}, {"mode:" + H("run.sh")}}, {{H("a.txt")}, {}}, 1700000000000);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(Bytes(ToJson(*report)), kGoldenV1);
}

TEST(SyncMergeGolden, ReportV2BytesArePinned) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("b.txt"), "node-2", 1700000000001});
  Result<SyncMergePreviewReportV2> report = MergePreviewWithPolicyV2(
      {{H("b.txt"), H("a.txt")}, {"mode:" + H("run.sh")}}, {{H("a.txt")}, {}}, context,
      MergePolicy::kKeepBoth, 1700000000000);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(Bytes(ToJson(*report)), kGoldenV2);
}

TEST(SyncMergeJson, ReportsRoundTripThroughCanonicalJson) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("a"), "node", 1000});
  context.unauthorized_remote_authors = {"x"};
  for (const MergePolicy policy : kAllMergePolicies) {
    const SyncMergePreviewReportV2 report =
        Preview(policy, {{H("a"), H("b")}, {"mode:" + H("a")}}, {{H("a")}, {}}, context);
    Result<SyncMergePreviewReportV2> back = ReportV2FromJson(ToJson(report));
    ASSERT_TRUE(back.ok()) << back.error().ToShortString();
    EXPECT_EQ(*back, report);
  }
  Result<SyncMergePreviewReportV1> v1 =
      MergePreviewConservative({{H("a")}, {"dir_removed:" + H("d")}}, {{H("a")}, {}}, 5);
  ASSERT_TRUE(v1.ok());
  Result<SyncMergePreviewReportV1> back = ReportV1FromJson(ToJson(*v1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *v1);
  Result<SyncMergeContextV2> context_back = ContextFromJson(ToJson(context));
  ASSERT_TRUE(context_back.ok());
  EXPECT_EQ(*context_back, context);
}

TEST(SyncMergeJson, ChangeSetParsingNormalizesAndRefusesBadShapes) {
  Result<SyncMergeChangeSetV1> set = ChangeSetFromJson(
      nlohmann::json{{"object_hashes", {H("b"), H("a"), H("b")}}, {"overlay_ids", nlohmann::json::array()}});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->object_hashes.size(), 2u);
  EXPECT_TRUE(std::is_sorted(set->object_hashes.begin(), set->object_hashes.end()));

  EXPECT_EQ(ChangeSetFromJson(nlohmann::json{{"object_hashes", {"zz"}}, {"overlay_ids", nlohmann::json::array()}})
                .error()
                .code,
            SyncCode::kMergePreconditionFailed);
  for (const nlohmann::json& bad :
       {nlohmann::json::array(), nlohmann::json{{"object_hashes", nlohmann::json::array()}},
        nlohmann::json{{"object_hashes", {1}}, {"overlay_ids", nlohmann::json::array()}},
        nlohmann::json{{"object_hashes", nlohmann::json::array()},
                       {"overlay_ids", nlohmann::json::array()},
                       {"extra", true}}}) {
    Result<SyncMergeChangeSetV1> parsed = ChangeSetFromJson(bad);
    ASSERT_FALSE(parsed.ok()) << bad.dump();
    EXPECT_EQ(parsed.error().code, SyncCode::kInputInvalid) << bad.dump();
  }
}

TEST(SyncMergeJson, AReportWithUnsortedArraysOrAnotherVersionIsRefused) {
  Result<SyncMergePreviewReportV1> report =
      MergePreviewConservative({{H("a"), H("b")}, {}}, {}, 1);
  ASSERT_TRUE(report.ok());
  nlohmann::json unsorted = ToJson(*report);
  std::reverse(unsorted["local"]["object_hashes"].begin(), unsorted["local"]["object_hashes"].end());
  EXPECT_FALSE(ReportV1FromJson(unsorted).ok());
  nlohmann::json v2 = ToJson(*report);
  v2["schema_version"] = 2;
  EXPECT_FALSE(ReportV1FromJson(v2).ok());
  nlohmann::json unknown_policy = ToJson(*report);
  unknown_policy["policy"] = "yolo";
  EXPECT_EQ(ReportV1FromJson(unknown_policy).error().code, SyncCode::kMergePolicyUnsupported);
  nlohmann::json other_policy = ToJson(*report);
  other_policy["policy"] = "keep_both";
  EXPECT_EQ(ReportV1FromJson(other_policy).error().code, SyncCode::kMergePreconditionFailed);
}

// ---- Schemas ------------------------------------------------------------------

constexpr char kSchemaV1[] = "schemas/sync_merge_preview_report_v1.schema.json";
constexpr char kSchemaV2[] = "schemas/sync_merge_preview_report_v2.schema.json";

TEST(SyncMergeSchema, ReportsOfEveryPolicyValidate) {
  SyncMergeContextV2 context;
  context.active_locks.push_back({H("a"), "node", 1000});
  context.author_chain_ok = false;
  context.unauthorized_remote_authors = {"x"};
  for (const MergePolicy policy : kAllMergePolicies) {
    for (const auto& [local, remote] :
         std::vector<std::pair<SyncMergeChangeSetV1, SyncMergeChangeSetV1>>{
             {{}, {}},
             {{{H("a"), H("b")}, {"mode:" + H("a"), "dir_created:" + H("d")}},
              {{H("a")}, {"mode:" + H("a")}}}}) {
      EXPECT_TRUE(ValidateAgainstSchema(ToJson(Preview(policy, local, remote, context)), kSchemaV2));
      EXPECT_TRUE(ValidateAgainstSchema(ToJson(Preview(policy, local, remote, {})), kSchemaV2));
    }
  }
  for (const bool overlap : {false, true}) {
    Result<SyncMergePreviewReportV1> v1 =
        MergePreviewConservative({{H("a")}, {"symlink:" + H("l")}},
                                 {{overlap ? H("a") : H("b")}, {"dir_removed:" + H("d")}}, 5);
    ASSERT_TRUE(v1.ok());
    EXPECT_TRUE(ValidateAgainstSchema(ToJson(*v1), kSchemaV1));
  }
}

TEST(SyncMergeSchema, BrokenReportsFailValidation) {
  Result<SyncMergePreviewReportV1> v1 = MergePreviewConservative({{H("a")}, {}}, {{H("a")}, {}}, 5);
  ASSERT_TRUE(v1.ok());
  const nlohmann::json good = ToJson(*v1);
  ASSERT_TRUE(ValidateAgainstSchema(good, kSchemaV1));
  std::vector<nlohmann::json> broken(7, good);
  broken[0]["local"]["object_hashes"][0] = "ABC";
  broken[1].erase("decision_trace");
  broken[2]["extra"] = 1;
  broken[3]["reasons"] = {"unsafe_rbac"};
  broken[4]["schema_version"] = 2;
  broken[5]["overlap"]["overlay_ids"] = {"rename:" + H("a")};
  broken[6]["local"]["object_hashes"] = {H("a"), H("a")};
  for (const nlohmann::json& report : broken) {
    EXPECT_FALSE(ValidateAgainstSchema(report, kSchemaV1)) << report.dump();
  }
  nlohmann::json v2 = ToJson(Preview(MergePolicy::kKeepBoth, {{H("a")}, {}}, {{H("a")}, {}}, {}));
  ASSERT_TRUE(ValidateAgainstSchema(v2, kSchemaV2));
  v2["items"][0]["action"] = "overwrite";
  EXPECT_FALSE(ValidateAgainstSchema(v2, kSchemaV2));
}

}  // namespace
}  // namespace hx
