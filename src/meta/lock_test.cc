#include "meta/lock.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "meta/meta_test_util.h"
#include "store/memory_store.h"
#include "store/store_wrappers.h"
#include "store/target_uri.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kNodeB;

constexpr std::int64_t kMs = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kTtl = 15 * 60 * 1000;
constexpr std::string_view kGoldenLock =
    R"({"acquired_ms":1767225600000,"expires_ms":1767226500000,"format_version":1,)"
    R"("owner":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"0123456789abcdef0123456789abcdef"})";

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

LockRecord GoldenRecord() {
  return LockRecord{.owner = std::string(kNodeA),
                    .token = "0123456789abcdef0123456789abcdef",
                    .acquired_ms = kMs,
                    .expires_ms = kMs + kTtl};
}

// A node id for contender `i` of a race.
std::string NodeId(int i) {
  std::string id(32, '0');
  id[30] = "0123456789abcdef"[(i >> 4) & 15];
  id[31] = "0123456789abcdef"[i & 15];
  return id;
}

// A MemoryStore that claims no atomic compare-and-swap, like a folder
// store, so that takeovers go the delete-then-create way.
class NoCasStore final : public StoreWrapper {
 public:
  NoCasStore() : StoreWrapper(std::make_unique<MemoryStore>()) {
    capabilities_.atomic_compare_and_swap = false;
  }
  const StoreCapabilities& capabilities() const override { return capabilities_; }

 private:
  StoreCapabilities capabilities_ = {};
};

// A folder store in a temporary folder that is removed afterwards.
class TempFolderStore {
 public:
  TempFolderStore() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hx_meta_lock_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
    auto target = ParseTargetUri(path_, {}, "/");
    if (!target.ok()) std::abort();
    auto store = OpenStore(*target);
    if (!store.ok()) std::abort();
    store_ = std::move(*store);
  }
  ~TempFolderStore() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  Store& store() { return *store_; }

 private:
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST(LockRecordTest, EncodingIsPinnedCanonicalJson) {
  auto bytes = EncodeLockRecord(GoldenRecord());
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), kGoldenLock);
  auto record = DecodeLockRecord(kGoldenLock);
  ASSERT_TRUE(record.ok()) << record.error().ToShortString();
  EXPECT_EQ(*record, GoldenRecord());
}

TEST(LockRecordTest, MalformedRecordsAreCorrupt) {
  const std::string golden(kGoldenLock);
  for (const std::string& bad : {
           std::string("not json"),
           golden + " ",
           std::string(R"({"format_version":1})"),
           golden.substr(0, golden.size() - 1) + ",\"zz\":1}",
           std::string(R"({"acquired_ms":5,"expires_ms":4,"format_version":1,)"
                       R"("owner":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
                       R"("token":"0123456789abcdef0123456789abcdef"})"),
           std::string(R"({"acquired_ms":-5,"expires_ms":4,"format_version":1,)"
                       R"("owner":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
                       R"("token":"0123456789abcdef0123456789abcdef"})"),
           std::string(R"({"acquired_ms":1,"expires_ms":4,"format_version":1,)"
                       R"("owner":"node-a","token":"0123456789abcdef0123456789abcdef"})"),
       }) {
    auto record = DecodeLockRecord(bad);
    ASSERT_FALSE(record.ok()) << bad;
    EXPECT_EQ(record.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(record.error().category, Category::kCorrupt) << bad;
  }
  auto newer = DecodeLockRecord(R"({"format_version":3,"lease":"x"})");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().category, Category::kUnsupported);
}

TEST(WriteLockTest, AcquireCreatesTheLockFileWithAFreshToken) {
  MemoryStore store;
  auto lock = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(lock.ok()) << lock.error().ToShortString();
  EXPECT_TRUE(lock->held());
  EXPECT_EQ(lock->record().owner, kNodeA);
  EXPECT_EQ(lock->record().acquired_ms, kMs);
  EXPECT_EQ(lock->record().expires_ms, kMs + kTtl);
  EXPECT_EQ(lock->record().token.size(), 32u);
  auto on_store = ReadLock(store);
  ASSERT_TRUE(on_store.ok());
  EXPECT_EQ(on_store->value(), lock->record());
  EXPECT_TRUE(lock->Release().ok());
  auto again = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->record().token, lock->record().token);
}

