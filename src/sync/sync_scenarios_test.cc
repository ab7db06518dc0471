// Devices syncing through a store: the behaviour users rely on, written once
// and run against every store kind a test binary lists in ScenarioStores()
// (the folder store in hx_sync_test, S3 through moto in hx_sync_s3_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store_wrappers.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records the reads and writes of manifests/ made through it, as
// "<call> manifests/...".
class ManifestCallLog final : public StoreWrapper {
 public:
  ManifestCallLog(std::unique_ptr<Store> inner, std::shared_ptr<std::vector<std::string>> log)
      : StoreWrapper(std::move(inner)), log_(std::move(log)) {}

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override {
    Note("get", key);
    return StoreWrapper::Get(key, max_size);
  }
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override {
    Note("get", key);
    return StoreWrapper::GetVersioned(key, max_size);
  }
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    Note("put", key);
    return StoreWrapper::Put(key, bytes);
  }
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    Note("put_if_absent", key);
    return StoreWrapper::PutIfAbsent(key, bytes);
  }
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override {
    Note("put_if_match", key);
    return StoreWrapper::PutIfMatch(key, bytes, expected);
  }

 private:
  void Note(std::string_view call, std::string_view key) {
    if (key.starts_with("manifests/")) log_->push_back(std::string(call) + " manifests/");
  }
  std::shared_ptr<std::vector<std::string>> log_;
};

class SyncScenarioTest : public StoreScenarioTest {
 protected:
  // The key of the (last listed) device manifest on the store; "" if none.
  std::string StoredManifestKey() const {
    std::string manifest_key;
    for (const auto& [key, bytes] : store_->Objects()) {
      if (key.starts_with("manifests/")) manifest_key = key;
    }
    return manifest_key;
  }
};

TEST_P(SyncScenarioTest, TwoDevicesConvergeWithDisjointChanges) {
  auto a = NewDevice("a");
  a->Write("docs/readme.txt", "hello");
  a->Write("photos/cat.jpg", std::string(300000, 'c'));
  HX_ASSERT_OK(a->Push(Tick()));

  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());

  // Disjoint edits on both sides: b pulls a's change, keeps its own, pushes.
  a->Write("docs/readme.txt", "hello from a");
  HX_ASSERT_OK(a->Push(Tick()));
  b->Write("notes/b.txt", "from b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Read("docs/readme.txt"), "hello from a");
  EXPECT_EQ(b->Read("notes/b.txt"), "from b");
  HX_ASSERT_OK(b->Push(Tick()));
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_EQ(a->Snapshot(), b->Snapshot());
  EXPECT_EQ(a->Read("notes/b.txt"), "from b");
}

