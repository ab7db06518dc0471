// CountingStore and FaultInjectingStore; and the conformance suite run
// through the wrappers (fault-free), which must change nothing.
#include "store/store_wrappers.h"

#include <bit>
#include <limits>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "store/store_conformance.h"
#include "store/store_test_util.h"

namespace hx::store_testing {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

// Retries with real time would only matter if a call failed; fault-free
// stores never fail retryably, so nothing sleeps.
INSTANTIATE_TEST_SUITE_P(
    Wrappers, StoreConformanceTest,
    ::testing::Values(
        StoreFactory{
            "CountingMemory",
            [] { return std::make_unique<CountingStore>(std::make_unique<MemoryStore>()); }},
        StoreFactory{"CountingFolder",
                     [] { return std::make_unique<CountingStore>(MakeTempFolderStore()); }},
        StoreFactory{"FaultFreeFolder",
                     [] { return std::make_unique<FaultInjectingStore>(MakeTempFolderStore()); }},
        StoreFactory{
            "RetryingMemory",
            [] { return std::make_unique<RetryingStore>(std::make_unique<MemoryStore>()); }},
        StoreFactory{"FullStackFolder",
                     [] {
                       return std::make_unique<RetryingStore>(std::make_unique<CountingStore>(
                           std::make_unique<FaultInjectingStore>(MakeTempFolderStore())));
                     }}),
    StoreFactoryName);

TEST(StoreOpTest, NamesAreStable) {
  EXPECT_EQ(ToString(StoreOp::kGet), "get");
  EXPECT_EQ(ToString(StoreOp::kPutIfAbsent), "put_if_absent");
  EXPECT_EQ(ToString(StoreOp::kDelete), "delete");
  EXPECT_EQ(ToString(StoreOp::kGetIfNoneMatch), "get_if_none_match");
}

TEST(StoreWrapperTest, ForwardsCapabilitiesAndDescription) {
  StoreWrapper wrapper(std::make_unique<MemoryStore>("inner"));
  EXPECT_EQ(wrapper.Describe(), "memory:inner");
  EXPECT_TRUE(wrapper.capabilities().atomic_compare_and_swap);
  EXPECT_EQ(wrapper.inner().Describe(), "memory:inner");
}

// ------------------------------------------------------------ counting

TEST(CountingStoreTest, CountsCallsPerOperationAndBytesEachWay) {
  CountingStore store(std::make_unique<MemoryStore>());
  ASSERT_TRUE(store.Put("a", ToBytes("12345")).ok());
  auto version = store.PutIfAbsent("b", ToBytes("123"));
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(store.PutIfMatch("b", ToBytes("1234"), *version).ok());
  ASSERT_TRUE(store.Get("a", kNoLimit).ok());
  ASSERT_TRUE(store.GetRange("a", {1, 2}).ok());
  ASSERT_TRUE(store.GetVersioned("b", kNoLimit).ok());
  ASSERT_TRUE(store.Exists("a").ok());
  ASSERT_TRUE(store.List("").ok());
  ASSERT_TRUE(store.Delete("a").ok());
  ASSERT_TRUE(store.GetIfNoneMatch("b", "not the version", kNoLimit).ok());  // 4 bytes down

  const StoreCounts counts = store.Counts();
  for (std::size_t i = 0; i < kStoreOpCount; ++i) {
    EXPECT_EQ(counts.calls[i], 1u) << ToString(static_cast<StoreOp>(i));
  }
  EXPECT_EQ(counts.total_calls(), kStoreOpCount);
  EXPECT_EQ(counts.failures, 0u);
  EXPECT_EQ(counts.bytes_up, 5u + 3u + 4u);
  EXPECT_EQ(counts.bytes_down, 5u + 2u + 4u + 4u);
}

TEST(CountingStoreTest, FailedCallsCountAsCallsAndFailuresWithoutBytesDown) {
  CountingStore store(std::make_unique<MemoryStore>());
  ASSERT_TRUE(store.Put("k", ToBytes("abc")).ok());
  EXPECT_FALSE(store.Get("missing", kNoLimit).ok());
  EXPECT_FALSE(store.PutIfAbsent("k", ToBytes("xy")).ok());
  const StoreCounts counts = store.Counts();
  EXPECT_EQ(counts[StoreOp::kGet], 1u);
  EXPECT_EQ(counts[StoreOp::kPutIfAbsent], 1u);
  EXPECT_EQ(counts.failures, 2u);
  EXPECT_EQ(counts.bytes_down, 0u);
  EXPECT_EQ(counts.bytes_up, 3u + 2u);  // what was sent, taken or not
}

// A write in pieces streams through a CountingStore when its inner store
// streams (a folder), and counts as one Put of all its bytes, at its
// commit; a plain wrapper does not stream (its Put would miss the write).
TEST(CountingStoreTest, AStreamedWriteIsOnePutOfItsBytesAtItsCommit) {
  EXPECT_FALSE(CountingStore(std::make_unique<MemoryStore>()).streams_writes());
  EXPECT_FALSE(StoreWrapper(MakeTempFolderStore()).streams_writes());
  CountingStore store(MakeTempFolderStore());
  EXPECT_TRUE(store.streams_writes());
  auto writer = store.StartWrite();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(ToBytes("1234")).ok());
  ASSERT_TRUE((*writer)->Append(ToBytes("56")).ok());
  EXPECT_EQ(store.Counts().total_calls(), 0u);
  ASSERT_TRUE((*writer)->Commit("blobs/k").ok());
  EXPECT_EQ(store.Counts()[StoreOp::kPut], 1u);
  EXPECT_EQ(store.Counts().bytes_up, 6u);
  auto refused = store.StartWrite();
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE((*refused)->Append(ToBytes("x")).ok());
  EXPECT_FALSE((*refused)->Commit("Not A Key").ok());
  EXPECT_EQ(store.Counts()[StoreOp::kPut], 2u);
  EXPECT_EQ(store.Counts().failures, 1u);
}

