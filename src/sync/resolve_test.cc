// The resolver: what each policy decides for a conflict, the deterministic
// conflict names, and the strict decisions-file parser.
#include "sync/resolve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "json/canonical_json.h"
#include "json/schema_testing.h"

namespace hx {
namespace {

using ::testing::HasSubstr;

Entry File(std::uint8_t id, std::map<std::string, std::uint64_t> vv) {
  Entry e;
  e.kind = EntryKind::kFile;
  e.size = 10;
  ChunkRef c;
  c.id.fill(id);
  c.size = 10;
  e.chunks = {c};
  e.vv = VersionVector(std::move(vv));
  return e;
}

Entry Dir(std::map<std::string, std::uint64_t> vv) {
  Entry e = File(0, std::move(vv));
  e.kind = EntryKind::kDir;
  e.size = 0;
  e.chunks.clear();
  return e;
}

Entry Gone(std::map<std::string, std::uint64_t> vv) {
  Entry e = Dir(std::move(vv));
  e.kind = EntryKind::kTombstone;
  return e;
}

const std::string kNodeA = std::string(32, 'a');
const std::string kNodeB = std::string(32, 'b');

// What a device's folder holds after carrying out a resolution: path ->
// content id (the effect of moves, then items).
std::map<std::string, std::string> Outcome(const EntryMap& local, const Resolution& r) {
  std::map<std::string, std::string> out;
  for (const auto& [path, e] : local) {
    if (e.kind != EntryKind::kTombstone) out[path] = ContentId(e);
  }
  for (const LocalMove& m : r.moves) {
    if (m.to) out[*m.to] = out[m.path];
    out.erase(m.path);
  }
  for (const PlannedItem& item : r.items) {
    if (item.remote->kind == EntryKind::kTombstone) {
      out.erase(item.path);
    } else {
      out[item.path] = ContentId(*item.remote);
    }
  }
  return out;
}

// A resolution with the states it was planned from: its items point into
// them (planner.h), and the tests' states are often temporaries.
struct Resolved : Resolution {
  EntryMap local;
  EntryMap remote;
};

Resolved Resolve(EntryMap local, EntryMap remote, MergePolicy policy,
                 const Decisions* decisions = nullptr) {
  Resolved out;
  out.local = std::move(local);
  out.remote = std::move(remote);
  auto r = ResolveConflicts(PlanPull(out.local, out.remote), out.local, out.remote, policy,
                            decisions);
  EXPECT_TRUE(r.ok()) << r.error().ToShortString();
  if (r.ok()) static_cast<Resolution&>(out) = std::move(*r);
  return out;
}

TEST(ConflictCopyNameTest, NamesTheLosersNodeAndContentBeforeTheExtension) {
  const Entry loser = File(1, {{kNodeA, 1}, {kNodeB, 2}});
  const Entry winner = File(2, {{kNodeA, 2}, {kNodeB, 1}});
  const std::string content = ContentId(loser).substr(0, 8);
  EXPECT_EQ(ConflictCopyName("docs/report.txt", loser, winner),
            "docs/report (conflict bbbbbbbb " + content + ").txt");
  EXPECT_EQ(ConflictCopyName("Makefile", loser, winner),
            "Makefile (conflict bbbbbbbb " + content + ")");
  EXPECT_EQ(ConflictCopyName(".bashrc", loser, winner),
            ".bashrc (conflict bbbbbbbb " + content + ")");
  EXPECT_EQ(ConflictCopyName("a.tar.gz", loser, winner),
            "a.tar (conflict bbbbbbbb " + content + ").gz");
}

TEST(ConflictCopyVariantTest, NumbersTheVariantInsideTheMarkerBeforeTheExtension) {
  EXPECT_EQ(ConflictCopyVariant("docs/report (conflict bbbbbbbb 12345678).txt", 2),
            "docs/report (conflict bbbbbbbb 12345678 2).txt");
  // A variant's variant replaces the number.
  EXPECT_EQ(ConflictCopyVariant("docs/report (conflict bbbbbbbb 12345678 2).txt", 3),
            "docs/report (conflict bbbbbbbb 12345678 3).txt");
  EXPECT_EQ(ConflictCopyVariant("Makefile (conflict bbbbbbbb 12345678)", 2),
            "Makefile (conflict bbbbbbbb 12345678 2)");
  EXPECT_EQ(ConflictCopyVariant("a (b).tar (conflict bbbbbbbb 12345678).g)z", 4),
            "a (b).tar (conflict bbbbbbbb 12345678 4).g)z");
  // The marker must be in the leaf name.
  EXPECT_EQ(ConflictCopyVariant("d (conflict x y)/plain.txt", 2), "d (conflict x y)/plain.txt.~2~");
}

TEST(ContentIdTest, EqualExactlyForTheSameContent) {
  EXPECT_EQ(ContentId(File(1, {{kNodeA, 1}})), ContentId(File(1, {{kNodeB, 7}})));
  EXPECT_NE(ContentId(File(1, {})), ContentId(File(2, {})));
  Entry x = File(1, {});
  x.executable = true;
  EXPECT_NE(ContentId(x), ContentId(File(1, {})));
  EXPECT_NE(ContentId(Dir({})), ContentId(Gone({})));
}

TEST(KeepBothTest, BothSidesOfTheSameConflictEndWithTheSameFolder) {
  const Entry a = File(1, {{kNodeA, 2}});
  const Entry b = File(2, {{kNodeA, 1}, {kNodeB, 1}});
  const EntryMap on_a = {{"f.txt", a}};
  const EntryMap on_b = {{"f.txt", b}};
  const Resolved at_a = Resolve(on_a, on_b, MergePolicy::kKeepBoth);
  const Resolved at_b = Resolve(on_b, on_a, MergePolicy::kKeepBoth);
  const auto outcome_a = Outcome(on_a, at_a);
  EXPECT_EQ(outcome_a, Outcome(on_b, at_b));
  EXPECT_EQ(outcome_a.size(), 2u);
  ASSERT_EQ(at_a.conflicts.size(), 1u);
  EXPECT_EQ(at_a.conflicts[0].decision, "kept_both");
  EXPECT_EQ(at_a.conflicts[0].renamed_to, at_b.conflicts[0].renamed_to);
}

// After a head restored from a backup, two devices can hold one version
// concurrent with the head; the first resolves and publishes the loser under
// its conflict name. The second moves its own copy there: writing the
// store's copy over it as well would find the path taken and fail.
TEST(KeepBothTest, ALoserTheStoreAlreadyHoldsUnderItsConflictNameIsMovedThereOnly) {
  const Entry mine = File(1, {{kNodeA, 1}, {kNodeB, 1}});
  const Entry head = File(2, {{kNodeA, 2}});  // wins: the larger counter
  const std::string copy = ConflictCopyName("f.txt", mine, head);
  Entry published = mine;
  published.vv = VersionVector({{kNodeA, 1}, {kNodeB, 2}});
  const EntryMap local = {{"f.txt", mine}};
  const EntryMap remote = {{"f.txt", head}, {copy, published}};
  const Resolved r = Resolve(local, remote, MergePolicy::kKeepBoth);
  ASSERT_EQ(r.moves.size(), 1u);
  EXPECT_EQ(r.moves[0].path, "f.txt");
  EXPECT_EQ(r.moves[0].to, copy);
  for (const PlannedItem& item : r.items) EXPECT_NE(item.path, copy);
  EXPECT_EQ(Outcome(local, r),
            (std::map<std::string, std::string>{{"f.txt", ContentId(head)},
                                                {copy, ContentId(mine)}}));
}

TEST(KeepBothTest, AnEditSurvivesADeletionOnEitherSide) {
  const Entry edit = File(1, {{kNodeA, 2}});
  const Entry gone = Gone({{kNodeA, 1}, {kNodeB, 1}});
  const Resolved keep = Resolve({{"f", edit}}, {{"f", gone}}, MergePolicy::kKeepBoth);
  EXPECT_TRUE(keep.items.empty());
  EXPECT_EQ(keep.conflicts.at(0).decision, "kept_local");
  const Resolved take = Resolve({{"f", gone}}, {{"f", edit}}, MergePolicy::kKeepBoth);
  ASSERT_EQ(take.items.size(), 1u);
  EXPECT_EQ(*take.items[0].remote, edit);
  EXPECT_EQ(take.conflicts.at(0).decision, "kept_remote");
}

TEST(KeepBothTest, ADirectoryKeepsItsNameAndTheFileMovesAside) {
  const Entry dir = Dir({{kNodeA, 1}});
  const Entry child = File(3, {{kNodeA, 1}});
  const Entry file = File(4, {{kNodeB, 1}});
  const EntryMap local = {{"d", dir}, {"d/x", child}};
  const Resolved r = Resolve(local, {{"d", file}}, MergePolicy::kKeepBoth);
  const auto out = Outcome(local, r);
  EXPECT_EQ(out.at("d"), ContentId(dir));
  EXPECT_EQ(out.at("d/x"), ContentId(child));
  ASSERT_TRUE(r.conflicts.at(0).renamed_to.has_value());
  EXPECT_EQ(out.at(*r.conflicts[0].renamed_to), ContentId(file));
  // The other way round: the local file is renamed, the directory comes in.
  const Resolved back = Resolve({{"d", file}}, {{"d", dir}, {"d/x", child}},
                                  MergePolicy::kKeepBoth);
  ASSERT_EQ(back.moves.size(), 1u);
  EXPECT_EQ(back.moves[0].path, "d");
  const auto back_out = Outcome({{"d", file}}, back);
  EXPECT_EQ(back_out.at("d"), ContentId(dir));
  EXPECT_EQ(back_out.at("d/x"), ContentId(child));
  EXPECT_EQ(back_out.at(*back.moves[0].to), ContentId(file));
}

TEST(KeepBothTest, AnItemAtAConflictNameHoldsEntriesTheResolutionOwns) {
  // The remote file that loses to a local directory is written under its
  // conflict name: no state holds it there, so the resolution does, and
  // moving the resolution keeps what its items point at (resolve.h).
  const Entry dir = Dir({{kNodeA, 1}});
  const Entry file = File(4, {{kNodeB, 1}});
  Resolved r = Resolve({{"d", dir}}, {{"d", file}}, MergePolicy::kKeepBoth);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].path, r.conflicts.at(0).renamed_to);
  EXPECT_NE(r.items[0].remote, &r.remote.at("d"));
  const Resolution moved = std::move(static_cast<Resolution&>(r));
  ASSERT_EQ(moved.items.size(), 1u);
  EXPECT_EQ(*moved.items[0].remote, file);
  EXPECT_EQ(moved.items[0].local->kind, EntryKind::kTombstone);
}