TEST_P(SyncScenarioTest, ThreeDevicesConvergeAndNothingIsDuplicated) {
  auto a = NewDevice("a");
  a->Write("shared.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  auto c = NewDevice("c");
  for (Device* d : {b.get(), c.get()}) HX_ASSERT_OK(d->Pull(Tick()));

  b->Write("from-b/1.txt", "b1");
  HX_ASSERT_OK(b->Push(Tick()));
  c->Write("from-c/1.txt", "c1");
  HX_ASSERT_OK(c->Pull(Tick()));
  HX_ASSERT_OK(c->Push(Tick()));
  a->Write("from-a/1.txt", "a1");
  HX_ASSERT_OK(a->Pull(Tick()));
  HX_ASSERT_OK(a->Push(Tick()));
  for (Device* d : {a.get(), b.get(), c.get()}) HX_ASSERT_OK(d->Pull(Tick()));

  const auto expected = a->Snapshot();
  EXPECT_EQ(b->Snapshot(), expected);
  EXPECT_EQ(c->Snapshot(), expected);
  EXPECT_EQ(expected.size(), 7u);  // shared.txt, 3 dirs, 3 files: nothing twice
}

TEST_P(SyncScenarioTest, DeletesPropagate) {
  auto a = NewDevice("a");
  a->Write("keep.txt", "k");
  a->Write("gone.txt", "g");
  a->Write("dir/inner.txt", "i");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  ASSERT_TRUE(b->Exists("gone.txt"));

  a->Remove("gone.txt");
  a->Remove("dir");
  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_FALSE(b->Exists("gone.txt"));
  EXPECT_FALSE(b->Exists("dir"));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

TEST_P(SyncScenarioTest, ADeviceThatMissedADeleteCannotBringTheFileBack) {
  auto a = NewDevice("a");
  a->Write("f.txt", "data");
  a->Write("keep.txt", "keep");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  a->Remove("f.txt");
  HX_ASSERT_OK(a->Push(Tick()));
  // b never saw the delete and changed something else; it must pull first,
  // and that pull removes the file instead of b pushing it back.
  b->Write("other.txt", "o");
  auto refused = b->Push(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kConflict);
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_FALSE(b->Exists("f.txt"));
  HX_ASSERT_OK(b->Push(Tick()));
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_FALSE(a->Exists("f.txt"));
  EXPECT_TRUE(a->Exists("other.txt"));
}

TEST_P(SyncScenarioTest, ADirectoryReplacedByAFileAndBackTravelsBothWays) {
  auto a = NewDevice("a");
  a->Write("docs/a.txt", "a");
  a->Write("docs/sub/b.txt", "b");
  a->Write("keep.txt", "k");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  auto c = NewDevice("c");
  for (Device* d : {b.get(), c.get()}) HX_ASSERT_OK(d->Pull(Tick()));

  // a replaces the directory by a file: b deletes what the directory held.
  a->Remove("docs");
  a->Write("docs", "now a file");
  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Read("docs"), "now a file");
  EXPECT_EQ(b->Snapshot(), a->Snapshot());

  // b turns it back into a directory with other content.
  b->Remove("docs");
  b->Write("docs/new.txt", "n");
  HX_ASSERT_OK(b->Push(Tick()));
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_EQ(a->Read("docs/new.txt"), "n");
  EXPECT_EQ(a->Snapshot(), b->Snapshot());

  // c missed both and changed something else: it cannot bring docs/a.txt
  // or docs/sub/b.txt back.
  c->Write("from-c.txt", "c");
  HX_ASSERT_OK(c->Pull(Tick()));
  HX_ASSERT_OK(c->Push(Tick()));
  for (Device* d : {a.get(), b.get()}) HX_ASSERT_OK(d->Pull(Tick()));
  EXPECT_FALSE(a->Exists("docs/a.txt"));
  EXPECT_FALSE(a->Exists("docs/sub"));
  EXPECT_EQ(a->Snapshot(), c->Snapshot());
  EXPECT_EQ(b->Snapshot(), c->Snapshot());
}

TEST_P(SyncScenarioTest, AnEditBeneathADirectoryReplacedByAFileIsAConflictNeverLost) {
  auto a = NewDevice("a");
  a->Write("docs/a.txt", "a");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  a->Remove("docs");
  a->Write("docs", "now a file");
  HX_ASSERT_OK(a->Push(Tick()));
  b->Write("docs/a.txt", "edited on b");
  const auto before = b->Snapshot();
  auto refused = b->Pull(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kConflict);
  EXPECT_THAT(refused.error().details.at("paths"), HasSubstr("docs/a.txt"));
  EXPECT_EQ(b->Snapshot(), before);

  // keep_both: the directory keeps the name (with the edit), the file goes
  // to its conflict copy; both devices end with both.
  SyncOptions o = b->options(Tick());
  o.auto_merge = MergePolicy::kKeepBoth;
  HX_ASSERT_OK(SyncPull(b->vault(), o));
  EXPECT_EQ(b->Read("docs/a.txt"), "edited on b");
  std::size_t copies = 0;
  for (const auto& [path, what] : b->Snapshot()) {
    if (path.starts_with("docs (conflict ") && what == "file:now a file") ++copies;
  }
  EXPECT_EQ(copies, 1u);
  HX_ASSERT_OK(b->Push(Tick()));
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_EQ(a->Snapshot(), b->Snapshot());
}

TEST_P(SyncScenarioTest, ConcurrentEditsStopThePullWithAConflictAndChangeNothing) {
  auto a = NewDevice("a");
  a->Write("f.txt", "base");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  a->Write("f.txt", "edit from a");
  a->Write("g.txt", "new from a");
  HX_ASSERT_OK(a->Push(Tick()));
  b->Write("f.txt", "edit from b");
  const auto before = b->Snapshot();
  auto pulled = b->Pull(Tick());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, SyncCode::kConflict);
  EXPECT_THAT(pulled.error().details.at("paths"), HasSubstr("f.txt"));
  EXPECT_EQ(b->Snapshot(), before);  // nothing applied, not even g.txt
  // The artifact is on the store and in .hx/conflicts/.
  bool on_store = false;
  for (const auto& [key, bytes] : store_->Objects()) {
    on_store = on_store || key.starts_with("conflicts/conflict_");
  }
  EXPECT_TRUE(on_store);
  EXPECT_FALSE(std::filesystem::is_empty(b->vault() / ".hx" / "conflicts"));
}

