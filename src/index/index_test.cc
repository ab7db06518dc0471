#include "index/index.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "base/hex.h"
#include "index/index_test_util.h"
#include "index/sqlite_db.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using namespace index_testing;  // NOLINT: the shared test vocabulary

TEST_F(IndexTest, OpenCreatesAnEmptyIndexInWalMode) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(fs::exists(file()));
  EXPECT_EQ(index->file(), file());
  EXPECT_TRUE(index->LoadBase()->empty());
  EXPECT_TRUE(index->LoadStatCache()->empty());
  EXPECT_TRUE(index->LoadBaseTrees()->empty());
  EXPECT_EQ(*index->CountObjects(), 0u);
  EXPECT_FALSE(index->GetMeta(kMetaBaseSnapshotId)->has_value());
  index.reset();
  // WAL is a property of the file: another connection sees it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(IndexTest, MetaValuesRoundTripAndPersistAcrossReopen) {
  {
    std::unique_ptr<Index> index = OpenOrDie(file());
    ASSERT_TRUE(index->SetMeta(kMetaBaseHeadSeq, "7").ok());
    ASSERT_TRUE(index->SetMeta(kMetaBaseHeadSeq, "8").ok());
    ASSERT_TRUE(index->SetMeta(kMetaLastError, R"({"code":"KC_SYNC_LOCKED"})").ok());
    ASSERT_TRUE(index->SetMeta(kMetaCounters, "").ok());
  }
  std::unique_ptr<Index> index = OpenOrDie(file());
  EXPECT_EQ(*index->GetMeta(kMetaBaseHeadSeq), "8");
  EXPECT_EQ(*index->GetMetaUint64(kMetaBaseHeadSeq), 8u);
  EXPECT_EQ(*index->GetMeta(kMetaLastError), R"({"code":"KC_SYNC_LOCKED"})");
  EXPECT_EQ(*index->GetMeta(kMetaCounters), "");
  EXPECT_FALSE(index->GetMetaUint64(kMetaMaxHeadSeq)->has_value());

  Result<Index::Transaction> txn = index->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(txn->DeleteMeta(kMetaLastError).ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_FALSE(index->GetMeta(kMetaLastError)->has_value());
}

TEST_F(IndexTest, AMetaNumberThatIsNotDecimalIsCorrupt) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  for (const char* bad : {"", "-1", "12a", "99999999999999999999999", " 1"}) {
    ASSERT_TRUE(index->SetMeta(kMetaMaxHeadSeq, bad).ok());
    Result<std::optional<std::uint64_t>> value = index->GetMetaUint64(kMetaMaxHeadSeq);
    ASSERT_FALSE(value.ok()) << bad;
    EXPECT_EQ(value.error().category, Category::kCorrupt);
  }
}

TEST_F(IndexTest, BaseStateOfEveryKindRoundTripsExactly) {
  const EntryMap base = SampleBase();
  {
    std::unique_ptr<Index> index = OpenOrDie(file());
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->ReplaceBase(base).ok());
    ASSERT_TRUE(txn->Commit().ok());
    Result<EntryMap> loaded = index->LoadBase();
    ASSERT_TRUE(loaded.ok()) << loaded.error().ToShortString();
    EXPECT_EQ(*loaded, base);
  }
  std::unique_ptr<Index> index = OpenOrDie(file());
  EXPECT_EQ(*index->LoadBase(), base);
}

TEST_F(IndexTest, ADamagedStatCacheRowIsCorrupt) {
  {
    std::unique_ptr<Index> index = OpenOrDie(file());
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->PutStat("s", Stat(5, 1)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  RawSql(file(), "UPDATE stat_cache SET chunks = x'01' WHERE path = 's'");
  Result<StatCache> cache = OpenOrDie(file())->LoadStatCache();
  ASSERT_FALSE(cache.ok());
  ExpectCorruptWithRebuildHint(cache.error(), file());
  EXPECT_EQ(cache.error().details.at("path"), "s");
}

TEST_F(IndexTest, UpdateBaseWritesOnlyTheDifference) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  const EntryMap before = SampleBase();
  EntryMap after = before;
  after.erase("a.txt");
  after["new.txt"] = File(9, 9);
  after["empty"].vv = Vv(5, 3);

  // The stored state differs from `before` in "link" only; since "link" is
  // the same in `before` and `after`, UpdateBase must leave that row alone.
  EntryMap stored = before;
  stored["link"].symlink_target = "stored";
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceBase(stored).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->UpdateBase(before, after).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EntryMap expected = after;
  expected["link"].symlink_target = "stored";
  EXPECT_EQ(*index->LoadBase(), expected);
}

TEST_F(IndexTest, UpdateBasePathsWritesOrDeletesOnlyTheNamedPaths) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  const EntryMap before = SampleBase();
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceBase(before).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EntryMap after = before;
  after.erase("a.txt");
  after["new.txt"] = File(9, 9);
  after["empty"].vv = Vv(5, 3);
  // "link" differs too, but is not named: its row must stay as it was.
  after["link"].symlink_target = "not named";
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->UpdateBasePaths(after, {"a.txt", "empty", "new.txt"}).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EntryMap expected = after;
  expected["link"] = before.at("link");
  EXPECT_EQ(*index->LoadBase(), expected);
}