TEST(KeepBothTest, ARemoteEditUnderALocallyDeletedDirectoryBringsTheDirectoryBack) {
  const EntryMap local = {{"d", Gone({{kNodeA, 2}})}, {"d/x", Gone({{kNodeA, 2}})}};
  const EntryMap remote = {{"d", Dir({{kNodeA, 1}})}, {"d/x", File(5, {{kNodeA, 1}, {kNodeB, 1}})}};
  const Resolved r = Resolve(local, remote, MergePolicy::kKeepBoth);
  const auto out = Outcome(local, r);
  EXPECT_EQ(out.count("d"), 1u);
  EXPECT_EQ(out.at("d/x"), ContentId(remote.at("d/x")));
}

TEST(PreferredTest, CloudPreferredArchivesTheLocalVersionAndTakesTheRemote) {
  const Entry a = File(1, {{kNodeA, 2}});
  const Entry b = File(2, {{kNodeA, 1}, {kNodeB, 1}});
  const Resolved r = Resolve({{"f", a}}, {{"f", b}}, MergePolicy::kCloudPreferred);
  ASSERT_EQ(r.moves.size(), 1u);
  EXPECT_FALSE(r.moves[0].to.has_value());  // into the archive
  EXPECT_TRUE(r.archives.empty());
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(*r.items[0].remote, b);
  EXPECT_TRUE(r.conflicts[0].archive_local);
  EXPECT_EQ(r.conflicts[0].decision, "kept_remote");
}

