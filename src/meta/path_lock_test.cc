#include "meta/path_lock.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/aead.h"
#include "meta/meta_test_util.h"
#include "store/memory_store.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kNodeB;
using meta_testing::kOtherVaultId;
using meta_testing::TestContext;

constexpr std::int64_t kNow = 1767225600000;
constexpr std::int64_t kHour = 3600 * 1000;

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string Text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Seals `plaintext` as the lock named `name`, the way a writer holding the
// vault key would.
Bytes SealAsLock(const VaultContext& ctx, std::string_view name, std::string_view plaintext) {
  return AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce,
                           EncodeAssociatedData({"hx path lock v1", ctx.vault_id, name}),
                           Span(plaintext));
}

std::string LockJson(std::string_view path, std::string_view extra = "") {
  return std::string(R"({"created_ms":1767225600000,"expires_ms":1767229200000,)") +
         std::string(extra) + R"("format_version":1,"owner":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)" +
         R"("path":")" + std::string(path) +
         R"(","vault_id":"00112233445566778899aabbccddeeff"})";
}

PathLock SampleLock(std::string path = "docs/plan.md") {
  return PathLock{.path = std::move(path),
                  .owner = std::string(kNodeA),
                  .created_ms = kNow,
                  .expires_ms = kNow + kHour};
}

TEST(NormalizeLockPathTest, RemovesLeadingDotSlashAndRepeatedOrTrailingSlashes) {
  EXPECT_EQ(*NormalizeLockPath("docs/plan.md"), "docs/plan.md");
  EXPECT_EQ(*NormalizeLockPath("./docs//plan.md"), "docs/plan.md");
  EXPECT_EQ(*NormalizeLockPath("docs/"), "docs");
}

TEST(NormalizeLockPathTest, RefusesPathsThatLeaveOrAreNotInTheVault) {
  for (const std::string_view bad :
       {"", "/", "/etc/passwd", "..", "docs/../x", "docs/./x", ".hx", ".hx/key", "./"}) {
    Result<std::string> normalized = NormalizeLockPath(bad);
    ASSERT_FALSE(normalized.ok()) << bad;
    EXPECT_EQ(normalized.error().code, SyncCode::kInputInvalid) << bad;
    EXPECT_EQ(normalized.error().category, Category::kInvalidInput) << bad;
  }
  EXPECT_FALSE(NormalizeLockPath(std::string(kMaxLockPathBytes + 1, 'a')).ok());
  EXPECT_FALSE(NormalizeLockPath(std::string("a\0b", 3)).ok());
}

TEST(PathLockTest, ADirectoryLockCoversWhatIsBeneathItButNotItsSiblings) {
  const PathLock lock = SampleLock("docs");
  EXPECT_TRUE(lock.Covers("docs"));
  EXPECT_TRUE(lock.Covers("docs/plan.md"));
  EXPECT_TRUE(lock.Covers("docs/a/b/c"));
  EXPECT_FALSE(lock.Covers("docs2/plan.md"));
  EXPECT_FALSE(lock.Covers("doc"));
  EXPECT_FALSE(lock.Covers("other/docs"));
}

TEST(PathLockTest, IsActiveUntilItsExpiry) {
  const PathLock lock = SampleLock();
  EXPECT_TRUE(lock.ActiveAt(kNow));
  EXPECT_TRUE(lock.ActiveAt(kNow + kHour - 1));
  EXPECT_FALSE(lock.ActiveAt(kNow + kHour));
}

TEST(PathLockNameTest, IsAKeyedHashThatHidesThePathAndDependsOnTheVaultKey) {
  const VaultContext ctx = TestContext();
  const std::string name = PathLockName(ctx, "docs/plan.md");
  EXPECT_TRUE(IsLowerHex(name, 64));
  EXPECT_EQ(name, PathLockName(ctx, "docs/plan.md"));
  EXPECT_NE(name, PathLockName(ctx, "docs/plan.mdx"));
  EXPECT_NE(name, PathLockName(TestContext(7), "docs/plan.md"));
  EXPECT_EQ(PathLockKey(name), "locks/paths/" + name + ".hxlock");
}

TEST(PathLockCodecTest, RoundTripsDeterministicallyWithoutThePathInTheClear) {
  const VaultContext ctx = TestContext();
  const PathLock lock = SampleLock();
  Result<Bytes> bytes = EncodePathLock(ctx, lock);
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(*bytes, *EncodePathLock(ctx, lock));
  EXPECT_EQ(Text(*bytes).find("plan"), std::string::npos);
  Result<PathLock> decoded = DecodePathLock(ctx, PathLockName(ctx, lock.path), *bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, lock);
}

TEST(PathLockCodecTest, EncoderRefusesLocksHxWouldNotRead) {
  const VaultContext ctx = TestContext();
  PathLock lock = SampleLock("docs//plan.md");
  EXPECT_EQ(EncodePathLock(ctx, lock).error().code, SyncCode::kInternal);
  lock = SampleLock();
  lock.expires_ms = lock.created_ms;
  EXPECT_EQ(EncodePathLock(ctx, lock).error().code, SyncCode::kInternal);
  lock = SampleLock();
  lock.owner = "not hex";
  EXPECT_EQ(EncodePathLock(ctx, lock).error().code, SyncCode::kInternal);
}