TEST(CountingStoreTest, CountsAreExactUnderConcurrentCalls) {
  CountingStore store(std::make_unique<MemoryStore>());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 250; ++i) {
        EXPECT_TRUE(store.Put("t" + std::to_string(t), ToBytes("xy")).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store.Counts()[StoreOp::kPut], 1000u);
  EXPECT_EQ(store.Counts().bytes_up, 2000u);
}

TEST(CountingStoreTest, DifferencesResetAndText) {
  CountingStore store(std::make_unique<MemoryStore>());
  ASSERT_TRUE(store.Put("k", ToBytes("abc")).ok());
  const StoreCounts before = store.Counts();
  ASSERT_TRUE(store.Get("k", kNoLimit).ok());
  const StoreCounts delta = store.Counts() - before;
  EXPECT_EQ(delta[StoreOp::kGet], 1u);
  EXPECT_EQ(delta[StoreOp::kPut], 0u);
  EXPECT_EQ(delta.bytes_down, 3u);
  EXPECT_EQ(store.Counts().ToString(), "get=1 put=1 failures=0 bytes_up=3 bytes_down=3");
  store.Reset();
  EXPECT_EQ(store.Counts(), StoreCounts{});
}

// ------------------------------------------------------ fault injection

struct FaultFixture {
  FaultFixture() {
    auto memory_owned = std::make_unique<MemoryStore>();
    memory = memory_owned.get();
    store = std::make_unique<FaultInjectingStore>(std::move(memory_owned), /*seed=*/7);
  }
  MemoryStore* memory;
  std::unique_ptr<FaultInjectingStore> store;
};

TEST(FaultInjectingStoreTest, FailNthFailsOnlyThatCallOfThatOperation) {
  FaultFixture f;
  f.store->AddRule(FaultRule::FailNth(StoreOp::kPut, 3));
  for (int i = 1; i <= 5; ++i) {
    const Status put = f.store->Put("k" + std::to_string(i), ToBytes("x"));
    EXPECT_EQ(put.ok(), i != 3) << i;
    if (i == 3) {
      EXPECT_EQ(put.error().code, SyncCode::kNetworkFailed);
      EXPECT_TRUE(put.error().retryable);
      EXPECT_THAT(put.error().message, HasSubstr("injected"));
    }
  }
  EXPECT_EQ(f.memory->Exists("k3").value(), false);  // failed before reaching the store
  EXPECT_EQ(f.memory->ObjectCount(), 4u);
  EXPECT_TRUE(f.store->Get("k1", kNoLimit).ok());  // other operations untouched
  ASSERT_EQ(f.store->Injected().size(), 1u);
  EXPECT_EQ(f.store->Injected()[0].key, "k3");
  EXPECT_EQ(f.store->Injected()[0].op, StoreOp::kPut);
}

TEST(FaultInjectingStoreTest, FailAfterCarriesOutTheCallAndLosesTheReply) {
  FaultFixture f;
  FaultRule rule = FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kTimeout);
  rule.action = FaultAction::kFailAfter;
  f.store->AddRule(rule);
  auto created = f.store->PutIfAbsent("locks/write.lock", ToBytes("me"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().category, Category::kTimeout);
  EXPECT_EQ(f.memory->Get("locks/write.lock", kNoLimit).value(), ToBytes("me"));
}

TEST(FaultInjectingStoreTest, FailPrefixMatchesOnlyKeysWithThePrefix) {
  FaultFixture f;
  f.store->AddRule(FaultRule::FailPrefix(StoreOp::kPut, "locks/", Category::kAuth));
  for (int i = 0; i < 3; ++i) {
    const Status locked = f.store->Put("locks/write.lock", ToBytes("x"));
    ASSERT_FALSE(locked.ok());
    EXPECT_EQ(locked.error().code, SyncCode::kAuthFailed);
    EXPECT_FALSE(locked.error().retryable);
  }
  EXPECT_TRUE(f.store->Put("head.json", ToBytes("x")).ok());
  EXPECT_TRUE(f.store->Put("lock", ToBytes("x")).ok());
}