TEST_F(IndexTest, PutAndDeleteBaseRowsOneByOne) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Result<Index::Transaction> txn = index->Begin();
  ASSERT_TRUE(txn->PutBase("x", File(1, 1)).ok());
  ASSERT_TRUE(txn->PutBase("y", File(2, 2)).ok());
  ASSERT_TRUE(txn->PutBase("x", File(3, 3)).ok());
  ASSERT_TRUE(txn->DeleteBase("y").ok());
  ASSERT_TRUE(txn->DeleteBase("never-there").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(*index->LoadBase(), (EntryMap{{"x", File(3, 3)}}));
}

TEST_F(IndexTest, ABaseEntryWithABadNodeIdIsRefusedAndNothingIsWritten) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Entry bad = File(1, 1);
  bad.vv = VersionVector(std::map<std::string, std::uint64_t>{{"not-a-node", 1}});
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->PutBase("ok", File(1, 1)).ok());
    Status put = txn->PutBase("bad", bad);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, SyncCode::kInternal);
  }
  EXPECT_TRUE(index->LoadBase()->empty());
}

TEST_F(IndexTest, DroppingATransactionRollsBackEveryChange) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  ASSERT_TRUE(index->SetMeta("kept", "1").ok());
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->SetMeta("kept", "2").ok());
    ASSERT_TRUE(txn->ReplaceBase(SampleBase()).ok());
    ASSERT_TRUE(txn->PutStat("a.txt", Stat(5, 1)).ok());
    ASSERT_TRUE(txn->PutBaseTree("", Id(9)).ok());
    const ObjectLocation location = Location(1, 'a', 0);
    ASSERT_TRUE(txn->AddObjects({&location, 1}).ok());
    ASSERT_TRUE(txn->MarkSnapshotImported(kSnapshot1, 1).ok());
    // Reads inside the transaction see its changes.
    EXPECT_EQ(*index->GetMeta("kept"), "2");
  }
  EXPECT_EQ(*index->GetMeta("kept"), "1");
  EXPECT_TRUE(index->LoadBase()->empty());
  EXPECT_TRUE(index->LoadStatCache()->empty());
  EXPECT_TRUE(index->LoadBaseTrees()->empty());
  EXPECT_EQ(*index->CountObjects(), 0u);
  EXPECT_FALSE(*index->IsSnapshotImported(kSnapshot1));
  // And a new transaction can start.
  EXPECT_TRUE(index->Begin().ok());
}

