// hx sync prune: deletes only what forgotten snapshots alone needed, in two
// phases with a grace period; a device whose index locates an object in a
// pruned pack packs it again instead of publishing a dangling reference,
// also when the prune runs in the middle of its push (at a checkpoint, and
// from another thread).
#include "history/prune.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "history/forget.h"
#include "history/history.h"
#include "history/verify.h"
#include "meta/prune_record.h"
#include "sync/prune_guard.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr std::int64_t kT0 = 1'796'544'000'000;  // 2026-12-06T08:00:00Z
constexpr std::int64_t kHour = 3'600'000;

std::size_t Count(const StoreFixture& store, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& [key, bytes] : store.Objects()) n += key.starts_with(prefix) ? 1 : 0;
  return n;
}

std::uint64_t PackBytes(const StoreFixture& store) {
  std::uint64_t n = 0;
  for (const auto& [key, bytes] : store.Objects()) {
    if (key.starts_with("blobs/")) n += bytes.size();
  }
  return n;
}

// A file of `n` bytes that compresses badly, seeded.
std::string Incompressible(std::uint64_t seed, std::size_t n) {
  std::string out(n, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

class PruneTest : public ::testing::Test {
 protected:
  PruneTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 5), b_(*store_, "b", 6) {}
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(kT0));
    HX_ASSERT_OK(b_.Init(kT0));
  }
  static void Published(const Result<PushReport>& pushed) {
    ASSERT_TRUE(pushed.ok()) << pushed.error().ToShortString();
    EXPECT_EQ(pushed->outcome, "published");
  }
  Result<ForgetReport> KeepLast(Device& d, std::uint64_t n, std::int64_t now) {
    ForgetOptions o;
    o.keep_last = n;
    return SyncForget(d.vault(), d.options(now), o);
  }
  Result<PruneReport> Prune(Device& d, std::int64_t now, std::string grace = "0") {
    PruneOptions o;
    o.grace = std::move(grace);
    return SyncPrune(d.vault(), d.options(now), o);
  }
  // verify --read-data: every retained snapshot reads back, byte for byte.
  void ExpectWhole(Device& d, std::int64_t now) {
    VerifyOptions o;
    o.read_data_percent = 100;
    Result<VerifyReport> v = SyncVerify(d.vault(), d.options(now), o);
    ASSERT_TRUE(v.ok()) << v.error().ToShortString();
    EXPECT_FALSE(v->error.has_value()) << v->ToHuman();
    EXPECT_TRUE(v->damaged_objects.empty()) << v->ToHuman();
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_, b_;
};