std::vector<bool> FailurePattern(std::uint64_t seed) {
  FaultInjectingStore store(std::make_unique<MemoryStore>(), seed);
  store.AddRule(FaultRule::FailRate(StoreOp::kExists, 0.25, Category::kThrottling));
  std::vector<bool> failed;
  for (int i = 0; i < 400; ++i) failed.push_back(!store.Exists("k").ok());
  return failed;
}

TEST(FaultInjectingStoreTest, FailRateIsDeterministicForASeed) {
  const std::vector<bool> a = FailurePattern(1);
  EXPECT_EQ(a, FailurePattern(1));
  EXPECT_NE(a, FailurePattern(2));
  const auto failures = std::count(a.begin(), a.end(), true);
  // 400 draws at 25%: 100 expected; the seed is fixed, so this cannot flake.
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
}

TEST(FaultInjectingStoreTest, TruncateReturnsAStrictPrefixOfEveryRead) {
  FaultFixture f;
  const Bytes bytes = PatternBytes(1000, 1);
  ASSERT_TRUE(f.store->Put("k", bytes).ok());
  ASSERT_TRUE(f.store->Put("empty", Bytes{}).ok());
  for (const StoreOp op : {StoreOp::kGet, StoreOp::kGetRange, StoreOp::kGetVersioned}) {
    f.store->AddRule(FaultRule::CorruptReads(op, FaultAction::kTruncate));
  }
  for (int i = 0; i < 10; ++i) {
    const Bytes got = f.store->Get("k", kNoLimit).value();
    EXPECT_LT(got.size(), bytes.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), bytes.begin()));
    const Bytes range = f.store->GetRange("k", {100, 200}).value();
    EXPECT_LT(range.size(), 200u);
    EXPECT_LT(f.store->GetVersioned("k", kNoLimit)->first.size(), bytes.size());
  }
  EXPECT_TRUE(f.store->Get("empty", kNoLimit).value().empty());
  EXPECT_EQ(f.memory->Get("k", kNoLimit).value(), bytes);  // the store itself is intact
}

TEST(FaultInjectingStoreTest, FlipByteChangesExactlyOneBit) {
  FaultFixture f;
  const Bytes bytes = PatternBytes(64, 2);
  ASSERT_TRUE(f.store->Put("k", bytes).ok());
  f.store->AddRule(FaultRule::CorruptReads(StoreOp::kGet, FaultAction::kFlipByte));
  for (int i = 0; i < 20; ++i) {
    const Bytes got = f.store->Get("k", kNoLimit).value();
    ASSERT_EQ(got.size(), bytes.size());
    int flipped_bits = 0;
    for (std::size_t j = 0; j < got.size(); ++j) {
      flipped_bits += std::popcount(static_cast<unsigned>(got[j] ^ bytes[j]));
    }
    EXPECT_EQ(flipped_bits, 1);
  }
}

TEST(FaultInjectingStoreTest, CorruptingRulesNeverTouchWrites) {
  FaultFixture f;
  FaultRule rule = FaultRule::CorruptReads(StoreOp::kGet, FaultAction::kTruncate);
  rule.op.reset();  // every operation
  f.store->AddRule(rule);
  ASSERT_TRUE(f.store->Put("k", ToBytes("abc")).ok());
  EXPECT_EQ(f.memory->Get("k", kNoLimit).value(), ToBytes("abc"));
  EXPECT_EQ(f.store->Exists("k").value(), true);
  EXPECT_LT(f.store->Get("k", kNoLimit)->size(), 3u);
}

TEST(FaultInjectingStoreTest, TheFirstRuleThatFiresDecidesAndAllRulesCount) {
  FaultFixture f;
  ASSERT_TRUE(f.memory->Put("k", ToBytes("x")).ok());
  f.store->AddRule(FaultRule::FailNth(StoreOp::kGet, 1, Category::kTimeout));
  f.store->AddRule(FaultRule::FailNth(StoreOp::kGet, 2, Category::kAuth));
  EXPECT_EQ(f.store->Get("k", kNoLimit).error().category, Category::kTimeout);
  EXPECT_EQ(f.store->Get("k", kNoLimit).error().category, Category::kAuth);
  EXPECT_TRUE(f.store->Get("k", kNoLimit).ok());
  f.store->AddRule(FaultRule::FailPrefix(StoreOp::kGet, ""));
  EXPECT_FALSE(f.store->Get("k", kNoLimit).ok());
  f.store->ClearRules();
  EXPECT_TRUE(f.store->Get("k", kNoLimit).ok());
  EXPECT_EQ(f.store->Injected().size(), 3u);
}

}  // namespace
}  // namespace hx::store_testing