TEST(WriteLockTest, ALiveLockOfAnotherNodeIsLockedWithOwnerAndExpiry) {
  MemoryStore store;
  auto a = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(a.ok());
  auto b = WriteLock::Acquire(store, kNodeB, kMs + kTtl - 1);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, SyncCode::kLocked);
  EXPECT_EQ(b.error().category, Category::kLocked);
  EXPECT_EQ(b.error().details.at("owner"), kNodeA);
  EXPECT_EQ(b.error().details.at("expires_ms"), std::to_string(kMs + kTtl));
  EXPECT_NE(b.error().message.find("until 2026-01-01T00:15:00Z (1 s from now)"),
            std::string::npos)
      << b.error().message;
  EXPECT_EQ(ReadLock(store)->value(), a->record());
}

void ExpectExpiredLockIsTakenOver(Store& store) {
  auto a = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(a.ok());
  auto b = WriteLock::Acquire(store, kNodeB, kMs + kTtl);  // expires_ms <= now_ms
  ASSERT_TRUE(b.ok()) << b.error().ToShortString();
  EXPECT_EQ(ReadLock(store)->value(), b->record());

  // A comes back late: it can neither renew nor delete B's lock.
  auto renew = a->Renew(kMs + kTtl + 1);
  ASSERT_FALSE(renew.ok());
  EXPECT_EQ(renew.error().code, SyncCode::kLocked);
  EXPECT_EQ(renew.error().category, Category::kAborted);
  EXPECT_FALSE(a->held());
  EXPECT_TRUE(a->Release().ok());
  EXPECT_EQ(ReadLock(store)->value(), b->record());
}

TEST(WriteLockTest, AnExpiredLockIsTakenOverWithCompareAndSwap) {
  MemoryStore store;
  ExpectExpiredLockIsTakenOver(store);
}

TEST(WriteLockTest, AnExpiredLockIsTakenOverWithoutCompareAndSwap) {
  NoCasStore store;
  ExpectExpiredLockIsTakenOver(store);
}

TEST(WriteLockTest, AnExpiredLockIsTakenOverOnAFolderStore) {
  TempFolderStore folder;
  ExpectExpiredLockIsTakenOver(folder.store());
}

TEST(WriteLockTest, ALateReleaseDoesNotDeleteTheNextHoldersLock) {
  MemoryStore store;
  auto a = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(a.ok());
  auto b = WriteLock::Acquire(store, kNodeB, kMs + kTtl + 5);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(a->Release().ok());
  EXPECT_FALSE(a->held());
  EXPECT_EQ(ReadLock(store)->value(), b->record());
}

TEST(WriteLockTest, TheSameNodeTakesOverItsOwnLeftoverLockAtOnce) {
  MemoryStore store;
  auto crashed = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(crashed.ok());
  auto rerun = WriteLock::Acquire(store, kNodeA, kMs + 1);
  ASSERT_TRUE(rerun.ok()) << rerun.error().ToShortString();
  EXPECT_EQ(ReadLock(store)->value(), rerun->record());
  // The leftover's release (e.g. its destructor) leaves the new lock alone.
  EXPECT_TRUE(crashed->Release().ok());
  EXPECT_EQ(ReadLock(store)->value(), rerun->record());
}

