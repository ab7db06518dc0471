#include "crypto/secret.h"

#include <memory>
#include <ostream>
#include <type_traits>

#include <gtest/gtest.h>

namespace hx {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& value) { os << value; };

static_assert(!std::is_copy_constructible_v<SecretKey>);
static_assert(!std::is_copy_assignable_v<SecretKey>);
static_assert(std::is_nothrow_move_constructible_v<SecretKey>);
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);

TEST(SecretKeyTest, CannotBeStreamedAndPrintsRedacted) {
  static_assert(!Streamable<SecretKey>);
  static_assert(!Streamable<SecretBytes>);
  const SecretKey key = SecretKey::Random();
  EXPECT_EQ(testing::PrintToString(key), "SecretKey(<redacted>)");
  const SecretBytes bytes(std::vector<std::uint8_t>{1, 2, 3});
  EXPECT_EQ(testing::PrintToString(bytes), "SecretBytes(3 bytes, <redacted>)");
}

TEST(SecretKeyTest, RandomKeysDifferAndCloneIsEqual) {
  const SecretKey a = SecretKey::Random();
  const SecretKey b = SecretKey::Random();
  EXPECT_FALSE(ConstantTimeEquals(a, b));
  EXPECT_TRUE(ConstantTimeEquals(a, a.Clone()));
  EXPECT_FALSE(ConstantTimeEquals(a, SecretKey()));
}

TEST(SecretKeyTest, MovingZeroesTheSource) {
  SecretKey source = SecretKey::Random();
  const SecretKey copy = source.Clone();
  SecretKey moved(std::move(source));
  EXPECT_TRUE(ConstantTimeEquals(moved, copy));
  EXPECT_TRUE(ConstantTimeEquals(source, SecretKey()));  // NOLINT: inspecting moved-from on purpose

  SecretKey assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(ConstantTimeEquals(assigned, copy));
  EXPECT_TRUE(ConstantTimeEquals(moved, SecretKey()));  // NOLINT
}

TEST(SecretKeyTest, DestructionZeroesTheBytes) {
  // Construct a key in storage we keep, destroy it, and look at the storage.
  struct Storage {
    alignas(SecretKey) std::uint8_t bytes[sizeof(SecretKey)];
  } storage{};
  SecretKey* key = std::construct_at(reinterpret_cast<SecretKey*>(storage.bytes));
  key->mutable_bytes()[0] = 0xaa;
  key->mutable_bytes()[31] = 0x55;
  std::destroy_at(key);
  for (std::uint8_t b : storage.bytes) EXPECT_EQ(b, 0);
}

TEST(SecretBytesTest, HoldsAFixedSizeAndMovesWithoutCopying) {
  const std::vector<std::uint8_t> data = {9, 8, 7, 6};
  SecretBytes source(data);
  const std::uint8_t* buffer = source.bytes().data();
  SecretBytes moved(std::move(source));
  EXPECT_EQ(moved.bytes().data(), buffer) << "the buffer itself is handed over";
  EXPECT_TRUE(source.empty());  // NOLINT: inspecting moved-from on purpose
  EXPECT_TRUE(ConstantTimeEquals(moved.bytes(), data));

  SecretBytes clone = moved.Clone();
  EXPECT_NE(clone.bytes().data(), moved.bytes().data());
  EXPECT_TRUE(ConstantTimeEquals(clone.bytes(), moved.bytes()));

  SecretBytes assigned(2);
  assigned = std::move(clone);
  EXPECT_EQ(assigned.size(), 4u);
  EXPECT_TRUE(clone.empty());  // NOLINT
}

TEST(SecretBytesTest, SizedConstructorGivesZeroes) {
  SecretBytes bytes(5);
  EXPECT_EQ(bytes.size(), 5u);
  for (std::uint8_t b : bytes.bytes()) EXPECT_EQ(b, 0);
  EXPECT_TRUE(SecretBytes().empty());
  EXPECT_TRUE(SecretBytes(0).empty());
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  const std::vector<std::uint8_t> a = {1, 2, 3};
  const std::vector<std::uint8_t> b = {1, 2, 4};
  const std::vector<std::uint8_t> c = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, a));
  EXPECT_FALSE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_TRUE(ConstantTimeEquals(std::span<const std::uint8_t>(), std::span<const std::uint8_t>()));
}

TEST(RandomBytesTest, FillsTheWholeBufferWithFreshBytes) {
  std::vector<std::uint8_t> a(64), b(64);
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::vector<std::uint8_t>(64, 0));
  RandomBytes(std::span<std::uint8_t>());  // empty is fine
}

}  // namespace
}  // namespace hx