TEST_P(SyncScenarioTest, APushBehindTheStoreIsAConflictThatPublishesNothing) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  a->Write("a.txt", "a");
  HX_ASSERT_OK(a->Push(Tick()));
  const auto head_before = store_->Objects().at("head.json");
  b->Write("b.txt", "b");
  auto pushed = b->Push(Tick());
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().code, SyncCode::kConflict);
  EXPECT_THAT(pushed.error().message, HasSubstr("hx sync pull"));
  EXPECT_EQ(store_->Objects().at("head.json"), head_before);
}

TEST_P(SyncScenarioTest, NoChangePushAndPullAreUpToDate) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto again = a->Push(Tick());
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->outcome, "up_to_date");
  auto pulled = a->Pull(Tick());
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "up_to_date");
}

TEST_P(SyncScenarioTest, WrongPassphraseIsKeyMismatchAndTouchesNothing) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  const auto store_before = store_->Objects();
  Device b(*store_, "b");
  b.passphrase = "wrong";
  auto init = b.Init(Tick());
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, SyncCode::kKeyMismatch);
  EXPECT_EQ(store_->Objects(), store_before);
  EXPECT_FALSE(std::filesystem::exists(b.vault() / ".hx"));
}

TEST_P(SyncScenarioTest, EmptyingTheVaultIsRefusedByTheMassDeleteGuard) {
  auto a = NewDevice("a");
  for (int i = 0; i < 8; ++i) a->Write("f" + std::to_string(i), std::to_string(i));
  HX_ASSERT_OK(a->Push(Tick()));
  const auto store_before = store_->Objects();
  for (int i = 0; i < 8; ++i) a->Remove("f" + std::to_string(i));
  auto pushed = a->Push(Tick());
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().details.at("guard"), "mass_delete");
  EXPECT_EQ(store_->Objects(), store_before);
  // Confirmed, it goes through.
  HX_ASSERT_OK(a->Push(Tick(), /*allow_mass_delete=*/true));
}