TEST(WriteLockTest, RenewMovesTheExpiry) {
  MemoryStore store;
  auto a = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Renew(kMs + 60'000).ok());
  EXPECT_EQ(a->record().expires_ms, kMs + 60'000 + kTtl);
  EXPECT_EQ(ReadLock(store)->value(), a->record());
  auto b = WriteLock::Acquire(store, kNodeB, kMs + kTtl);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, SyncCode::kLocked);
}

TEST(WriteLockTest, TheDestructorReleasesAndAMovedFromLockDoesNot) {
  MemoryStore store;
  {
    auto a = WriteLock::Acquire(store, kNodeA, kMs);
    ASSERT_TRUE(a.ok());
    WriteLock moved = std::move(*a);
    EXPECT_FALSE(a->held());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(moved.held());
    EXPECT_TRUE(ReadLock(store)->has_value());
  }
  EXPECT_FALSE(ReadLock(store)->has_value());
}

TEST(WriteLockTest, ADamagedLockBlocksEveryoneUntilForceUnlock) {
  MemoryStore store;
  ASSERT_TRUE(store.Put(kWriteLockKey, Span("{\"owner\":")).ok());
  for (std::string_view node : {kNodeA, kNodeB}) {
    auto lock = WriteLock::Acquire(store, node, kMs + 365LL * 24 * 3600 * 1000);
    ASSERT_FALSE(lock.ok());
    EXPECT_EQ(lock.error().code, SyncCode::kLocked);
    EXPECT_EQ(lock.error().category, Category::kCorrupt);
    EXPECT_NE(lock.error().message.find("hx sync unlock"), std::string::npos);
    EXPECT_EQ(lock.error().details.at("key"), "locks/write.lock");
  }
  ASSERT_TRUE(ForceUnlock(store).ok());
  EXPECT_TRUE(WriteLock::Acquire(store, kNodeA, kMs).ok());
}

TEST(WriteLockTest, ALockOfANewerHxBlocksAsUnsupported) {
  MemoryStore store;
  ASSERT_TRUE(store.Put(kWriteLockKey, Span(R"({"format_version":2})")).ok());
  auto lock = WriteLock::Acquire(store, kNodeA, kMs);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, SyncCode::kLocked);
  EXPECT_EQ(lock.error().category, Category::kUnsupported);
}

TEST(WriteLockTest, StoreErrorsPassThrough) {
  auto faulty = std::make_unique<FaultInjectingStore>(std::make_unique<MemoryStore>());
  faulty->AddRule(FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kNetwork));
  auto lock = WriteLock::Acquire(*faulty, kNodeA, kMs);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().category, Category::kNetwork);
}

TEST(WriteLockTest, InvalidArgumentsAreBugs) {
  MemoryStore store;
  EXPECT_EQ(WriteLock::Acquire(store, "node-a", kMs).error().code, SyncCode::kInternal);
  EXPECT_EQ(WriteLock::Acquire(store, kNodeA, -1).error().code, SyncCode::kInternal);
  EXPECT_EQ(WriteLock::Acquire(store, kNodeA, kMs, {.ttl_ms = 0}).error().code,
            SyncCode::kInternal);
}

// Many devices try at the same moment: exactly one gets the lock, every
// other one is told who has it.
void ExpectExactlyOneWinner(Store& store, std::int64_t now_ms) {
  constexpr int kContenders = 8;
  std::atomic<int> winners{0};
  std::atomic<int> locked{0};
  std::atomic<bool> go{false};
  std::vector<std::unique_ptr<Result<WriteLock>>> results(kContenders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kContenders; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[static_cast<std::size_t>(i)] =
          std::make_unique<Result<WriteLock>>(WriteLock::Acquire(store, NodeId(i), now_ms));
      const auto& result = *results[static_cast<std::size_t>(i)];
      if (result.ok()) {
        ++winners;
      } else if (result.error().code == SyncCode::kLocked) {
        ++locked;
      }
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(locked.load(), kContenders - 1);
  for (const auto& result : results) {
    if (result->ok()) {
      EXPECT_EQ(ReadLock(store)->value(), (*result)->record());
    }
  }
}

TEST(WriteLockRaceTest, ContendersOnAMemoryStore) {
  for (int round = 0; round < 20; ++round) {
    MemoryStore store;
    ExpectExactlyOneWinner(store, kMs);
  }
}

TEST(WriteLockRaceTest, ContendersOnAFolderStore) {
  for (int round = 0; round < 5; ++round) {
    TempFolderStore folder;
    ExpectExactlyOneWinner(folder.store(), kMs);
  }
}

TEST(WriteLockRaceTest, TakersOfAnExpiredLockWithCompareAndSwap) {
  for (int round = 0; round < 20; ++round) {
    MemoryStore store;
    auto stale = WriteLock::Acquire(store, kNodeA, kMs);
    ASSERT_TRUE(stale.ok());
    ExpectExactlyOneWinner(store, kMs + kTtl);
    EXPECT_TRUE(stale->Release().ok());
  }
}

}  // namespace
}  // namespace hx