TEST(PathLockCodecTest, RefusesALockTamperedRenamedOrFromAnotherVault) {
  const VaultContext ctx = TestContext();
  const PathLock lock = SampleLock();
  const std::string name = PathLockName(ctx, lock.path);
  Bytes bytes = *EncodePathLock(ctx, lock);

  Bytes flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  Result<PathLock> tampered = DecodePathLock(ctx, name, flipped);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(tampered.error().category, Category::kCorrupt);

  // Copied under the name of another path: it would lock the wrong path.
  EXPECT_EQ(DecodePathLock(ctx, PathLockName(ctx, "other"), bytes).error().category,
            Category::kCorrupt);
  // The same key bytes under another vault id.
  EXPECT_EQ(DecodePathLock(TestContext(0, kOtherVaultId), name, bytes).error().category,
            Category::kCorrupt);
  // Oversized bytes are refused unread.
  EXPECT_EQ(DecodePathLock(ctx, name, Bytes(kMaxPathLockBytes + 1, 0)).error().category,
            Category::kCorrupt);
  EXPECT_EQ(DecodePathLock(ctx, "short", bytes).error().code, SyncCode::kInternal);
}

TEST(PathLockCodecTest, RefusesSealedContentThatHxWouldNotWrite) {
  const VaultContext ctx = TestContext();
  const std::string name = PathLockName(ctx, "docs/plan.md");
  // A valid lock sealed by hand decodes: the helpers below are faithful.
  ASSERT_TRUE(DecodePathLock(ctx, name, SealAsLock(ctx, name, LockJson("docs/plan.md"))).ok());

  const std::string cases[] = {
      LockJson("docs/plan.md", R"("extra":1,)"),  // unknown field
      LockJson("docs//plan.md"),                   // path not normalized
      LockJson("other.md"),                        // path of another name
      " " + LockJson("docs/plan.md"),              // not canonical
      "[]",
      "not json",
  };
  for (const std::string& plaintext : cases) {
    Result<PathLock> decoded = DecodePathLock(ctx, name, SealAsLock(ctx, name, plaintext));
    ASSERT_FALSE(decoded.ok()) << plaintext;
    EXPECT_EQ(decoded.error().code, SyncCode::kStateFailed) << plaintext;
    EXPECT_EQ(decoded.error().category, Category::kCorrupt) << plaintext;
  }
  std::string newer = LockJson("docs/plan.md");
  newer.replace(newer.find("\"format_version\":1"), 18, "\"format_version\":2");
  EXPECT_EQ(DecodePathLock(ctx, name, SealAsLock(ctx, name, newer)).error().category,
            Category::kUnsupported);
}

TEST(AddPathLockTest, CreatesTheLockOnTheStore) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Result<PathLock> added = AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour);
  ASSERT_TRUE(added.ok()) << added.error().ToShortString();
  EXPECT_EQ(added->expires_ms, kNow + kHour);
  Result<std::optional<PathLock>> read = ReadPathLock(store, ctx, "docs");
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, *added);
}

TEST(AddPathLockTest, AnotherDevicesActiveLockIsLocked) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  Result<PathLock> second = AddPathLock(store, ctx, kNodeB, "docs", kNow + 1, kHour);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, SyncCode::kLocked);
  EXPECT_EQ(second.error().category, Category::kLocked);
  EXPECT_EQ(second.error().details.at("owner"), kNodeA);
  EXPECT_NE(second.error().message.find("docs is locked by device " + std::string(kNodeA)),
            std::string::npos);
}

TEST(AddPathLockTest, AnExpiredLockIsReplacedByAnyDevice) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  Result<PathLock> taken = AddPathLock(store, ctx, kNodeB, "docs", kNow + kHour, kHour);
  ASSERT_TRUE(taken.ok()) << taken.error().ToShortString();
  EXPECT_EQ(taken->owner, kNodeB);
  EXPECT_EQ((*ReadPathLock(store, ctx, "docs"))->owner, kNodeB);
}

TEST(AddPathLockTest, TheOwnerRenewsItsLockAndKeepsItsStartTime) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  Result<PathLock> renewed = AddPathLock(store, ctx, kNodeA, "docs", kNow + 10, 2 * kHour);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->created_ms, kNow);
  EXPECT_EQ(renewed->expires_ms, kNow + 10 + 2 * kHour);
}

TEST(AddPathLockTest, RefusesATimeToLiveOutOfRange) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  for (const std::int64_t ttl : {std::int64_t{0}, std::int64_t{-5}, kMaxPathLockTtlMs + 1}) {
    Result<PathLock> added = AddPathLock(store, ctx, kNodeA, "docs", kNow, ttl);
    ASSERT_FALSE(added.ok()) << ttl;
    EXPECT_EQ(added.error().code, SyncCode::kInputInvalid);
  }
}