TEST_P(SyncScenarioTest, APullThatWouldDeleteMostLocalFilesAsksFirst) {
  auto a = NewDevice("a");
  for (int i = 0; i < 10; ++i) a->Write("f" + std::to_string(i), std::to_string(i));
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  for (int i = 0; i < 8; ++i) a->Remove("f" + std::to_string(i));
  HX_ASSERT_OK(a->Push(Tick(), /*allow_mass_delete=*/true));
  const auto before = b->Snapshot();
  auto refused = b->Pull(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().details.at("guard"), "mass_delete");
  EXPECT_EQ(b->Snapshot(), before);
  HX_ASSERT_OK(b->Pull(Tick(), /*allow_mass_delete=*/true));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

TEST_P(SyncScenarioTest, TheStoreHoldsNoPlaintextNamesOrContents) {
  auto a = NewDevice("a");
  a->Write("secret-plans/world-domination.txt", "the eagle lands at midnight");
  a->Write("diary.md", std::string(20000, 'q') + "my private diary entry");
  HX_ASSERT_OK(a->Push(Tick()));
  a->Write("diary.md", "changed private diary entry");
  HX_ASSERT_OK(a->Push(Tick()));
  for (const auto& [key, bytes] : store_->Objects()) {
    for (const char* needle : {"secret-plans", "world-domination", "eagle lands", "diary",
                               "private diary"}) {
      EXPECT_EQ(key.find(needle), std::string::npos) << key;
      EXPECT_EQ(bytes.find(needle), std::string::npos) << needle << " in " << key;
    }
  }
}

TEST_P(SyncScenarioTest, SymlinksExecutableBitsAndEmptyDirectoriesTravel) {
  auto a = NewDevice("a");
  a->Write("bin/run.sh", "#!/bin/sh\necho hi\n");
  std::filesystem::permissions(a->vault() / "bin/run.sh", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  std::filesystem::create_directory_symlink("bin", a->vault() / "link-to-bin");
  std::filesystem::create_directories(a->vault() / "empty/nested");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
  const auto perms = std::filesystem::status(b->vault() / "bin/run.sh").permissions();
  EXPECT_NE(perms & std::filesystem::perms::owner_exec, std::filesystem::perms::none);
  EXPECT_TRUE(std::filesystem::is_symlink(b->vault() / "link-to-bin"));
}

TEST_P(SyncScenarioTest, AFlippedByteInABlobFailsOnlyTheFilesThatNeedIt) {
  auto a = NewDevice("a");
  a->Write("small.txt", "small file");
  HX_ASSERT_OK(a->Push(Tick()));
  // Incompressible, so its chunk is nearly all of the second push's pack.
  std::string big(2 << 20, '\0');
  std::uint64_t x = 88172645463325252ULL;
  for (char& c : big) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  a->Write("big.bin", big);
  HX_ASSERT_OK(a->Push(Tick()));
  // Corrupt the largest blob (the one holding big.bin's chunk).
  std::string victim;
  std::size_t largest = 0;
  for (const auto& [key, bytes] : store_->Objects()) {
    if (key.starts_with("blobs/") && bytes.size() > largest) {
      largest = bytes.size();
      victim = key;
    }
  }
  ASSERT_FALSE(victim.empty());
  std::string bytes = store_->Objects().at(victim);
  bytes[bytes.size() / 3] ^= 0x40;
  store_->Overwrite(victim, bytes);

  auto b = NewDevice("b");
  auto pulled = b->Pull(Tick());
  HX_ASSERT_OK(pulled);
  ASSERT_TRUE(pulled->error.has_value());
  EXPECT_EQ(pulled->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(pulled->error->category, Category::kCorrupt);
  EXPECT_EQ(b->Read("small.txt"), "small file");
  EXPECT_FALSE(b->Exists("big.bin"));
  auto status = b->Status(Tick());
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->last_error.value("category", ""), "corrupt");
}

// The keys of store objects under `prefix` that the last push added.
std::vector<std::string> NewKeys(const std::map<std::string, std::string>& before,
                                 const std::map<std::string, std::string>& after,
                                 const std::string& prefix) {
  std::vector<std::string> keys;
  for (const auto& [key, bytes] : after) {
    if (key.starts_with(prefix) && before.count(key) == 0) keys.push_back(key);
  }
  return keys;
}

TEST_P(SyncScenarioTest, AFlippedByteInATreeOrSnapshotIsDetectedAndNothingIsApplied) {
  for (const std::string victim_prefix : {"blobs/", "snapshots/"}) {
    SCOPED_TRACE(victim_prefix);
    store_ = GetParam().make();
    auto a = NewDevice("a");
    a->Write("f.txt", "one");
    HX_ASSERT_OK(a->Push(Tick()));
    auto b = NewDevice("b");
    HX_ASSERT_OK(b->Pull(Tick()));
    // A push that changes only directories: its pack holds trees alone.
    const auto before = store_->Objects();
    std::filesystem::create_directories(a->vault() / "new-empty-dir");
    HX_ASSERT_OK(a->Push(Tick()));
    const auto keys = NewKeys(before, store_->Objects(), victim_prefix);
    ASSERT_EQ(keys.size(), 1u);
    std::string bytes = store_->Objects().at(keys[0]);
    bytes[bytes.size() / 2] ^= 0x01;
    store_->Overwrite(keys[0], bytes);

    const auto b_before = b->Snapshot();
    auto pulled = b->Pull(Tick());
    ASSERT_FALSE(pulled.ok());
    EXPECT_EQ(pulled.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(pulled.error().category, Category::kCorrupt);
    EXPECT_EQ(b->Snapshot(), b_before);
    auto status = b->Status(Tick());
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->last_error.value("category", ""), "corrupt");
  }
}

TEST_P(SyncScenarioTest, AnObjectCopiedInFromAnotherVaultIsRejected) {
  auto other_store = GetParam().make();
  Device stranger(*other_store, "stranger");
  HX_ASSERT_OK(stranger.Init(Tick()));
  stranger.Write("same.txt", "identical content in two vaults");
  HX_ASSERT_OK(stranger.Push(Tick()));

  auto a = NewDevice("a");
  a->Write("keep.txt", "kept");
  HX_ASSERT_OK(a->Push(Tick()));
  const auto before = store_->Objects();
  a->Write("same.txt", "identical content in two vaults");
  HX_ASSERT_OK(a->Push(Tick()));
  // Replace the pack of a's second push with the stranger's pack.
  const auto ours = NewKeys(before, store_->Objects(), "blobs/");
  ASSERT_EQ(ours.size(), 1u);
  std::string theirs;
  for (const auto& [key, bytes] : other_store->Objects()) {
    if (key.starts_with("blobs/")) theirs = bytes;
  }
  store_->Overwrite(ours[0], theirs);

  auto b = NewDevice("b");
  auto pulled = b->Pull(Tick());
  // The root tree of that push sat in the replaced pack: nothing applies.
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().category, Category::kCorrupt);
  EXPECT_FALSE(b->Exists("same.txt"));
}

TEST_P(SyncScenarioTest, ADamagedManifestIsReplacedByTheNextPush) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  const std::string manifest_key = StoredManifestKey();
  ASSERT_FALSE(manifest_key.empty());
  std::string bytes = store_->Objects().at(manifest_key);
  bytes[bytes.size() / 2] ^= 0x01;
  store_->Overwrite(manifest_key, bytes);
  a->Write("g.txt", "2");
  auto pushed = a->Push(Tick());
  HX_ASSERT_OK(pushed);
  EXPECT_NE(store_->Objects().at(manifest_key), bytes);
  auto status = a->Status(Tick());
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->counters.value("manifests_repaired", 0), 1);
}

