// The in-memory store: the conformance suite, and the two things in which it
// is deliberately stricter than the folder store.
#include "store/memory_store.h"

#include <limits>

#include <gtest/gtest.h>

#include "store/store_conformance.h"
#include "store/store_test_util.h"

namespace hx::store_testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Memory", [] { return std::make_unique<MemoryStore>(); }}),
                         StoreFactoryName);

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

TEST(MemoryStoreTest, HasAtomicCompareAndSwap) {
  MemoryStore store;
  EXPECT_TRUE(store.capabilities().atomic_compare_and_swap);
  EXPECT_TRUE(store.capabilities().atomic_create);
  EXPECT_EQ(store.Describe(), "memory:test");
  EXPECT_EQ(MemoryStore("other").Describe(), "memory:other");
}

// Versions are opaque: rewriting the same bytes gives a new version, so a
// caller that expects content-derived versions fails here first.
TEST(MemoryStoreTest, EveryWriteGetsANewVersionEvenOfTheSameBytes) {
  MemoryStore store;
  auto v1 = store.PutIfAbsent("head.json", ToBytes("same"));
  ASSERT_TRUE(v1.ok());
  auto v2 = store.PutIfMatch("head.json", ToBytes("same"), *v1);
  ASSERT_TRUE(v2.ok());
  EXPECT_NE(*v1, *v2);
  EXPECT_EQ(store.PutIfMatch("head.json", ToBytes("same"), *v1).error().category,
            Category::kAborted);
  EXPECT_EQ(store.GetVersioned("head.json", kNoLimit)->second, *v2);
}

TEST(MemoryStoreTest, ObjectCountFollowsPutsAndDeletes) {
  MemoryStore store;
  ASSERT_TRUE(store.Put("a", ToBytes("1")).ok());
  ASSERT_TRUE(store.Put("b/c", ToBytes("2")).ok());
  EXPECT_EQ(store.ObjectCount(), 2u);
  ASSERT_TRUE(store.Delete("a").ok());
  EXPECT_EQ(store.ObjectCount(), 1u);
}

}  // namespace
}  // namespace hx::store_testing