TEST(PreferredTest, LocalPreferredArchivesTheRemoteVersionAndAppliesNothing) {
  const Entry a = File(1, {{kNodeA, 2}});
  const Entry b = File(2, {{kNodeA, 1}, {kNodeB, 1}});
  const Resolved r = Resolve({{"f", a}}, {{"f", b}}, MergePolicy::kLocalPreferred);
  EXPECT_TRUE(r.moves.empty());
  ASSERT_EQ(r.archives.size(), 1u);
  EXPECT_EQ(r.archives[0].remote, b);
  EXPECT_TRUE(r.items.empty());
  EXPECT_EQ(r.conflicts[0].decision, "kept_local");
}

TEST(ManualTest, TheDecisionsMustNameExactlyTheConflicts) {
  const EntryMap local = {{"f", File(1, {{kNodeA, 2}})}};
  const EntryMap remote = {{"f", File(2, {{kNodeA, 1}, {kNodeB, 1}})}};
  const PullPlan plan = PlanPull(local, remote);
  const Decisions none;
  auto missing = ResolveConflicts(plan, local, remote, MergePolicy::kManualPerItem, &none);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, SyncCode::kMergePreconditionFailed);
  EXPECT_EQ(missing.error().details.at("missing"), "f");
  const Decisions extra = {{"f", ManualChoice::kBoth}, {"g", ManualChoice::kLocal}};
  auto too_many = ResolveConflicts(plan, local, remote, MergePolicy::kManualPerItem, &extra);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().details.at("extra"), "g");
  const Decisions exact = {{"f", ManualChoice::kRemote}};
  auto ok = ResolveConflicts(plan, local, remote, MergePolicy::kManualPerItem, &exact);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->conflicts.at(0).policy, MergePolicy::kCloudPreferred);
  EXPECT_FALSE(ResolveConflicts(plan, local, remote, MergePolicy::kManualPerItem, nullptr).ok());
  EXPECT_FALSE(ResolveConflicts(plan, local, remote, MergePolicy::kNone, nullptr).ok());
}