TEST_P(SyncScenarioTest, ADeviceRewritesItsManifestWithoutReadingItFirst) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  const std::string manifest_key = StoredManifestKey();
  ASSERT_FALSE(manifest_key.empty());
  const std::string first = store_->Objects().at(manifest_key);
  auto log = std::make_shared<std::vector<std::string>>();
  a->wrap_store = [inner = a->wrap_store, log](std::unique_ptr<Store> store) {
    return std::make_unique<ManifestCallLog>(inner ? inner(std::move(store)) : std::move(store),
                                             log);
  };

  // It remembers what it wrote last: one conditional write over that.
  a->Write("g.txt", "2");
  HX_ASSERT_OK(a->Push(Tick()));
  EXPECT_THAT(*log, ElementsAre("put_if_match manifests/"));

  // The store went back to an older manifest (restored from a backup): the
  // write over the remembered one is refused, and the device reads what is
  // there and writes over that instead.
  store_->Overwrite(manifest_key, first);
  log->clear();
  a->Write("h.txt", "3");
  HX_ASSERT_OK(a->Push(Tick()));
  EXPECT_THAT(*log, ElementsAre("put_if_match manifests/", "get manifests/",
                                "put_if_match manifests/"));
  EXPECT_NE(store_->Objects().at(manifest_key), first);
  log->clear();
  a->Write("i.txt", "4");
  HX_ASSERT_OK(a->Push(Tick()));
  EXPECT_THAT(*log, ElementsAre("put_if_match manifests/"));
}

TEST_P(SyncScenarioTest, ADamagedLockBlocksPushesUntilUnlocked) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  store_->Overwrite("locks/write.lock", "{not a lock");
  a->Write("g.txt", "2");
  auto blocked = a->Push(Tick());
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, SyncCode::kLocked);
  auto unlocked = SyncUnlock(a->vault(), a->options(Tick()));
  HX_ASSERT_OK(unlocked);
  EXPECT_TRUE(unlocked->was_locked);
  HX_ASSERT_OK(a->Push(Tick()));
}

TEST_P(SyncScenarioTest, APullKeepsItsReportInTheLocalState) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_FALSE(std::filesystem::is_empty(b->vault() / ".hx" / "reports"));
}

TEST_P(SyncScenarioTest, AnEditMadeDuringAPullIsNotOverwritten) {
  auto a = NewDevice("a");
  a->Write("f.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  a->Write("f.txt", "v2 from a");
  HX_ASSERT_OK(a->Push(Tick()));
  // b edits f.txt after its scan, right before the file would be replaced.
  SyncOptions options = b->options(Tick());
  options.checkpoint = [&](std::string_view point) {
    if (point == "pull.before_apply") b->Write("f.txt", "b typed this just now!");
  };
  auto pulled = SyncPull(b->vault(), options);
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(b->Read("f.txt"), "b typed this just now!");
  ASSERT_EQ(pulled->items.size(), 1u);
  EXPECT_EQ(pulled->items[0].status, "skipped_local_change");
  // The next pull sees both edits: a conflict, not a silent overwrite.
  auto again = b->Pull(Tick());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, SyncCode::kConflict);
}

TEST_P(SyncScenarioTest, ATargetOtherThanTheOneGivenAtInitIsRefused) {
  auto a = NewDevice("a");
  SyncOptions options = a->options(Tick());
  options.target_uri = "/somewhere/else";
  auto pushed = SyncPush(a->vault(), options);
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().code, SyncCode::kTargetInvalid);
}

INSTANTIATE_TEST_SUITE_P(Store, SyncScenarioTest, ::testing::ValuesIn(ScenarioStores()),
                         [](const auto& p) { return p.param.name; });

TEST(SyncTargetTest, AnUnknownSchemeIsUnsupported) {
  TempDir dir;
  SyncOptions options;
  options.target_uri = "ftp://example.com/vault";
  options.cwd = "/";
  auto init = SyncInit(dir.path(), options, InitOptions{});
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, SyncCode::kTargetUnsupported);
}

}  // namespace
}  // namespace hx::testing
