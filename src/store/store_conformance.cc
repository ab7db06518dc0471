// The conformance suite (see store_conformance.h). Each test is one promise
// of store.h; its name states the promise.
#include "store/store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>

#include "store/store_test_util.h"

namespace hx::store_testing {

void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void StoreConformanceTest::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

std::vector<std::string> Keys(const std::vector<StoreObjectInfo>& infos) {
  std::vector<std::string> keys;
  for (const StoreObjectInfo& info : infos) keys.push_back(info.key);
  return keys;
}

// The category of a failed call, or nullopt if it succeeded.
template <typename R>
std::optional<Category> CategoryOf(const R& result) {
  if (result.ok()) return std::nullopt;
  return result.error().category;
}

#define EXPECT_OK(expr)                                                 \
  do {                                                                  \
    const auto& hx_result_ = (expr);                                    \
    EXPECT_TRUE(hx_result_.ok()) << hx_result_.error().ToShortString(); \
  } while (false)
#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    const auto& hx_result_ = (expr);                                    \
    ASSERT_TRUE(hx_result_.ok()) << hx_result_.error().ToShortString(); \
  } while (false)

TEST_P(StoreConformanceTest, PutThenGetReturnsTheSameBytes) {
  const Bytes bytes = PatternBytes(1000, 1);
  ASSERT_OK(store().Put("objects/one", bytes));
  auto got = store().Get("objects/one", kNoLimit);
  ASSERT_OK(got);
  EXPECT_EQ(*got, bytes);
}

TEST_P(StoreConformanceTest, AnEmptyObjectIsAnObject) {
  ASSERT_OK(store().Put("empty", Bytes{}));
  auto got = store().Get("empty", 0);
  ASSERT_OK(got);
  EXPECT_THAT(*got, IsEmpty());
  auto range = store().GetRange("empty", ByteRange{0, 0});
  ASSERT_OK(range);
  EXPECT_THAT(*range, IsEmpty());
  EXPECT_EQ(store().Exists("empty").value(), true);
  auto listed = store().List("");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "empty");
  EXPECT_EQ((*listed)[0].size, 0u);
}

TEST_P(StoreConformanceTest, PutReplacesTheWholeObject) {
  ASSERT_OK(store().Put("head.json", PatternBytes(5000, 1)));
  const Bytes shorter = ToBytes("short");
  ASSERT_OK(store().Put("head.json", shorter));
  EXPECT_EQ(store().Get("head.json", kNoLimit).value(), shorter);
}