TEST(AddPathLockTest, ADamagedLockIsReplacedButANewerOneIsLeftAlone) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  const std::string name = PathLockName(ctx, "docs");
  ASSERT_TRUE(store.Put(PathLockKey(name), Span("garbage")).ok());
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeB, "docs", kNow, kHour).ok());

  std::string newer = LockJson("docs");
  newer.replace(newer.find("\"format_version\":1"), 18, "\"format_version\":2");
  ASSERT_TRUE(store.Put(PathLockKey(name), SealAsLock(ctx, name, newer)).ok());
  EXPECT_EQ(AddPathLock(store, ctx, kNodeB, "docs", kNow, kHour).error().category,
            Category::kUnsupported);
}

// Another device takes the path between this device's read and its write.
class RacingStore final : public StoreWrapper {
 public:
  RacingStore(std::unique_ptr<Store> inner, const VaultContext& ctx)
      : StoreWrapper(std::move(inner)), ctx_(ctx) {}
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    if (!raced_) {
      raced_ = true;
      EXPECT_TRUE(AddPathLock(inner(), ctx_, kNodeB, "docs", kNow, kHour).ok());
    }
    return StoreWrapper::PutIfAbsent(key, bytes);
  }

 private:
  const VaultContext& ctx_;
  bool raced_ = false;
};

TEST(AddPathLockTest, OfTwoDevicesRacingForOnePathOneWins) {
  const VaultContext ctx = TestContext();
  RacingStore store(std::make_unique<MemoryStore>(), ctx);
  Result<PathLock> added = AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, SyncCode::kLocked);
  EXPECT_EQ((*ReadPathLock(store, ctx, "docs"))->owner, kNodeB);
}

TEST(RemovePathLockTest, RemovesOwnLock) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  Result<std::optional<PathLock>> removed =
      RemovePathLock(store, ctx, kNodeA, "docs", kNow, /*force=*/false);
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE(removed->has_value());
  EXPECT_EQ((*removed)->owner, kNodeA);
  EXPECT_FALSE(ReadPathLock(store, ctx, "docs")->has_value());
}

TEST(RemovePathLockTest, AMissingLockIsNotFound) {
  MemoryStore store;
  Result<std::optional<PathLock>> removed =
      RemovePathLock(store, TestContext(), kNodeA, "docs", kNow, false);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().category, Category::kNotFound);
}

TEST(RemovePathLockTest, AnotherDevicesActiveLockNeedsForce) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  Result<std::optional<PathLock>> refused = RemovePathLock(store, ctx, kNodeB, "docs", kNow, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kLocked);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos);
  EXPECT_TRUE(ReadPathLock(store, ctx, "docs")->has_value());
  EXPECT_TRUE(RemovePathLock(store, ctx, kNodeB, "docs", kNow, true).ok());
  EXPECT_FALSE(ReadPathLock(store, ctx, "docs")->has_value());
}

TEST(RemovePathLockTest, AnExpiredLockIsRemovedByAnyDevice) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "docs", kNow, kHour).ok());
  EXPECT_TRUE(RemovePathLock(store, ctx, kNodeB, "docs", kNow + kHour, false).ok());
}

TEST(RemovePathLockTest, ADamagedLockIsRemovedOnlyWithForce) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(store.Put(PathLockKey(PathLockName(ctx, "docs")), Span("garbage")).ok());
  EXPECT_EQ(RemovePathLock(store, ctx, kNodeA, "docs", kNow, false).error().category,
            Category::kCorrupt);
  Result<std::optional<PathLock>> removed = RemovePathLock(store, ctx, kNodeA, "docs", kNow, true);
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(removed->has_value());
}

TEST(ListPathLocksTest, ListsEveryLockByPathWithDamagedOnesApart) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeB, "zeta", kNow, kHour).ok());
  ASSERT_TRUE(AddPathLock(store, ctx, kNodeA, "alpha/b", kNow - 2 * kHour, kHour).ok());
  const std::string damaged = PathLockKey(PathLockName(ctx, "broken"));
  ASSERT_TRUE(store.Put(damaged, Span("garbage")).ok());
  ASSERT_TRUE(store.Put("locks/paths/readme.txt", Span("not a lock")).ok());
  ASSERT_TRUE(store.Put("locks/write.lock", Span("{}")).ok());

  Result<PathLockListing> listing = ListPathLocks(store, ctx);
  ASSERT_TRUE(listing.ok()) << listing.error().ToShortString();
  ASSERT_EQ(listing->locks.size(), 2u);
  EXPECT_EQ(listing->locks[0].path, "alpha/b");  // expired, still listed
  EXPECT_EQ(listing->locks[1].path, "zeta");
  EXPECT_EQ(listing->damaged, std::vector<std::string>{damaged});
}

TEST(ListPathLocksTest, AnEmptyStoreHasNoLocks) {
  MemoryStore store;
  Result<PathLockListing> listing = ListPathLocks(store, TestContext());
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->locks.empty());
  EXPECT_TRUE(listing->damaged.empty());
}

}  // namespace
}  // namespace hx