TEST(DecisionsFileTest, ParsesTheThreeChoices) {
  auto d = ParseDecisions(
      R"({"format_version":1,"decisions":{"a.txt":"local","b/c":"remote","d":"both"}})");
  ASSERT_TRUE(d.ok()) << d.error().ToShortString();
  EXPECT_EQ(d->size(), 3u);
  EXPECT_EQ(d->at("a.txt"), ManualChoice::kLocal);
  EXPECT_EQ(d->at("b/c"), ManualChoice::kRemote);
  EXPECT_EQ(d->at("d"), ManualChoice::kBoth);
}

TEST(DecisionsFileTest, TheSchemaAcceptsWhatTheParserAcceptsAndRefusesBadChoices) {
  const char* valid = R"({"format_version":1,"decisions":{"a.txt":"local","b/c":"remote","d":"both"}})";
  ASSERT_TRUE(ParseDecisions(valid).ok());
  EXPECT_TRUE(ValidateAgainstSchema(*ParseJson(valid), "schemas/decisions.schema.json"));
  for (const char* bad : {R"({"format_version":1,"decisions":{"a":"mine"}})",
                          R"({"format_version":2,"decisions":{}})",
                          R"({"format_version":1,"decisions":{},"extra":1})",
                          R"({"decisions":{}})"}) {
    EXPECT_FALSE(ParseDecisions(bad).ok()) << bad;
    EXPECT_FALSE(ValidateAgainstSchema(*ParseJson(bad), "schemas/decisions.schema.json")) << bad;
  }
}

TEST(DecisionsFileTest, RefusesAnythingElse) {
  for (const char* bad : {
           "",
           "[]",
           R"({"decisions":{}})",
           R"({"format_version":2,"decisions":{}})",
           R"({"format_version":1})",
           R"({"format_version":1,"decisions":[]})",
           R"({"format_version":1,"decisions":{},"extra":1})",
           R"({"format_version":1,"decisions":{"a":"mine"}})",
           R"({"format_version":1,"decisions":{"a":1}})",
           R"({"format_version":1,"decisions":{"a":"local","a":"remote"}})",
           R"({"format_version":1,"decisions":{"/abs":"local"}})",
           R"({"format_version":1,"decisions":{"../up":"local"}})",
           R"({"format_version":1,"decisions":{"a//b":"local"}})",
           R"({"format_version":1,"decisions":{"":"local"}})",
           R"({"format_version":1,"decisions":{"a/":"local"}})",
       }) {
    auto d = ParseDecisions(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, SyncCode::kInputInvalid) << bad;
  }
}

}  // namespace
}  // namespace hx
