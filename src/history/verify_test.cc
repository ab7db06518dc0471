// hx sync verify and the object repair over a folder store: each kind of
// damage (a flipped byte, a missing pack, a truncated snapshot) is found and
// named with the paths it affects, and a device that still has the files
// puts back the very bytes that were lost.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "history/verify.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr std::int64_t kT0 = 1'796'544'000'000;

// `n` bytes that do not compress (so a file's chunks fill its pack).
std::string Noise(std::uint64_t seed, std::size_t n) {
  std::string out(n, '\0');
  auto random = testing::SeededRandom(seed);
  random(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), n));
  return out;
}

std::set<std::string> Keys(const StoreFixture& store, std::string_view prefix) {
  std::set<std::string> out;
  for (const auto& [key, bytes] : store.Objects()) {
    if (key.starts_with(prefix)) out.insert(key);
  }
  return out;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

const DamagedObject* FindProblem(const VerifyReport& r, const std::string& problem,
                                 const std::string& path) {
  for (const DamagedObject& o : r.damaged_objects) {
    if (o.problem == problem && Contains(o.paths, path)) return &o;
  }
  return nullptr;
}

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 7) {}
  void SetUp() override { HX_ASSERT_OK(a_.Init(kT0)); }

  // Writes `path`, pushes, and returns the packs and the snapshot that push
  // added.
  struct Pushed {
    std::string pack;
    std::string snapshot;
  };
  Pushed WriteAndPush(const std::string& path, const std::string& bytes, int minute) {
    const std::set<std::string> packs = Keys(*store_, "blobs/");
    const std::set<std::string> snapshots = Keys(*store_, "snapshots/");
    a_.Write(path, bytes);
    Result<PushReport> pushed = a_.Push(kT0 + minute * 60'000);
    EXPECT_TRUE(pushed.ok() && pushed->outcome == "published");
    Pushed out;
    for (const std::string& key : Keys(*store_, "blobs/")) {
      if (packs.count(key) == 0) out.pack = key;
    }
    for (const std::string& key : Keys(*store_, "snapshots/")) {
      if (snapshots.count(key) == 0) out.snapshot = key;
    }
    EXPECT_FALSE(out.pack.empty());
    EXPECT_FALSE(out.snapshot.empty());
    return out;
  }

  Result<VerifyReport> Verify(std::optional<double> percent,
                              std::optional<std::uint64_t> seed = std::nullopt) {
    return SyncVerify(a_.vault(), a_.options(kT0 + 3'600'000), {percent, seed});
  }

  void FlipByteInTheMiddle(const std::string& key) {
    std::string bytes = store_->Objects().at(key);
    bytes[bytes.size() / 2] ^= 0x20;
    store_->Overwrite(key, bytes);
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_;
};

TEST_F(VerifyTest, ReadDataFindsAFlippedByteAMissingPackAndATruncatedSnapshotNamingThePaths) {
  const Pushed one = WriteAndPush("a.txt", Noise(1, 100'000), 1);
  const Pushed two = WriteAndPush("b.txt", Noise(2, 100'000), 2);
  const Pushed three = WriteAndPush("c.txt", Noise(3, 100'000), 3);
  WriteAndPush("d.txt", "small and intact", 4);

  Result<VerifyReport> clean = Verify(100);
  HX_ASSERT_OK(clean);
  EXPECT_FALSE(clean->damaged()) << clean->ToHuman();
  EXPECT_FALSE(clean->error.has_value());
  EXPECT_EQ(clean->snapshots_checked, 4u);
  EXPECT_EQ(clean->chunks_read, clean->chunks_referenced);
  EXPECT_GE(clean->bytes_read, 300'000u);  // three files of noise

  FlipByteInTheMiddle(one.pack);
  store_->Remove(two.pack);
  const std::string zip = store_->Objects().at(three.snapshot);
  store_->Overwrite(three.snapshot, zip.substr(0, zip.size() / 2));

  // Without reading data: the missing pack and the truncated snapshot (what
  // only it located is "not_located"), never the flipped byte.
  Result<VerifyReport> structural = Verify(std::nullopt);
  HX_ASSERT_OK(structural);
  EXPECT_EQ(structural->chunks_read, 0u);
  ASSERT_EQ(structural->damaged_snapshots.size(), 1u);
  EXPECT_EQ("snapshots/" + structural->damaged_snapshots[0].snapshot_id + ".zip", three.snapshot);
  EXPECT_NE(FindProblem(*structural, "missing_pack", "b.txt"), nullptr) << structural->ToHuman();
  // The missing pack also held snapshot 2's root tree: that whole snapshot.
  EXPECT_NE(FindProblem(*structural, "missing_pack", "/"), nullptr) << structural->ToHuman();
  EXPECT_NE(FindProblem(*structural, "not_located", "c.txt"), nullptr) << structural->ToHuman();
  EXPECT_FALSE(Contains(structural->affected_paths, "a.txt"));

  // Reading every chunk finds the flipped byte too, and names a.txt in the
  // snapshots that hold that version (all of those still readable).
  Result<VerifyReport> full = Verify(100);
  HX_ASSERT_OK(full);
  const DamagedObject* flipped = FindProblem(*full, "corrupt", "a.txt");
  ASSERT_NE(flipped, nullptr) << full->ToHuman();
  EXPECT_EQ("blobs/" + flipped->blob.substr(0, 2) + "/" + flipped->blob.substr(2, 2) + "/" +
                flipped->blob,
            one.pack);
  // Snapshot 3 does not read and snapshot 2's root tree is in the missing
  // pack: the version is seen in 4 and 1.
  EXPECT_EQ(flipped->seqs, (std::vector<std::uint64_t>{4, 1}));
  EXPECT_TRUE(Contains(full->affected_paths, "a.txt"));
  EXPECT_TRUE(Contains(full->affected_paths, "b.txt"));
  EXPECT_TRUE(Contains(full->affected_paths, "c.txt"));
  EXPECT_FALSE(Contains(full->affected_paths, "d.txt"));
  ASSERT_TRUE(full->error.has_value());
  // A code of its own, whose class is the exit code the CLI gives.
  EXPECT_EQ(full->error->code, SyncCode::kVerifyDamaged);
  EXPECT_EQ(ExitCodeFor(full->error->code), kExitDamaged);
  EXPECT_NE(full->error->message.find("hx sync repair"), std::string::npos);
}

TEST_F(VerifyTest, VerifyListsOnceInsteadOfAskingPerObjectAndCoalescesItsReads) {
  for (int i = 0; i < 300; ++i) a_.Write("dir" + std::to_string(i % 7) + "/f" + std::to_string(i), "file " + std::to_string(i));
  ASSERT_TRUE(a_.Push(kT0 + 60'000).ok());
  a_.Write("dir0/f0", "edited");
  ASSERT_TRUE(a_.Push(kT0 + 120'000).ok());
  Result<VerifyReport> r = Verify(100);
  HX_ASSERT_OK(r);
  EXPECT_FALSE(r->damaged());
  EXPECT_EQ(r->chunks_read, 301u);
  EXPECT_EQ(r->requests["list"], 3u);  // snapshots/, blobs/ and forgets/
  EXPECT_EQ(r->requests.count("exists"), 0u);
  EXPECT_EQ(r->requests["get"], 2u);  // the two snapshots (head.json: get_versioned)
  // 301 chunks and 10 trees in 2 packs: a few ranged reads, not one per object.
  EXPECT_LE(r->requests["get_range"], 20u) << r->ToHuman();
}

TEST_F(VerifyTest, AReadDataSubsetIsTheSameForTheSameSeed) {
  for (int i = 0; i < 12; ++i) {
    a_.Write("f" + std::to_string(i), Noise(100 + static_cast<std::uint64_t>(i), 3000));
  }
  ASSERT_TRUE(a_.Push(kT0 + 60'000).ok());
  Result<VerifyReport> first = Verify(50, 1234);
  Result<VerifyReport> again = Verify(50, 1234);
  HX_ASSERT_OK(first);
  HX_ASSERT_OK(again);
  EXPECT_EQ(first->seed, 1234u);
  EXPECT_EQ(first->chunks_read, again->chunks_read);
  EXPECT_EQ(first->bytes_read, again->bytes_read);
  EXPECT_GT(first->chunks_read, 0u);
  EXPECT_LT(first->chunks_read, first->chunks_referenced);
  // Without a seed one is chosen and reported.
  Result<VerifyReport> chosen = Verify(50);
  HX_ASSERT_OK(chosen);
  Result<VerifyReport> repeated = Verify(50, chosen->seed);
  HX_ASSERT_OK(repeated);
  EXPECT_EQ(chosen->bytes_read, repeated->bytes_read);

  Result<VerifyReport> bad = Verify(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, SyncCode::kInputInvalid);
}

TEST_F(VerifyTest, RepairPutsBackTheLostBytesAndAnotherDeviceThenPullsThem) {
  const std::string a = Noise(1, 100'000);
  const std::string b = Noise(2, 100'000);
  const Pushed one = WriteAndPush("a.txt", a, 1);
  const Pushed two = WriteAndPush("docs/b.txt", b, 2);
  const std::map<std::string, std::string> before = store_->Objects();
  FlipByteInTheMiddle(one.pack);
  store_->Remove(two.pack);

  Result<ObjectRepairReport> repaired =
      RepairObjects(a_.vault(), a_.options(kT0 + 3'600'000), {100.0, std::nullopt});
  HX_ASSERT_OK(repaired);
  EXPECT_TRUE(repaired->found.damaged());
  EXPECT_FALSE(repaired->error.has_value()) << repaired->ToHuman();
  // a.txt's pack once; the lost pack three times, one level per round: the
  // root tree, then docs/ (the root hid it), then b.txt's chunk (docs/ hid it).
  EXPECT_EQ(repaired->packs_written, 4u);
  EXPECT_EQ(repaired->objects_repaired, 4u);
  EXPECT_TRUE(Contains(repaired->repaired_paths, "a.txt"));
  EXPECT_TRUE(Contains(repaired->repaired_paths, "docs/b.txt"));
  EXPECT_TRUE(repaired->unrepairable_paths.empty());
  // Byte for byte what was lost: each pack hashes to its name again.
  const std::map<std::string, std::string> after = store_->Objects();
  EXPECT_TRUE(after.at(one.pack) == before.at(one.pack));
  EXPECT_TRUE(after.count(two.pack) != 0 && after.at(two.pack) == before.at(two.pack));

  Result<VerifyReport> verified = Verify(100);
  HX_ASSERT_OK(verified);
  EXPECT_FALSE(verified->damaged()) << verified->ToHuman();

  Device phone(*store_, "phone", 8);
  HX_ASSERT_OK(phone.Init(kT0 + 4'000'000));
  HX_ASSERT_OK(phone.Pull(kT0 + 4'000'000));
  EXPECT_TRUE(phone.Read("a.txt") == a);
  EXPECT_TRUE(phone.Read("docs/b.txt") == b);
}

TEST_F(VerifyTest, RepairSaysWhichPathsItCannotRepair) {
  const Pushed one = WriteAndPush("a.txt", Noise(1, 100'000), 1);
  WriteAndPush("b.txt", Noise(2, 100'000), 2);
  const Pushed three = WriteAndPush("c.txt", Noise(3, 100'000), 3);
  WriteAndPush("d.txt", "small", 4);
  FlipByteInTheMiddle(one.pack);
  const std::string zip = store_->Objects().at(three.snapshot);
  store_->Overwrite(three.snapshot, zip.substr(0, zip.size() / 2));
  // This device no longer has a.txt as pushed: it cannot vouch for it.
  a_.Write("a.txt", "edited since");
  const std::string damaged = store_->Objects().at(one.pack);

  Result<ObjectRepairReport> repaired =
      RepairObjects(a_.vault(), a_.options(kT0 + 3'600'000), {100.0, std::nullopt});
  HX_ASSERT_OK(repaired);
  EXPECT_EQ(repaired->objects_repaired, 0u);
  EXPECT_TRUE(Contains(repaired->unrepairable_paths, "a.txt"));
  EXPECT_TRUE(Contains(repaired->unrepairable_paths, "c.txt"));  // its snapshot is gone
  ASSERT_TRUE(repaired->error.has_value());
  EXPECT_NE(repaired->error->message.find("cannot be repaired"), std::string::npos);
  EXPECT_TRUE(store_->Objects().at(one.pack) == damaged);  // nothing written that it cannot vouch for
}

}  // namespace
}  // namespace hx