// The base token names one state of the base: every commit that wrote a
// base row gets a new one, and nothing else changes it.
TEST_F(IndexTest, ACommitThatWritesTheBaseRenewsTheBaseTokenAndNothingElseDoes) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  EXPECT_FALSE(index->GetMeta(kMetaBaseToken)->has_value()) << "no base written yet";
  const auto commit = [&](const auto& write) {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn.ok());
    write(*txn);
    ASSERT_TRUE(txn->Commit().ok());
  };
  const auto token = [&] { return index->GetMeta(kMetaBaseToken)->value_or(""); };

  commit([](Index::Transaction& txn) { ASSERT_TRUE(txn.ReplaceBase(SampleBase()).ok()); });
  const std::string first = token();
  EXPECT_EQ(first.size(), 32u);
  EXPECT_TRUE(IsLowerHex(first, 32)) << first;

  // Writes that leave the base rows alone keep it.
  commit([](Index::Transaction& txn) {
    ASSERT_TRUE(txn.PutStat("a.txt", Stat(5, 1)).ok());
    ASSERT_TRUE(txn.PutBaseTree("", Id(9)).ok());
    ASSERT_TRUE(txn.SetMeta("other", "x").ok());
    const ObjectLocation location = Location(1, 'a', 0);
    ASSERT_TRUE(txn.AddObjects({&location, 1}).ok());
    ASSERT_TRUE(txn.UpdateBase(SampleBase(), SampleBase()).ok());  // no difference: no write
  });
  EXPECT_EQ(token(), first);
  {
    Result<Index::Transaction> dropped = index->Begin();
    ASSERT_TRUE(dropped->PutBase("new.txt", File(1, 8)).ok());
  }
  EXPECT_EQ(token(), first) << "a rolled-back write renews nothing";

  // Each kind of base write does.
  std::string last = first;
  const auto expect_renewed = [&](const char* what) {
    const std::string now = token();
    EXPECT_EQ(now.size(), 32u) << what;
    EXPECT_NE(now, last) << what;
    last = now;
  };
  commit([](Index::Transaction& txn) { ASSERT_TRUE(txn.PutBase("new.txt", File(1, 8)).ok()); });
  expect_renewed("PutBase");
  commit([](Index::Transaction& txn) { ASSERT_TRUE(txn.DeleteBase("new.txt").ok()); });
  expect_renewed("DeleteBase");
  EntryMap changed = SampleBase();
  changed["a.txt"] = File(6, 1);
  commit([&](Index::Transaction& txn) { ASSERT_TRUE(txn.UpdateBase(SampleBase(), changed).ok()); });
  expect_renewed("UpdateBase");
  commit([&](Index::Transaction& txn) {
    ASSERT_TRUE(txn.UpdateBasePaths(SampleBase(), {"a.txt"}).ok());
  });
  expect_renewed("UpdateBasePaths");
  commit([](Index::Transaction& txn) { ASSERT_TRUE(txn.ClearBase().ok()); });
  expect_renewed("ClearBase");
  // It is in the file, not in this process: a reopened index sees it.
  index.reset();
  index = OpenOrDie(file());
  EXPECT_EQ(token(), last);
}

TEST_F(IndexTest, OnlyOneTransactionAtATimeAndNoWritesAfterCommit) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Result<Index::Transaction> txn = index->Begin();
  ASSERT_TRUE(txn.ok());
  Result<Index::Transaction> second = index->Begin();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, SyncCode::kInternal);
  ASSERT_TRUE(txn->Commit().ok());
  Status late = txn->SetMeta("k", "v");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, SyncCode::kInternal);
  EXPECT_FALSE(txn->Commit().ok());
  EXPECT_FALSE(index->GetMeta("k")->has_value());
}

TEST_F(IndexTest, AMovedTransactionStaysOneTransaction) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Result<Index::Transaction> txn = index->Begin();
  Index::Transaction moved(std::move(txn).value());
  ASSERT_TRUE(moved.SetMeta("k", "v").ok());
  ASSERT_TRUE(moved.Commit().ok());
  EXPECT_EQ(*index->GetMeta("k"), "v");
}

TEST_F(IndexTest, StatCacheRoundTripsAndUpdatesIncrementally) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  StatCache before{{"a", Stat(5, 1)}, {"b/c", Stat(0, 2)}, {"d", Stat(70000, 3)}};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceStatCache(before).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(*index->LoadStatCache(), before);

  StatCache after = before;
  after.erase("a");
  after["d"].stat.ctime_ns += 1;
  after["e"] = Stat(8, 4);
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->UpdateStatCache(before, after).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  index.reset();
  EXPECT_EQ(*OpenOrDie(file())->LoadStatCache(), after);
}

TEST_F(IndexTest, AManyRowStatCacheRoundTripsThroughChangesAndReplace) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  StatCache cache;
  for (int i = 0; i < 1000; ++i) {
    cache["dir" + std::to_string(i % 7) + "/file" + std::to_string(i)] =
        Stat(static_cast<std::uint64_t>(i), static_cast<std::uint8_t>(i));
  }
  StatCacheChanges changes;
  changes.put = cache;
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ApplyStatCacheChanges(changes).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(*index->LoadStatCache(), cache);
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceStatCache(cache).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(*index->LoadStatCache(), cache);
}

TEST_F(IndexTest, AScansStatCacheChangesAreWrittenAsADelta) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  StatCache cache{{"a", Stat(5, 1)}, {"b", Stat(6, 2)}, {"c", Stat(7, 3)}};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceStatCache(cache).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  StatCacheChanges changes;
  changes.put["b"] = Stat(60, 4);
  changes.put["d"] = Stat(8, 5);
  changes.remove = {"a", "never-there"};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ApplyStatCacheChanges(changes).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  changes.ApplyTo(cache);
  EXPECT_EQ(cache, (StatCache{{"b", Stat(60, 4)}, {"c", Stat(7, 3)}, {"d", Stat(8, 5)}}));
  EXPECT_EQ(*index->LoadStatCache(), cache);
  EXPECT_FALSE(changes.empty());
  EXPECT_TRUE(StatCacheChanges{}.empty());
}