TEST_P(StoreConformanceTest, LargeObjectsRoundTripAndReadByRange) {
  const Bytes bytes = PatternBytes(3 * 1024 * 1024 + 17, 2);
  ASSERT_OK(store().Put("blobs/aa/bb/large", bytes));
  EXPECT_EQ(store().Get("blobs/aa/bb/large", bytes.size()).value(), bytes);
  auto middle = store().GetRange("blobs/aa/bb/large", ByteRange{1'000'003, 65'536});
  ASSERT_OK(middle);
  EXPECT_TRUE(std::equal(middle->begin(), middle->end(), bytes.begin() + 1'000'003));
  EXPECT_EQ(middle->size(), 65'536u);
}

// A reader racing a writer sees the old bytes or the new bytes, whole.
TEST_P(StoreConformanceTest, ReadersSeeTheOldOrTheNewObjectNeverAMix) {
  const Bytes a(256 * 1024, 'a');
  const Bytes b(160 * 1024, 'b');
  ASSERT_OK(store().Put("head.json", a));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      // At least a few reads even if the writer finishes first.
      for (int i = 0; i < 20 || !done.load(); ++i) {
        auto got = store().Get("head.json", kNoLimit);
        if (!got.ok()) {
          failed.fetch_add(1);
        } else if (*got != a && *got != b) {
          torn.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 60; ++i) {
    EXPECT_OK(store().Put("head.json", i % 2 == 0 ? b : a));
  }
  done.store(true);
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

TEST_P(StoreConformanceTest, AMissingKeyIsNotFound) {
  ASSERT_OK(store().Put("present", ToBytes("x")));
  for (const char* key : {"absent", "present2", "dir/absent"}) {
    SCOPED_TRACE(key);
    auto get = store().Get(key, kNoLimit);
    EXPECT_EQ(CategoryOf(get), Category::kNotFound);
    if (!get.ok()) {
      EXPECT_EQ(get.error().code, SyncCode::kStateFailed);
    }
    EXPECT_EQ(CategoryOf(store().GetRange(key, ByteRange{0, 0})), Category::kNotFound);
    EXPECT_EQ(CategoryOf(store().GetVersioned(key, kNoLimit)), Category::kNotFound);
    EXPECT_EQ(store().Exists(key).value(), false);
  }
}

TEST_P(StoreConformanceTest, GetRefusesAnObjectLargerThanMaxSize) {
  ASSERT_OK(store().Put("k", PatternBytes(100, 3)));
  EXPECT_EQ(CategoryOf(store().Get("k", 99)), Category::kCorrupt);
  EXPECT_EQ(CategoryOf(store().Get("k", 0)), Category::kCorrupt);
  EXPECT_EQ(CategoryOf(store().GetVersioned("k", 99)), Category::kCorrupt);
  EXPECT_OK(store().Get("k", 100));
  EXPECT_OK(store().GetVersioned("k", 100));
}

TEST_P(StoreConformanceTest, GetRangeReturnsExactlyTheRange) {
  const Bytes bytes = PatternBytes(1000, 4);
  ASSERT_OK(store().Put("k", bytes));
  for (const ByteRange range : {ByteRange{0, 1}, ByteRange{0, 1000}, ByteRange{123, 456},
                                ByteRange{999, 1}, ByteRange{500, 500}}) {
    SCOPED_TRACE(std::to_string(range.offset) + "+" + std::to_string(range.length));
    auto got = store().GetRange("k", range);
    ASSERT_OK(got);
    const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(range.offset);
    EXPECT_EQ(*got, Bytes(first, first + static_cast<std::ptrdiff_t>(range.length)));
  }
}

TEST_P(StoreConformanceTest, AnEmptyRangeUpToTheEndIsEmpty) {
  ASSERT_OK(store().Put("k", PatternBytes(10, 5)));
  for (const std::uint64_t offset : {0u, 5u, 10u}) {
    auto got = store().GetRange("k", ByteRange{offset, 0});
    ASSERT_OK(got);
    EXPECT_THAT(*got, IsEmpty());
  }
}

TEST_P(StoreConformanceTest, ARangeBeyondTheEndIsCorrupt) {
  ASSERT_OK(store().Put("k", PatternBytes(10, 6)));
  const std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (const ByteRange range : {ByteRange{9, 2}, ByteRange{0, 11}, ByteRange{11, 0},
                                ByteRange{10, 1}, ByteRange{kMax, 2}, ByteRange{1, kMax}}) {
    SCOPED_TRACE(std::to_string(range.offset) + "+" + std::to_string(range.length));
    EXPECT_EQ(CategoryOf(store().GetRange("k", range)), Category::kCorrupt);
  }
}

TEST_P(StoreConformanceTest, PutIfAbsentCreatesOnceThenAborts) {
  const Bytes first = ToBytes("first");
  auto created = store().PutIfAbsent("locks/write.lock", first);
  ASSERT_OK(created);
  EXPECT_FALSE(created->empty());
  auto second = store().PutIfAbsent("locks/write.lock", ToBytes("second"));
  EXPECT_EQ(CategoryOf(second), Category::kAborted);
  auto now = store().GetVersioned("locks/write.lock", kNoLimit);
  ASSERT_OK(now);
  EXPECT_EQ(now->first, first);
  EXPECT_EQ(now->second, *created);
}

TEST_P(StoreConformanceTest, PutIfAbsentAbortsOnAnObjectWrittenByPut) {
  ASSERT_OK(store().Put("k", ToBytes("put")));
  EXPECT_EQ(CategoryOf(store().PutIfAbsent("k", ToBytes("other"))), Category::kAborted);
  EXPECT_EQ(store().Get("k", kNoLimit).value(), ToBytes("put"));
}

TEST_P(StoreConformanceTest, PutIfAbsentSucceedsAgainAfterDelete) {
  ASSERT_OK(store().PutIfAbsent("k", ToBytes("one")));
  ASSERT_OK(store().Delete("k"));
  ASSERT_OK(store().PutIfAbsent("k", ToBytes("two")));
  EXPECT_EQ(store().Get("k", kNoLimit).value(), ToBytes("two"));
}

// Racing creators: exactly one wins, and the object holds the winner's bytes.
TEST_P(StoreConformanceTest, PutIfAbsentRacesHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 15;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "locks/race-" + std::to_string(round);
    std::atomic<int> winners{0};
    std::atomic<int> winner_index{-1};
    std::atomic<int> others{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto result = store().PutIfAbsent(key, PatternBytes(4096, static_cast<std::uint8_t>(t)));
        if (result.ok()) {
          winners.fetch_add(1);
          winner_index.store(t);
        } else if (result.error().category != Category::kAborted) {
          others.fetch_add(1);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(others.load(), 0);
    EXPECT_EQ(store().Get(key, kNoLimit).value(),
              PatternBytes(4096, static_cast<std::uint8_t>(winner_index.load())));
  }
}

TEST_P(StoreConformanceTest, PutIfMatchReplacesWhenTheVersionIsCurrent) {
  auto v1 = store().PutIfAbsent("head.json", ToBytes("one"));
  ASSERT_OK(v1);
  auto v2 = store().PutIfMatch("head.json", ToBytes("two"), *v1);
  ASSERT_OK(v2);
  auto now = store().GetVersioned("head.json", kNoLimit);
  ASSERT_OK(now);
  EXPECT_EQ(now->first, ToBytes("two"));
  EXPECT_EQ(now->second, *v2);
  // The old version is stale now.
  EXPECT_EQ(CategoryOf(store().PutIfMatch("head.json", ToBytes("three"), *v1)), Category::kAborted);
  auto v3 = store().PutIfMatch("head.json", ToBytes("three"), *v2);
  ASSERT_OK(v3);
  EXPECT_EQ(store().Get("head.json", kNoLimit).value(), ToBytes("three"));
}

TEST_P(StoreConformanceTest, PutIfMatchWithAWrongVersionAbortsAndChangesNothing) {
  ASSERT_OK(store().Put("head.json", ToBytes("current")));
  auto version = store().GetVersioned("head.json", kNoLimit);
  ASSERT_OK(version);
  for (const StoreVersion& wrong :
       {StoreVersion("bogus"), StoreVersion(""), version->second + "0"}) {
    EXPECT_EQ(CategoryOf(store().PutIfMatch("head.json", ToBytes("new"), wrong)),
              Category::kAborted);
  }
  EXPECT_EQ(store().Get("head.json", kNoLimit).value(), ToBytes("current"));
}

TEST_P(StoreConformanceTest, PutIfMatchOnAMissingObjectAborts) {
  EXPECT_EQ(CategoryOf(store().PutIfMatch("head.json", ToBytes("x"), "anything")),
            Category::kAborted);
  EXPECT_EQ(store().Exists("head.json").value(), false);
}

// Only for stores that promise an atomic compare-and-swap.
TEST_P(StoreConformanceTest, PutIfMatchRacesHaveExactlyOneWinnerWhenAtomic) {
  if (!store().capabilities().atomic_compare_and_swap) {
    GTEST_SKIP() << "no atomic compare-and-swap; callers hold the write lock";
  }
  auto base = store().PutIfAbsent("head.json", ToBytes("base"));
  ASSERT_OK(base);
  constexpr int kThreads = 6;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (store().PutIfMatch("head.json", ToBytes("w" + std::to_string(t)), *base).ok()) {
        winners.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(StoreConformanceTest, TheVersionChangesWhenTheBytesChange) {
  ASSERT_OK(store().Put("k", ToBytes("one")));
  auto first = store().GetVersioned("k", kNoLimit);
  ASSERT_OK(first);
  ASSERT_OK(store().Put("k", ToBytes("two")));
  auto second = store().GetVersioned("k", kNoLimit);
  ASSERT_OK(second);
  EXPECT_NE(first->second, second->second);
  EXPECT_FALSE(second->second.empty());
}

TEST_P(StoreConformanceTest, GetIfNoneMatchIsUnchangedForTheCurrentVersionOnly) {
  ASSERT_OK(store().Put("head.json", ToBytes("one")));
  auto first = store().GetVersioned("head.json", kNoLimit);
  ASSERT_OK(first);
  auto same = store().GetIfNoneMatch("head.json", first->second, kNoLimit);
  ASSERT_OK(same);
  EXPECT_FALSE(same->has_value());  // unchanged: no bytes
  ASSERT_OK(store().Put("head.json", ToBytes("two")));
  auto changed = store().GetIfNoneMatch("head.json", first->second, kNoLimit);
  ASSERT_OK(changed);
  ASSERT_TRUE(changed->has_value());
  EXPECT_EQ((*changed)->first, ToBytes("two"));
  auto now = store().GetVersioned("head.json", kNoLimit);
  ASSERT_OK(now);
  EXPECT_EQ((*changed)->second, now->second);
  // An empty version matches nothing: a first look reads the object.
  auto first_look = store().GetIfNoneMatch("head.json", "", kNoLimit);
  ASSERT_OK(first_look);
  EXPECT_TRUE(first_look->has_value());
  EXPECT_EQ(CategoryOf(store().GetIfNoneMatch("absent.json", now->second, kNoLimit)),
            Category::kNotFound);
  EXPECT_EQ(CategoryOf(store().GetIfNoneMatch("head.json", first->second, 2)),
            Category::kCorrupt);
}

TEST_P(StoreConformanceTest, ExistsIsTrueForObjectsOnly) {
  ASSERT_OK(store().Put("snapshots/abc.zip", ToBytes("x")));
  EXPECT_EQ(store().Exists("snapshots/abc.zip").value(), true);
  EXPECT_EQ(store().Exists("snapshots").value(), false);  // a prefix, not an object
  EXPECT_EQ(store().Exists("snapshots/ab").value(), false);
}

// Keys chosen around the bytes that sort next to '/': "a-b" < "a.b" <
// "a/..." < "a0" bytewise.
const std::vector<std::string> kTreeKeys = {"a-b",   "a.b", "a/b", "a/c/d",
                                            "a/c/e", "a0",  "b",   "z/y/x/w"};

void PutAll(Store& store, std::vector<std::string> keys) {
  std::shuffle(keys.begin(), keys.end(), std::mt19937(42));
  for (const std::string& key : keys) ASSERT_OK(store.Put(key, ToBytes(key)));
}

TEST_P(StoreConformanceTest, ListReturnsEveryKeySortedWithItsSize) {
  PutAll(store(), kTreeKeys);
  auto listed = store().List("");
  ASSERT_OK(listed);
  EXPECT_EQ(Keys(*listed), kTreeKeys);
  for (const StoreObjectInfo& info : *listed) EXPECT_EQ(info.size, info.key.size());
}

TEST_P(StoreConformanceTest, ListFiltersByStringPrefix) {
  PutAll(store(), kTreeKeys);
  auto list = [&](std::string_view prefix) { return Keys(store().List(prefix).value()); };
  EXPECT_THAT(list("a"), ElementsAre("a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0"));
  EXPECT_THAT(list("a/"), ElementsAre("a/b", "a/c/d", "a/c/e"));
  EXPECT_THAT(list("a/c"), ElementsAre("a/c/d", "a/c/e"));
  EXPECT_THAT(list("a/c/"), ElementsAre("a/c/d", "a/c/e"));
  EXPECT_THAT(list("a/c/d"), ElementsAre("a/c/d"));
  EXPECT_THAT(list("a."), ElementsAre("a.b"));
  EXPECT_THAT(list("z/y/"), ElementsAre("z/y/x/w"));
  EXPECT_THAT(list("q"), IsEmpty());
  EXPECT_THAT(list("a/c/d/"), IsEmpty());
  EXPECT_THAT(list("nothing/here/"), IsEmpty());
}

TEST_P(StoreConformanceTest, ListReturnsMoreThanAThousandKeys) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1100; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "blobs/%02x/%04d", i % 16, i);
    keys.emplace_back(name);
  }
  for (const std::string& key : keys) ASSERT_OK(store().Put(key, Bytes{}));
  std::sort(keys.begin(), keys.end());
  auto listed = store().List("blobs/");
  ASSERT_OK(listed);
  EXPECT_EQ(Keys(*listed), keys);
  auto one_dir = store().List("blobs/0a/");
  ASSERT_OK(one_dir);
  EXPECT_EQ(one_dir->size(), 1100u / 16 + (1100 % 16 > 10 ? 1 : 0));
}

TEST_P(StoreConformanceTest, DeleteRemovesTheObjectAndIsIdempotent) {
  ASSERT_OK(store().Put("manifests/n1.hxman", ToBytes("m")));
  ASSERT_OK(store().Put("manifests/n2.hxman", ToBytes("m")));
  ASSERT_OK(store().Delete("manifests/n1.hxman"));
  EXPECT_EQ(store().Exists("manifests/n1.hxman").value(), false);
  EXPECT_EQ(CategoryOf(store().Get("manifests/n1.hxman", kNoLimit)), Category::kNotFound);
  EXPECT_THAT(Keys(store().List("manifests/").value()), ElementsAre("manifests/n2.hxman"));
  EXPECT_OK(store().Delete("manifests/n1.hxman"));
  EXPECT_OK(store().Delete("never/existed"));
}

TEST_P(StoreConformanceTest, KeysMayUseEveryAllowedCharacter) {
  const std::vector<std::string> keys = {
      "abcdefghijklmnopqrstuvwxyz/0123456789/._-/...",
      "-/_/.x/x./..x",
      std::string(kMaxStoreKeyBytes, 'k'),
      std::string(127, 'd') + "/" + std::string(127, 'f'),
  };
  for (const std::string& key : keys) {
    SCOPED_TRACE(key);
    ASSERT_OK(store().Put(key, ToBytes(key)));
    EXPECT_EQ(store().Get(key, kNoLimit).value(), ToBytes(key));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(store().List("").value()), sorted);
}

TEST_P(StoreConformanceTest, InvalidKeysAreRefusedAsBugs) {
  const std::vector<std::string> bad = {
      "",
      "/a",
      "a/",
      "a//b",
      "./a",
      "a/./b",
      "a/../b",
      "..",
      ".",
      "A",
      "a b",
      "a\\b",
      "é",
      "a:b",
      std::string("a\0b", 3),
      std::string(kMaxStoreKeyBytes + 1, 'k'),
  };
  const Bytes bytes = ToBytes("x");
  for (const std::string& key : bad) {
    SCOPED_TRACE(key);
    for (const auto& category :
         {CategoryOf(store().Get(key, kNoLimit)), CategoryOf(store().GetRange(key, {0, 0})),
          CategoryOf(store().GetVersioned(key, kNoLimit)), CategoryOf(store().Put(key, bytes)),
          CategoryOf(store().PutIfAbsent(key, bytes)),
          CategoryOf(store().PutIfMatch(key, bytes, "v")), CategoryOf(store().Exists(key)),
          CategoryOf(store().Delete(key))}) {
      EXPECT_EQ(category, Category::kInternal);
    }
  }
  for (const std::string prefix : {"/", "A", "a//", "../", "a/./"}) {
    SCOPED_TRACE(prefix);
    auto listed = store().List(prefix);
    EXPECT_EQ(CategoryOf(listed), Category::kInternal);
    if (!listed.ok()) {
      EXPECT_EQ(listed.error().code, SyncCode::kInternal);
    }
  }
  EXPECT_THAT(store().List("").value(), IsEmpty());
}

// A write in pieces (StartWrite) is nothing until its commit, then one
// object of every piece in order, replacing an object of that key, as Put.
TEST_P(StoreConformanceTest, AWriteInPiecesIsTheObjectOnlyOnceCommitted) {
  ASSERT_OK(store().Put("blobs/aa/bb/streamed", ToBytes("old")));
  const Bytes bytes = PatternBytes(2 * 1024 * 1024 + 5, 3);
  auto writer = store().StartWrite();
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Append(std::span<const std::uint8_t>(bytes).first(1000)));
  ASSERT_OK((*writer)->Append(std::span<const std::uint8_t>()));
  ASSERT_OK((*writer)->Append(std::span<const std::uint8_t>(bytes).subspan(1000)));
  EXPECT_THAT(Keys(store().List("").value()), ElementsAre("blobs/aa/bb/streamed"));
  EXPECT_EQ(store().Get("blobs/aa/bb/streamed", kNoLimit).value(), ToBytes("old"));
  ASSERT_OK((*writer)->Commit("blobs/aa/bb/streamed"));
  EXPECT_EQ(store().Get("blobs/aa/bb/streamed", kNoLimit).value(), bytes);
  // Spent: once committed, a writer takes nothing more.
  EXPECT_EQ(CategoryOf((*writer)->Append(ToBytes("x"))), Category::kInternal);
  EXPECT_EQ(CategoryOf((*writer)->Commit("blobs/aa/bb/again")), Category::kInternal);
  EXPECT_THAT(Keys(store().List("").value()), ElementsAre("blobs/aa/bb/streamed"));
}

TEST_P(StoreConformanceTest, AWriteInPiecesDroppedOrToAnInvalidKeyLeavesNothing) {
  {
    auto dropped = store().StartWrite();
    ASSERT_OK(dropped);
    ASSERT_OK((*dropped)->Append(ToBytes("never committed")));
  }
  auto invalid = store().StartWrite();
  ASSERT_OK(invalid);
  ASSERT_OK((*invalid)->Append(ToBytes("bytes")));
  EXPECT_EQ(CategoryOf((*invalid)->Commit("a/../b")), Category::kInternal);
  invalid->reset();
  EXPECT_THAT(store().List("").value(), IsEmpty());
}

TEST_P(StoreConformanceTest, DescribeNamesTheStore) { EXPECT_FALSE(store().Describe().empty()); }

}  // namespace
}  // namespace hx::store_testing
