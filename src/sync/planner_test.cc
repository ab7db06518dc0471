#include "sync/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::string_view kA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr std::string_view kB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Entry File(std::uint8_t content, std::uint64_t size = 10) {
  Entry e;
  e.kind = EntryKind::kFile;
  e.size = size;
  ChunkRef c;
  c.id.fill(content);
  c.size = size;
  e.chunks.push_back(c);
  return e;
}

Entry Dir() {
  Entry e;
  e.kind = EntryKind::kDir;
  return e;
}

Entry WithVv(Entry e, std::map<std::string, std::uint64_t> vv) {
  e.vv = VersionVector(std::move(vv));
  return e;
}

TEST(DetectLocalChangesTest, NothingChangedKeepsTheBaseEntriesAndTheirVectors) {
  EntryMap base = {{"a", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap scanned = {{"a", File(1)}};
  scanned["a"].mtime_ns = 99;  // a touch alone is not a change
  LocalChanges c = DetectLocalChanges(base, scanned, kB);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.state, base);
}

TEST(DetectLocalChangesTest, AnEditBumpsThisNodesCounterAboveEveryOther) {
  EntryMap base = {{"a", WithVv(File(1), {{std::string(kA), 3}})}};
  LocalChanges c = DetectLocalChanges(base, {{"a", File(2)}}, kB);
  EXPECT_THAT(c.modified, ElementsAre("a"));
  EXPECT_EQ(c.state.at("a").vv.counters(),
            (std::map<std::string, std::uint64_t>{{std::string(kA), 3}, {std::string(kB), 4}}));
  EXPECT_EQ(c.state.at("a").vv.Compare(base.at("a").vv), VvOrder::kAfter);
}

TEST(DetectLocalChangesTest, AMissingFileBecomesATombstoneThatDescendsFromTheBase) {
  EntryMap base = {{"a", WithVv(File(1), {{std::string(kA), 1}})}};
  LocalChanges c = DetectLocalChanges(base, {}, kB);
  EXPECT_THAT(c.deleted, ElementsAre("a"));
  EXPECT_EQ(c.state.at("a").kind, EntryKind::kTombstone);
  EXPECT_EQ(c.state.at("a").vv.Compare(base.at("a").vv), VvOrder::kAfter);
}

TEST(DetectLocalChangesTest, ATombstoneStaysAndARecreatedFileDescendsFromIt) {
  Entry tomb = WithVv(Entry{}, {{std::string(kA), 2}});
  tomb.kind = EntryKind::kTombstone;
  EntryMap base = {{"a", tomb}};
  EXPECT_TRUE(DetectLocalChanges(base, {}, kB).empty());
  LocalChanges c = DetectLocalChanges(base, {{"a", File(5)}}, kB);
  EXPECT_THAT(c.added, ElementsAre("a"));
  EXPECT_EQ(c.state.at("a").vv.Compare(tomb.vv), VvOrder::kAfter);
}

TEST(PlanPullTest, RemoteOnlyChangesAreTakenAndLocalOnlyChangesKept) {
  EntryMap base = {{"r", WithVv(File(1), {{std::string(kA), 1}})},
                   {"l", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"r", File(1)}, {"l", File(2)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {{"r", File(3)}, {"l", File(1)}}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  ASSERT_EQ(plan.items.size(), 1u);
  EXPECT_EQ(plan.items[0].path, "r");
  EXPECT_EQ(plan.items[0].action, PullAction::kTakeRemote);
  const EntryMap merged = MergedState(plan, local, remote);
  EXPECT_TRUE(merged.at("r").SameContent(File(3)));
  EXPECT_TRUE(merged.at("l").SameContent(File(2)));
  EXPECT_EQ(plan.live_files_after, 2u);
  EXPECT_FALSE(plan.HasConflicts());
}

TEST(PlanPullTest, ConcurrentEditsOfOneFileAreAConflict) {
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(2)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {{"f", File(3)}}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  EXPECT_THAT(plan.ConflictPaths(), ElementsAre("f"));
  // Nothing is lost in the merged state: the local version stays.
  EXPECT_TRUE(MergedState(plan, local, remote).at("f").SameContent(File(2)));
}

TEST(PlanPullTest, TheSameEditOnBothSidesJoinsAsTheStoresVersion) {
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(2)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {{"f", File(2)}}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  EXPECT_FALSE(plan.HasConflicts());
  ASSERT_EQ(plan.items.size(), 1u);
  EXPECT_EQ(plan.items[0].action, PullAction::kJoin);
  // The store's entry, vector and all: this device keeps no knowledge the
  // store lacks (a push publishes only what differs on disk).
  const EntryMap merged = MergedState(plan, local, remote);
  EXPECT_EQ(merged.at("f"), remote.at("f"));
  EXPECT_TRUE(DetectLocalChanges(merged, {{"f", File(2)}}, kB).empty());
}

TEST(PlanPullTest, ADirectoryMadeOnBothSidesIsTheStoresAndADeleteOfItIsTaken) {
  // B made d without ever seeing A's d; A then deleted its d. B joins A's
  // d, and A's deletion, which descends from it, is then taken, on B as on
  // every other device whatever else B had changed.
  EntryMap remote = {{"d", WithVv(Dir(), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges({}, {{"d", Dir()}}, kB).state;
  PullPlan join = PlanPull(local, remote);
  EXPECT_FALSE(join.HasConflicts());
  const EntryMap joined = MergedState(join, local, remote);
  EXPECT_EQ(joined.at("d"), remote.at("d"));
  EntryMap deleted = DetectLocalChanges(remote, {}, kA).state;
  EntryMap local_after = DetectLocalChanges(joined, {{"d", Dir()}}, kB).state;
  PullPlan take = PlanPull(local_after, deleted);
  ASSERT_EQ(take.items.size(), 1u);
  EXPECT_EQ(take.items[0].action, PullAction::kTakeRemote);
  EXPECT_EQ(MergedState(take, local_after, deleted).at("d").kind, EntryKind::kTombstone);
}

TEST(PlanPullTest, ARemoteDeleteOfAnUntouchedFileIsTaken) {
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(1)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  ASSERT_EQ(plan.items.size(), 1u);
  EXPECT_EQ(plan.items[0].action, PullAction::kTakeRemote);
  EXPECT_EQ(MergedState(plan, local, remote).at("f").kind, EntryKind::kTombstone);
  EXPECT_EQ(plan.live_files_after, 0u);
}

TEST(PlanPullTest, AnEditConcurrentWithADeleteIsAConflictNotALoss) {
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(2)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {}, kA).state;
  EXPECT_THAT(PlanPull(local, remote).ConflictPaths(), ElementsAre("f"));
}

TEST(PlanPullTest, ADeviceThatMissedADeleteCannotResurrectTheFile) {
  // Device B still has f from the base and did not touch it; the remote
  // deleted it. The pull deletes it locally and the merged state keeps the
  // tombstone, so B's next push cannot bring f back.
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(1)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  const EntryMap merged = MergedState(plan, local, remote);
  EXPECT_EQ(merged.at("f").kind, EntryKind::kTombstone);
  EXPECT_TRUE(DetectLocalChanges(merged, {}, kB).empty());
}

TEST(PlanPullTest, RemovingADirectoryWithNewLocalContentIsAConflict) {
  EntryMap base = {{"d", WithVv(Dir(), {{std::string(kA), 1}})},
                   {"d/x", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local =
      DetectLocalChanges(base, {{"d", Dir()}, {"d/x", File(1)}, {"d/new", File(7)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  EXPECT_THAT(plan.ConflictPaths(), ElementsAre("d"));
  const EntryMap merged = MergedState(plan, local, remote);
  EXPECT_EQ(merged.at("d").kind, EntryKind::kDir);
  EXPECT_EQ(merged.at("d/x").kind, EntryKind::kTombstone);
  EXPECT_TRUE(merged.at("d/new").SameContent(File(7)));
  EXPECT_EQ(plan.live_files_after, 1u);
}

TEST(PlanPullTest, NothingChangedAnywherePlansNothing) {
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  PullPlan plan = PlanPull(base, base);
  EXPECT_THAT(plan.items, IsEmpty());
  EXPECT_EQ(MergedState(plan, base, base), base);
  EXPECT_EQ(plan.live_files_after, 1u);
}

TEST(PlanPullTest, ItemsPointAtTheStatesEntriesInsteadOfCopyingThem) {
  // A first pull plans every path of the vault: the items name the
  // entries of the states they were planned from (planner.h).
  EntryMap base = {{"f", WithVv(File(1), {{std::string(kA), 1}})}};
  EntryMap local = DetectLocalChanges(base, {{"f", File(2)}}, kB).state;
  EntryMap remote = DetectLocalChanges(base, {{"f", File(3)}, {"g", File(4)}}, kA).state;
  PullPlan plan = PlanPull(local, remote);
  ASSERT_EQ(plan.items.size(), 2u);
  EXPECT_EQ(plan.items[0].local, &local.at("f"));
  EXPECT_EQ(plan.items[0].remote, &remote.at("f"));
  EXPECT_EQ(plan.items[1].local, &NoEntry());
  EXPECT_EQ(NoEntry().kind, EntryKind::kTombstone);
  EXPECT_EQ(plan.items[1].remote, &remote.at("g"));
}

TEST(MergeEntriesTest, TheWinnerOfAConflictIsTheSameFromBothSides) {
  Entry a = WithVv(File(1), {{std::string(kA), 2}});
  Entry b = WithVv(File(2), {{std::string(kB), 2}});
  EntryMerge ab = MergeEntries(a, b);
  EntryMerge ba = MergeEntries(b, a);
  EXPECT_EQ(ab.action, PullAction::kConflict);
  EXPECT_EQ(ba.action, PullAction::kConflict);
  EXPECT_EQ(ab.entry, ba.entry);
}

}  // namespace
}  // namespace hx