TEST_F(IndexTest, BaseTreeIdsRoundTripAndUpdateIncrementally) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  const TreeIdMap before{{"", Id(1)}, {"a", Id(2)}, {"a/b", Id(3)}};
  TreeIdMap after{{"", Id(4)}, {"a", Id(2)}, {"c", Id(5)}};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceBaseTrees(before).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(*index->LoadBaseTrees(), before);
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->UpdateBaseTrees(before, after).ok());
    ASSERT_TRUE(txn->DeleteBaseTree("c").ok());
    ASSERT_TRUE(txn->PutBaseTree("d", Id(6)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  after.erase("c");
  after["d"] = Id(6);
  EXPECT_EQ(*index->LoadBaseTrees(), after);
}

// The newest location wins: after a prune deleted an object's pack, a newer
// snapshot lists the copy packed again, and the index must follow it.
TEST_F(IndexTest, ObjectLocationsRoundTripAndTheNewestLocationOfAnIdWins) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  std::vector<ObjectLocation> locations = {Location(1, 'a', 0), Location(2, 'a', 116),
                                           Location(3, 'b', 0)};
  ObjectLocation newer = Location(1, 'c', 500);
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->AddObjects(locations).ok());
    ASSERT_TRUE(txn->AddObjects({&newer, 1}).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  locations[0] = newer;
  index.reset();
  index = OpenOrDie(file());
  for (const ObjectLocation& location : locations) {
    Result<std::optional<ObjectLocation>> found = index->FindObject(location.id);
    ASSERT_TRUE(found.ok()) << found.error().ToShortString();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, location);
    EXPECT_TRUE(*index->HasObject(location.id));
  }
  EXPECT_FALSE(index->FindObject(Id(7))->has_value());
  EXPECT_EQ(*index->CountObjects(), 3u);
  const std::vector<ObjectId> ids = {Id(3), Id(7), Id(1), Id(0)};
  EXPECT_EQ(*index->HasObjects(ids), (std::vector<bool>{true, false, true, false}));
}

// A prune condemned or deleted a pack: its objects are forgotten, the
// others stay.
TEST_F(IndexTest, ForgetObjectsInPackForgetsExactlyThatPacksObjects) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  const std::vector<ObjectLocation> locations = {Location(1, 'a', 0), Location(2, 'a', 116),
                                                 Location(3, 'b', 0)};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->AddObjects(locations).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ForgetObjectsInPack(locations[0].blob_id).ok());
    ASSERT_TRUE(txn->ForgetObjectsInPack(std::string(64, 'f')).ok()) << "an unknown pack";
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_FALSE(*index->HasObject(Id(1)));
  EXPECT_FALSE(*index->HasObject(Id(2)));
  EXPECT_TRUE(*index->HasObject(Id(3)));
  EXPECT_EQ(*index->CountObjects(), 1u);
}

TEST_F(IndexTest, ALargeBatchOfIdsGetsTheSameAnswersAsOneByOne) {
  // Large enough next to the table that HasObjects merges a scan instead
  // of looking ids up one by one; duplicates and unsorted ids included.
  std::unique_ptr<Index> index = OpenOrDie(file());
  std::vector<ObjectLocation> locations;
  for (int i = 0; i < 100; i += 3) {
    locations.push_back(Location(static_cast<std::uint8_t>(i), 'a', 100 * i));
  }
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->AddObjects(locations).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  std::vector<ObjectId> ids;
  std::vector<bool> expected;
  for (int i = 0; i < 300; ++i) {
    const int fill = (i * 37) % 120;
    ids.push_back(Id(static_cast<std::uint8_t>(fill)));
    expected.push_back(fill < 100 && fill % 3 == 0);
  }
  Result<std::vector<bool>> found = index->HasObjects(ids);
  ASSERT_TRUE(found.ok()) << found.error().ToShortString();
  EXPECT_EQ(*found, expected);
  EXPECT_TRUE(index->HasObjects({})->empty());
}

TEST_F(IndexTest, AnObjectWithABadBlobIdIsRefused) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Result<Index::Transaction> txn = index->Begin();
  for (const std::string& blob : {std::string(64, 'A'), std::string(63, 'a'), std::string()}) {
    ObjectLocation location = Location(1, 'a', 0);
    location.blob_id = blob;
    Status added = txn->AddObjects({&location, 1});
    ASSERT_FALSE(added.ok()) << blob;
    EXPECT_EQ(added.error().code, SyncCode::kInternal);
  }
}

