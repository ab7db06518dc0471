#include "chunk/gear_table.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

namespace hx {
namespace {

TEST(GearTableTest, FromBytesReadsLittleEndianEntries) {
  std::array<std::uint8_t, GearTable::kBytes> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }
  const GearTable table = GearTable::FromBytes(bytes);
  // Bytes 01 08 0f 16 1d 24 2b 32 and c9 d0 d7 de e5 ec f3 fa.
  EXPECT_EQ(table.entry(0), 0x322b241d160f0801u);
  EXPECT_EQ(table.entry(255), 0xfaf3ece5ded7d0c9u);
}

// Pinned with an independent BLAKE3 (b3sum 1.2.0):
//   head -c 32 /dev/zero |
//     b3sum --derive-key "hx 2026-11 fastcdc gear table v1" --length 2048 --raw
// (entries = little-endian uint64s).
TEST(GearTableTest, DefaultIsTheDerivationOfTheZeroKey) {
  const GearTable& table = GearTable::Default();
  EXPECT_EQ(table.entry(0), 0x3153643b3079daacu);
  EXPECT_EQ(table.entry(1), 0x61016ff3f96c9759u);
  EXPECT_EQ(table.entry(255), 0xc2bada59f020fa36u);
  EXPECT_EQ(table, GearTable::FromKey(Blake3Key{}));
  EXPECT_EQ(&table, &GearTable::Default()) << "computed once";
}

TEST(GearTableTest, FromKeyIsBlake3DeriveKeyWithTheVersionedContext) {
  Blake3Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  const GearTable table = GearTable::FromKey(key);
  // b3sum --derive-key "hx 2026-11 fastcdc gear table v1" --length 2048 of
  // the bytes 00 01 .. 1f.
  EXPECT_EQ(table.entry(0), 0x16b7e7122e7d4279u);
  EXPECT_EQ(table.entry(128), 0x7fc231edb67cd269u);
  EXPECT_EQ(table.entry(255), 0x3446c1c3b7c13712u);
  // The same bytes through the incremental API.
  Blake3Hasher hasher = Blake3Hasher::DeriveKey(kGearTableContext);
  hasher.Update(key);
  std::array<std::uint8_t, GearTable::kBytes> bytes{};
  hasher.Finalize(bytes);
  EXPECT_EQ(table, GearTable::FromBytes(bytes));
}

TEST(GearTableTest, DifferentKeysGiveUnrelatedTables) {
  Blake3Key a{};
  Blake3Key b{};
  b[0] = 0x80;
  const GearTable ta = GearTable::FromKey(a);
  const GearTable tb = GearTable::FromKey(b);
  EXPECT_EQ(ta, GearTable::FromKey(a)) << "deterministic";
  int equal = 0;
  for (int i = 0; i < 256; ++i) {
    equal += ta.entry(static_cast<std::uint8_t>(i)) == tb.entry(static_cast<std::uint8_t>(i));
  }
  EXPECT_EQ(equal, 0);
}

TEST(GearTableTest, EntriesAreDistinct) {
  // Equal entries would make two byte values indistinguishable to the hash.
  const auto& entries = GearTable::Default().entries();
  EXPECT_EQ(std::set<std::uint64_t>(entries.begin(), entries.end()).size(), entries.size());
}

}  // namespace
}  // namespace hx