TEST_F(PruneTest, DeletesOnlyThePacksForgottenSnapshotsAloneNeededAndFreesWhatItReports) {
  a_.Write("keep.bin", Incompressible(1, 50'000));
  for (int v = 0; v < 4; ++v) {
    a_.Write("f.bin", Incompressible(10 + v, 40'000));
    Published(a_.Push(kT0 + v * kHour));
  }
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 5 * kHour));
  const std::uint64_t before = PackBytes(*store_);
  Result<PruneReport> dry = [&] {
    PruneOptions o;
    o.grace = "0";
    o.dry_run = true;
    return SyncPrune(a_.vault(), a_.options(kT0 + 6 * kHour), o);
  }();
  HX_ASSERT_OK(dry);
  EXPECT_EQ(dry->packs_deleted, 2u);
  EXPECT_EQ(PackBytes(*store_), before) << "a dry run deletes nothing";

  Result<PruneReport> pruned = Prune(a_, kT0 + 6 * kHour);
  HX_ASSERT_OK(pruned);
  // Versions 1 and 2 of f.bin each had a pack of their own (with their
  // root tree); version 0 shares its pack with keep.bin, which the head
  // still needs (the rest of that pack is garbage a repack would free).
  EXPECT_EQ(pruned->snapshots_forgotten, 3u);
  EXPECT_EQ(pruned->packs_deleted, 2u) << pruned->ToHuman();
  EXPECT_GT(pruned->garbage_bytes_in_needed_packs, 40'000u);
  EXPECT_EQ(PackBytes(*store_), before - pruned->bytes_deleted);
  EXPECT_EQ(PackBytes(*store_), pruned->bytes_needed);
  EXPECT_EQ(pruned->epoch, 1u);
  ExpectWhole(a_, kT0 + 7 * kHour);
  // A second device joining now gets every retained file.
  HX_ASSERT_OK(b_.Pull(kT0 + 7 * kHour));
  EXPECT_EQ(b_.Read("f.bin"), Incompressible(13, 40'000));
  EXPECT_EQ(b_.Read("keep.bin"), Incompressible(1, 50'000));
  // Nothing more to do.
  Result<PruneReport> again = Prune(a_, kT0 + 8 * kHour);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->packs_deleted, 0u);
  EXPECT_EQ(again->packs_condemned_now, 0u);
}

TEST_F(PruneTest, AGracePeriodCondemnsFirstAndALaterRunDeletes) {
  for (int v = 0; v < 3; ++v) {
    a_.Write("f.bin", Incompressible(20 + v, 30'000));
    Published(a_.Push(kT0 + v * kHour));
  }
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 3 * kHour));
  const std::uint64_t before = PackBytes(*store_);
  Result<PruneReport> first = Prune(a_, kT0 + 4 * kHour, "24h");
  HX_ASSERT_OK(first);
  EXPECT_EQ(first->packs_condemned_now, 2u);
  EXPECT_EQ(first->packs_deleted, 0u);
  EXPECT_EQ(PackBytes(*store_), before);
  // A forgotten version is still restorable during the grace period.
  Result<RestoreReport> restored =
      SyncRestore(a_.vault(), a_.options(kT0 + 5 * kHour), {"f.bin", "1", ""});
  HX_ASSERT_OK(restored);
  Result<PruneReport> early = Prune(a_, kT0 + 20 * kHour, "24h");
  HX_ASSERT_OK(early);
  EXPECT_EQ(early->packs_deleted, 0u);
  EXPECT_EQ(early->packs_condemned, 2u);
  Result<PruneReport> late = Prune(a_, kT0 + 29 * kHour, "24h");
  HX_ASSERT_OK(late);
  EXPECT_EQ(late->packs_deleted, 2u);
  EXPECT_EQ(PackBytes(*store_), before - late->bytes_deleted);
  ExpectWhole(a_, kT0 + 30 * kHour);
}

// The defect class: a push deduplicates against its index, which still
// locates an old chunk in a pack a prune deleted (a restore, or the same
// bytes written again, re-references it).
TEST_F(PruneTest, ContentWrittenAgainAfterItsPackWasPrunedIsPackedAgain) {
  const std::string v1 = Incompressible(30, 60'000);
  a_.Write("f.bin", v1);
  Published(a_.Push(kT0));
  HX_ASSERT_OK(b_.Pull(kT0 + 1));
  a_.Write("f.bin", Incompressible(31, 60'000));
  Published(a_.Push(kT0 + kHour));
  HX_ASSERT_OK(b_.Pull(kT0 + kHour + 1));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 2 * kHour));
  Result<PruneReport> pruned = Prune(a_, kT0 + 3 * kHour);
  HX_ASSERT_OK(pruned);
  ASSERT_GE(pruned->packs_deleted, 1u);
  // b (whose index learned v1's location from a's snapshot) writes v1 again.
  b_.Write("g.bin", v1);
  Published(b_.Push(kT0 + 4 * kHour));
  ExpectWhole(a_, kT0 + 5 * kHour);
  HX_ASSERT_OK(a_.Pull(kT0 + 5 * kHour));
  EXPECT_EQ(a_.Read("g.bin"), v1);
  // And a itself (its own upload) restores v1 by writing it back.
  a_.Write("f.bin", v1);
  Published(a_.Push(kT0 + 6 * kHour));
  ExpectWhole(b_, kT0 + 7 * kHour);
  Device c(*store_, "c", 7);
  HX_ASSERT_OK(c.Init(kT0 + 8 * kHour));
  HX_ASSERT_OK(c.Pull(kT0 + 8 * kHour));
  EXPECT_EQ(c.Read("f.bin"), v1);
  EXPECT_EQ(c.Read("g.bin"), v1);
}

// The prune runs between b's upload and b's publish (the checkpoint
// push.after_upload: b has skipped the chunk its index locates in a pack
// the prune then deletes). b must not publish; it packs the chunk again.
TEST_F(PruneTest, APruneDuringAPushMakesItPackAgainWhatThePruneDeleted) {
  const std::string v1 = Incompressible(40, 60'000);
  a_.Write("f.bin", v1);
  Published(a_.Push(kT0));
  HX_ASSERT_OK(b_.Pull(kT0 + 1));
  a_.Write("f.bin", Incompressible(41, 60'000));
  Published(a_.Push(kT0 + kHour));
  HX_ASSERT_OK(b_.Pull(kT0 + kHour + 1));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 2 * kHour));

  b_.Write("g.bin", v1);
  SyncOptions o = b_.options(kT0 + 3 * kHour);
  int prunes = 0;
  o.checkpoint = [&](std::string_view point) {
    if (point != "push.after_upload" || prunes++ != 0) return;
    Result<PruneReport> pruned = Prune(a_, kT0 + 3 * kHour);
    ASSERT_TRUE(pruned.ok()) << pruned.error().ToShortString();
    EXPECT_GE(pruned->packs_deleted, 1u);
  };
  Result<PushReport> pushed = SyncPush(b_.vault(), o);
  HX_ASSERT_OK(pushed);
  EXPECT_EQ(pushed->outcome, "published");
  EXPECT_EQ(prunes, 2) << "the push ran twice: the first run saw its pack deleted";
  ExpectWhole(a_, kT0 + 4 * kHour);
  HX_ASSERT_OK(a_.Pull(kT0 + 4 * kHour));
  EXPECT_EQ(a_.Read("g.bin"), v1);
}

// Two threads: b pushes edits (re-using old contents) while a forgets and
// prunes with no grace period, over and over. Every push either publishes
// or fails with a retryable error: the write lock is held, or prunes deleted
// a pack it relied on on each of its attempts (how often depends on the
// threads' timing, so the test counts neither). Afterwards every retained
// snapshot reads back whole and a new device gets b's last state.
TEST_F(PruneTest, PrunesRacingPushesFromAnotherThreadNeverLeaveADanglingReference) {
  std::vector<std::string> contents;
  for (int i = 0; i < 4; ++i) contents.push_back(Incompressible(50 + i, 20'000));
  b_.Write("f.bin", contents[0]);
  // Beside the first f.bin in one pack: once that version is forgotten the
  // pack is ~20% live, so the prunes repack it and move the head while b
  // pushes.
  b_.Write("g.bin", Incompressible(59, 5'000));
  Published(b_.Push(kT0));
  b_.Write("f.bin", contents[1]);
  Published(b_.Push(kT0 + 1));
  HX_ASSERT_OK(a_.Pull(kT0 + 2));
  std::atomic<bool> done = false;
  std::atomic<int> prunes = 0;
  std::atomic<std::uint64_t> repacked = 0;
  // One clock for both (a lock stamped by a clock hours behind the other
  // looks expired to it: that takeover is the lock's test, not this one's).
  std::atomic<std::int64_t> clock = kT0 + 3;
  std::thread pruner([&] {
    while (!done.load()) {
      const std::int64_t now = clock.fetch_add(1);
      (void)KeepLast(a_, 1, now);
      Result<PruneReport> pruned = Prune(a_, now);
      if (pruned.ok()) {
        prunes.fetch_add(1);
        repacked.fetch_add(pruned->packs_repacked);
      } else {
        EXPECT_EQ(pruned.error().code, SyncCode::kLocked) << pruned.error().ToShortString();
      }
    }
  });
  int published = 0;
  for (int round = 1; round <= 24; ++round) {
    b_.Write("f.bin", contents[static_cast<std::size_t>(round) % contents.size()]);
    b_.Write("n.txt", std::to_string(round));
    Result<PushReport> pushed = b_.Push(clock.fetch_add(1));
    if (pushed.ok()) {
      ++published;
    } else {
      EXPECT_TRUE(pushed.error().code == SyncCode::kLocked || IsPruneRetry(pushed.error()))
          << pushed.error().ToShortString();
    }
    while (prunes.load() < round && round < 24) std::this_thread::yield();
  }
  done.store(true);
  pruner.join();
  EXPECT_GT(published, 0);
  EXPECT_GT(prunes.load(), 0);
  EXPECT_GT(repacked.load(), 0u) << "the prunes repacked (and relocated) while b pushed";
  ExpectWhole(a_, clock.load() + 1);
  Result<PushReport> last = b_.Push(clock.load() + 2);
  HX_ASSERT_OK(last);
  Device c(*store_, "c", 7);
  HX_ASSERT_OK(c.Init(clock.load() + 3));
  HX_ASSERT_OK(c.Pull(clock.load() + 3));
  EXPECT_EQ(c.Snapshot(), b_.Snapshot());
}


// ---- repack ----------------------------------------------------------------

// The defect class: a pack that holds a little live data beside much
// garbage was needed for ever, so prune freed nothing on real data.
TEST_F(PruneTest, APackMostlyGarbageIsRepackedAndItsOldBytesAreFreed) {
  a_.Write("keep.bin", Incompressible(60, 10'000));
  a_.Write("big.bin", Incompressible(61, 90'000));
  Published(a_.Push(kT0));
  a_.Write("big.bin", Incompressible(62, 90'000));
  Published(a_.Push(kT0 + kHour));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 2 * kHour));
  const std::uint64_t before = PackBytes(*store_);
  Result<PruneReport> pruned = Prune(a_, kT0 + 3 * kHour);
  HX_ASSERT_OK(pruned);
  // The first pack is ~10% live (keep.bin): its live objects move to a new
  // pack, listed by a relocation snapshot on the head, and it goes.
  EXPECT_EQ(pruned->packs_repacked, 1u) << pruned->ToHuman();
  EXPECT_EQ(pruned->packs_written, 1u);
  EXPECT_GE(pruned->objects_copied, 1u);
  EXPECT_FALSE(pruned->relocation_snapshot.empty());
  EXPECT_EQ(pruned->relocation_seq, 3u);
  EXPECT_EQ(PackBytes(*store_), pruned->bytes_needed);
  EXPECT_LT(PackBytes(*store_), before - 80'000) << "the old version's 90 kB are freed";
  EXPECT_LT(pruned->garbage_bytes_in_needed_packs, 2'000u) << pruned->ToHuman();
  ExpectWhole(a_, kT0 + 4 * kHour);
  // The relocation is the head, with the same files.
  LogOptions log;
  Result<LogReport> listed = SyncLog(a_.vault(), a_.options(kT0 + 4 * kHour), log);
  HX_ASSERT_OK(listed);
  ASSERT_FALSE(listed->snapshots.empty());
  EXPECT_EQ(listed->snapshots[0].snapshot_id, pruned->relocation_snapshot);
  EXPECT_EQ(listed->snapshots[0].added + listed->snapshots[0].modified +
                listed->snapshots[0].deleted,
            0u);
  // ... and says so; the snapshot below it is an ordinary one.
  EXPECT_TRUE(listed->snapshots[0].relocation);
  ASSERT_GE(listed->snapshots.size(), 2u);
  EXPECT_FALSE(listed->snapshots[1].relocation);
  EXPECT_NE(listed->ToHuman().find("(prune relocation"), std::string::npos) << listed->ToHuman();
  EXPECT_EQ(listed->ToJson()["snapshots"][0]["relocation"], true);
  // A new device gets every file.
  HX_ASSERT_OK(b_.Pull(kT0 + 4 * kHour));
  EXPECT_EQ(b_.Read("keep.bin"), Incompressible(60, 10'000));
  EXPECT_EQ(b_.Read("big.bin"), Incompressible(62, 90'000));
  // a, whose base is the relocation's parent, pushes with policy none: the
  // relocation is adopted, not a divergence.
  a_.Write("new.txt", "new");
  Result<PushReport> pushed = a_.Push(kT0 + 5 * kHour);
  Published(pushed);
  EXPECT_EQ(pushed->head_seq, 4u);
  // Nothing churns: a second run repacks nothing and moves no head.
  Result<PruneReport> again = Prune(a_, kT0 + 6 * kHour);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->packs_repacked, 0u);
  EXPECT_TRUE(again->relocation_snapshot.empty());
  EXPECT_EQ(again->packs_deleted, 0u);
  ExpectWhole(b_, kT0 + 7 * kHour);
  HX_ASSERT_OK(b_.Pull(kT0 + 7 * kHour));
  EXPECT_EQ(b_.Read("new.txt"), "new");
}

// --repack-below 0 never repacks (the old behaviour), and a dry run writes
// nothing: no pack, no relocation.
TEST_F(PruneTest, RepackBelowZeroNeverRepacksAndADryRunWritesNothing) {
  a_.Write("keep.bin", Incompressible(63, 10'000));
  a_.Write("big.bin", Incompressible(64, 90'000));
  Published(a_.Push(kT0));
  a_.Write("big.bin", Incompressible(65, 90'000));
  Published(a_.Push(kT0 + kHour));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 2 * kHour));
  const std::map<std::string, std::string> objects = store_->Objects();
  PruneOptions dry;
  dry.grace = "0";
  dry.dry_run = true;
  Result<PruneReport> would = SyncPrune(a_.vault(), a_.options(kT0 + 3 * kHour), dry);
  HX_ASSERT_OK(would);
  EXPECT_EQ(would->packs_repacked, 1u);
  EXPECT_TRUE(would->relocation_snapshot.empty());
  EXPECT_EQ(store_->Objects(), objects) << "a dry run writes nothing";
  PruneOptions never;
  never.grace = "0";
  never.repack_below_percent = 0;
  Result<PruneReport> pruned = SyncPrune(a_.vault(), a_.options(kT0 + 3 * kHour), never);
  HX_ASSERT_OK(pruned);
  EXPECT_EQ(pruned->packs_repacked, 0u);
  EXPECT_EQ(pruned->packs_written, 0u);
  EXPECT_EQ(pruned->objects_copied, 0u);
  EXPECT_GT(pruned->garbage_bytes_in_needed_packs, 80'000u);
  // The forgotten snapshot 1 still goes: keep.bin's chunk, which only it
  // listed, is listed again where it is.
  EXPECT_EQ(pruned->snapshots_deleted, 1u);
  EXPECT_GE(pruned->objects_relocated, 1u);
  PruneOptions bad;
  bad.repack_below_percent = 101;
  Result<PruneReport> refused = SyncPrune(a_.vault(), a_.options(kT0 + 4 * kHour), bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
}

// Nothing retained is unreadable at any instant: b read the old head (its
// index locates keep.bin in the pack being repacked); during the grace
// period that pack is still there, b pushes (adopting the relocation) and
// restores; after it the pack goes and everything still reads.
TEST_F(PruneTest, DuringTheGraceADeviceThatReadTheOldHeadStillFindsEveryObject) {
  a_.Write("keep.bin", Incompressible(66, 10'000));
  a_.Write("big.bin", Incompressible(67, 90'000));
  Published(a_.Push(kT0));
  a_.Write("big.bin", Incompressible(68, 90'000));
  Published(a_.Push(kT0 + kHour));
  HX_ASSERT_OK(b_.Pull(kT0 + kHour + 1));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 2 * kHour));
  const std::uint64_t packs_before = Count(*store_, "blobs/");
  Result<PruneReport> first = Prune(a_, kT0 + 3 * kHour, "24h");
  HX_ASSERT_OK(first);
  EXPECT_EQ(first->packs_repacked, 1u);
  EXPECT_EQ(first->packs_deleted, 0u);
  EXPECT_EQ(first->packs_condemned, 1u) << "the repacked pack (with the old version)";
  EXPECT_EQ(Count(*store_, "blobs/"), packs_before + 1) << "nothing deleted yet";
  ExpectWhole(b_, kT0 + 4 * kHour);
  // b has not pulled: it restores from the old head's snapshot and pushes.
  RestoreOptions at_old_head{"keep.bin", "2", ""};
  HX_ASSERT_OK(SyncRestore(b_.vault(), b_.options(kT0 + 4 * kHour), at_old_head));
  b_.Write("b.txt", "b");
  Published(b_.Push(kT0 + 5 * kHour));
  Result<PruneReport> late = Prune(a_, kT0 + 28 * kHour, "24h");
  HX_ASSERT_OK(late);
  EXPECT_EQ(late->packs_deleted, 1u) << late->ToHuman();
  EXPECT_EQ(PackBytes(*store_), late->bytes_needed + late->bytes_condemned);
  ExpectWhole(a_, kT0 + 29 * kHour);
  Device c(*store_, "c", 7);
  HX_ASSERT_OK(c.Init(kT0 + 29 * kHour));
  HX_ASSERT_OK(c.Pull(kT0 + 29 * kHour));
  EXPECT_EQ(c.Read("keep.bin"), Incompressible(66, 10'000));
  EXPECT_EQ(c.Read("b.txt"), "b");
  HX_ASSERT_OK(a_.Pull(kT0 + 30 * kHour));
  EXPECT_EQ(a_.Read("b.txt"), "b");
}

// ---- forgotten snapshots ---------------------------------------------------

// The defect class: prune never deleted a snapshot body, so forgetting freed
// no snapshot; deleting one naively would break every walk of parents and
// lose the locations it held (keep.bin's chunk is listed by the first
// snapshot only).
TEST_F(PruneTest, ForgottenSnapshotsAreDeletedAndNoReaderCallsThatDamage) {
  a_.Write("keep.bin", Incompressible(70, 10'000));
  for (int v = 0; v < 4; ++v) {
    a_.Write("f.bin", Incompressible(71 + v, 20'000));
    Published(a_.Push(kT0 + v * kHour));
  }
  HX_ASSERT_OK(b_.Pull(kT0 + 4 * kHour));
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 5 * kHour));
  Result<PruneReport> pruned = Prune(a_, kT0 + 6 * kHour);
  HX_ASSERT_OK(pruned);
  EXPECT_EQ(pruned->snapshots_deleted, 3u) << pruned->ToHuman();
  EXPECT_GT(pruned->snapshot_bytes_deleted, 0u);
  // keep.bin's chunk was listed by snapshot 1 only: listed again.
  EXPECT_FALSE(pruned->relocation_snapshot.empty());
  EXPECT_GE(pruned->objects_relocated, 1u);
  EXPECT_EQ(Count(*store_, "snapshots/"), 2u) << "the head and its relocation";
  const std::string record = store_->Objects().at("prune.json");
  EXPECT_NE(record.find(R"("format_version":2)"), std::string::npos) << record;
  EXPECT_NE(record.find(R"("deleted_snapshots":[{"epoch":1,"snapshot":")"), std::string::npos)
      << record;
  ExpectWhole(a_, kT0 + 7 * kHour);
  // Verify and log do not report the deleted snapshots.
  Result<VerifyReport> verified = SyncVerify(a_.vault(), a_.options(kT0 + 7 * kHour), {});
  HX_ASSERT_OK(verified);
  EXPECT_TRUE(verified->damaged_snapshots.empty()) << verified->ToHuman();
  Result<LogReport> log = SyncLog(b_.vault(), b_.options(kT0 + 7 * kHour), LogOptions{});
  HX_ASSERT_OK(log);
  EXPECT_TRUE(log->warnings.empty());
  EXPECT_EQ(log->snapshots.size(), 2u);
  LogOptions by_path;
  by_path.path = "f.bin";
  Result<LogReport> path_log = SyncLog(b_.vault(), b_.options(kT0 + 7 * kHour), by_path);
  HX_ASSERT_OK(path_log);
  EXPECT_TRUE(path_log->warnings.empty());
  // A new device links through the cut history; b pushes on top.
  Device c(*store_, "c", 7);
  HX_ASSERT_OK(c.Init(kT0 + 8 * kHour));
  HX_ASSERT_OK(c.Pull(kT0 + 8 * kHour));
  EXPECT_EQ(c.Read("keep.bin"), Incompressible(70, 10'000));
  EXPECT_EQ(c.Read("f.bin"), Incompressible(74, 20'000));
  b_.Write("b.txt", "b");
  Published(b_.Push(kT0 + 9 * kHour));
  HX_ASSERT_OK(c.Pull(kT0 + 10 * kHour));
  EXPECT_EQ(c.Read("b.txt"), "b");
  RestoreOptions restore{"keep.bin", "", ""};
  HX_ASSERT_OK(SyncRestore(c.vault(), c.options(kT0 + 10 * kHour), restore));
  Result<PruneReport> again = Prune(a_, kT0 + 11 * kHour);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->snapshots_deleted, 0u);
}

// A device offline since snapshot 2 still needs it (its manifest's base),
// and a pull walks from the head back to it: nothing from there on is
// deleted, only what is older; the device comes back and syncs.
TEST_F(PruneTest, ASnapshotADeviceStillNeedsAndEverythingAfterItAreKept) {
  for (int v = 0; v < 4; ++v) {
    a_.Write("f.bin", Incompressible(80 + v, 20'000));
    Published(a_.Push(kT0 + v * kHour));
    if (v == 1) HX_ASSERT_OK(b_.Pull(kT0 + v * kHour + 1));
  }
  HX_ASSERT_OK(KeepLast(a_, 1, kT0 + 5 * kHour));
  Result<PruneReport> pruned = Prune(a_, kT0 + 6 * kHour, "2h");
  HX_ASSERT_OK(pruned);
  EXPECT_EQ(pruned->snapshots_condemned_now, 1u) << pruned->ToHuman();
  EXPECT_EQ(pruned->snapshots_deleted, 0u) << "the grace period holds it";
  Result<PruneReport> later = Prune(a_, kT0 + 9 * kHour, "2h");
  HX_ASSERT_OK(later);
  EXPECT_EQ(later->snapshots_deleted, 1u) << later->ToHuman();
  EXPECT_EQ(later->snapshots_condemned, 0u);
  EXPECT_GE(Count(*store_, "snapshots/"), 3u);
  ExpectWhole(a_, kT0 + 10 * kHour);
  b_.Write("b.txt", "b");
  Result<PushReport> diverged = b_.Push(kT0 + 11 * kHour);
  ASSERT_FALSE(diverged.ok()) << "b is behind: pull first";
  HX_ASSERT_OK(b_.Pull(kT0 + 11 * kHour));
  EXPECT_EQ(b_.Read("f.bin"), Incompressible(83, 20'000));
  Published(b_.Push(kT0 + 12 * kHour));
  ExpectWhole(b_, kT0 + 13 * kHour);
}

// A retention rule may keep a snapshot older than a forgotten one
// (--keep-daily keeps the newest of each day): the deleted body between them
// cuts the walk from the head, yet the log still lists the older one and its
// files still restore.
TEST_F(PruneTest, ARetainedSnapshotBelowADeletedOneIsStillListedAndRestorable) {
  const std::int64_t kDay = 24 * kHour;
  for (int v = 0; v < 4; ++v) {
    a_.Write("f.bin", Incompressible(90 + v, 20'000));
    Published(a_.Push(kT0 + (v / 2) * kDay + (v % 2) * kHour));
  }
  HX_ASSERT_OK(b_.Pull(kT0 + kDay + 2 * kHour));
  ForgetOptions daily;
  daily.keep_daily = 2;
  HX_ASSERT_OK(SyncForget(a_.vault(), a_.options(kT0 + kDay + 3 * kHour), daily));
  Result<PruneReport> pruned = Prune(a_, kT0 + kDay + 4 * kHour);
  HX_ASSERT_OK(pruned);
  EXPECT_EQ(pruned->snapshots_deleted, 2u) << pruned->ToHuman();
  Result<LogReport> log = SyncLog(b_.vault(), b_.options(kT0 + kDay + 5 * kHour), LogOptions{});
  HX_ASSERT_OK(log);
  EXPECT_TRUE(log->warnings.empty());
  std::vector<std::uint64_t> seqs;
  for (const LogEntry& e : log->snapshots) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{5, 4, 2})) << log->ToHuman();
  RestoreOptions at_two{"f.bin", "2", ""};
  Result<RestoreReport> restored = SyncRestore(b_.vault(), b_.options(kT0 + kDay + 6 * kHour), at_two);
  HX_ASSERT_OK(restored);
  EXPECT_EQ(b_.Read(restored->written_to), Incompressible(91, 20'000));
  ExpectWhole(b_, kT0 + kDay + 7 * kHour);
}

}  // namespace
}  // namespace hx