TEST_F(IndexTest, ImportedSnapshotsAreListedBySeqAndClearedWithTheObjects) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->MarkSnapshotImported(kSnapshot2, 2).ok());
    ASSERT_TRUE(txn->MarkSnapshotImported(kSnapshot1, 1).ok());
    const ObjectLocation location = Location(1, 'a', 0);
    ASSERT_TRUE(txn->AddObjects({&location, 1}).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(*index->IsSnapshotImported(kSnapshot1));
  EXPECT_FALSE(*index->IsSnapshotImported("3333"));
  EXPECT_EQ(*index->LoadImportedSnapshots(),
            (std::vector<ImportedSnapshot>{{kSnapshot1, 1}, {kSnapshot2, 2}}));
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ClearObjects().ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(index->LoadImportedSnapshots()->empty());
  EXPECT_EQ(*index->CountObjects(), 0u);
}

TEST_F(IndexTest, UnpublishedPacksRoundTripAndAreForgottenOneByOneOrAll) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  const std::vector<ObjectLocation> in_a = {Location(1, 'a', 0), Location(2, 'a', 101)};
  const std::vector<ObjectLocation> in_b = {Location(3, 'b', 0)};
  // An object already recorded in another unpublished pack keeps that one.
  const std::vector<ObjectLocation> in_c = {Location(1, 'c', 0), Location(4, 'c', 101)};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->AddUnpublishedPack({std::string(64, 'a'), 1000}, in_a).ok());
    // (The form a push records: the objects without their pack's id.)
    const std::vector<PackedObject> objects_b = {PackedObject::Of(in_b[0])};
    ASSERT_TRUE(txn->AddUnpublishedPack({std::string(64, 'b'), 2000},
                                        std::span<const PackedObject>(objects_b))
                    .ok());
    ASSERT_TRUE(txn->AddUnpublishedPack({std::string(64, 'c'), 3000}, in_c).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  index.reset();
  index = OpenOrDie(file());
  EXPECT_EQ(*index->LoadUnpublishedPacks(),
            (std::vector<UnpublishedPack>{{std::string(64, 'a'), 1000},
                                          {std::string(64, 'b'), 2000},
                                          {std::string(64, 'c'), 3000}}));
  for (const ObjectLocation& location : {in_a[0], in_a[1], in_b[0], in_c[1]}) {
    Result<std::optional<ObjectLocation>> found = index->FindUnpublishedObject(location.id);
    ASSERT_TRUE(found.ok()) << found.error().ToShortString();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, location);
  }
  // Not the object index: a push must see the pack on the store first.
  EXPECT_FALSE(*index->HasObject(in_a[0].id));
  EXPECT_FALSE(index->FindUnpublishedObject(Id(9))->has_value());

  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ForgetUnpublishedPack(std::string(64, 'a')).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_FALSE(index->FindUnpublishedObject(in_a[1].id)->has_value());
  EXPECT_FALSE(index->FindUnpublishedObject(in_a[0].id)->has_value());
  EXPECT_TRUE(index->FindUnpublishedObject(in_b[0].id)->has_value());
  EXPECT_EQ(index->LoadUnpublishedPacks()->size(), 2u);
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ClearUnpublished().ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(index->LoadUnpublishedPacks()->empty());
  EXPECT_FALSE(index->FindUnpublishedObject(in_b[0].id)->has_value());
}

TEST_F(IndexTest, AnUnpublishedPackWithABadIdOrAForeignObjectIsRefused) {
  std::unique_ptr<Index> index = OpenOrDie(file());
  Result<Index::Transaction> txn = index->Begin();
  const std::vector<ObjectLocation> in_a = {Location(1, 'a', 0)};
  Status bad_id = txn->AddUnpublishedPack({"not hex", 10}, in_a);
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error().code, SyncCode::kInternal);
  Status foreign = txn->AddUnpublishedPack({std::string(64, 'b'), 10}, in_a);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, SyncCode::kInternal);
  // The same for a push's form of the objects.
  std::vector<PackedObject> objects = {PackedObject::Of(in_a[0])};
  Status bad_pack = txn->AddUnpublishedPack({"not hex", 10}, std::span<const PackedObject>(objects));
  ASSERT_FALSE(bad_pack.ok());
  EXPECT_EQ(bad_pack.error().code, SyncCode::kInternal);
  objects[0].kind = static_cast<ObjectKind>(7);
  Status bad_kind =
      txn->AddUnpublishedPack({std::string(64, 'a'), 10}, std::span<const PackedObject>(objects));
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_EQ(bad_kind.error().code, SyncCode::kInternal);
}

}  // namespace
}  // namespace hx
