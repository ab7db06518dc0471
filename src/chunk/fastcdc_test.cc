#include "chunk/fastcdc.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "chunk/chunk_test_util.h"

namespace hx {
namespace {

using testing::RandomBytes;
using testing::ReferenceFindCut;
using testing::SplitMixGearTable;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kKiB = std::size_t{1} << 10;

FastCdc MakeCdc(const ChunkerOptions& options, const GearTable& gear) {
  Result<FastCdc> cdc = FastCdc::Create(options, gear);
  EXPECT_TRUE(cdc.ok()) << cdc.error().ToShortString();
  return std::move(cdc).value();
}

ChunkerOptions SmallOptions() {
  ChunkerOptions options;
  options.min_size = 2 * kKiB;
  options.avg_size = 8 * kKiB;
  options.max_size = 32 * kKiB;
  return options;
}

// Checks the invariants every split must satisfy and returns the lengths.
void ExpectValidSplit(const std::vector<ChunkSpan>& chunks, std::size_t input_size,
                      const ChunkerOptions& options) {
  std::uint64_t expected_offset = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].offset, expected_offset) << "chunk " << i;
    EXPECT_LE(chunks[i].length, options.max_size) << "chunk " << i;
    EXPECT_GT(chunks[i].length, 0u) << "chunk " << i;
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].length, options.min_size) << "chunk " << i;
    }
    expected_offset += chunks[i].length;
  }
  EXPECT_EQ(expected_offset, input_size);
}

// --- Options -------------------------------------------------------------

TEST(ChunkerOptionsTest, DefaultsAreValidAndDocumented) {
  const ChunkerOptions options;
  EXPECT_TRUE(ValidateChunkerOptions(options).ok());
  EXPECT_EQ(options.avg_size, 1 * kMiB);
  EXPECT_EQ(options.min_size, 256 * kKiB);
  EXPECT_EQ(options.max_size, 4 * kMiB);
  EXPECT_EQ(options.normalization_level, 2);
}

struct BadOptionCase {
  const char* name;
  ChunkerOptions options;
  const char* field;
};

std::vector<BadOptionCase> BadOptionCases() {
  std::vector<BadOptionCase> cases;
  auto add = [&](const char* name, const char* field, auto mutate) {
    ChunkerOptions options;
    mutate(options);
    cases.push_back({name, options, field});
  };
  add("avg not a power of two", "avg_size", [](ChunkerOptions& o) { o.avg_size = 3 * kMiB / 2; });
  add("avg zero", "avg_size", [](ChunkerOptions& o) { o.avg_size = 0; });
  add("avg below the limit", "avg_size", [](ChunkerOptions& o) {
    o.avg_size = kMinAvgSize / 2;
    o.min_size = 64;
  });
  add("avg above the limit", "avg_size", [](ChunkerOptions& o) { o.avg_size = kMaxAvgSize * 2; });
  add("min below the gear window", "min_size", [](ChunkerOptions& o) { o.min_size = 63; });
  add("min zero", "min_size", [](ChunkerOptions& o) { o.min_size = 0; });
  add("min equal to avg", "min_size", [](ChunkerOptions& o) { o.min_size = o.avg_size; });
  add("min above avg", "min_size", [](ChunkerOptions& o) { o.min_size = 2 * o.avg_size; });
  add("max equal to avg", "max_size", [](ChunkerOptions& o) { o.max_size = o.avg_size; });
  add("max below avg", "max_size", [](ChunkerOptions& o) { o.max_size = o.avg_size - 1; });
  add("max above the limit", "max_size", [](ChunkerOptions& o) { o.max_size = kMaxMaxSize + 1; });
  add("negative level", "normalization_level",
      [](ChunkerOptions& o) { o.normalization_level = -1; });
  add("level too high", "normalization_level",
      [](ChunkerOptions& o) { o.normalization_level = kMaxNormalizationLevel + 1; });
  return cases;
}

TEST(ChunkerOptionsTest, BadOptionsAreRefusedAsInvalidInputNamingTheField) {
  for (const BadOptionCase& c : BadOptionCases()) {
    SCOPED_TRACE(c.name);
    const Status status = ValidateChunkerOptions(c.options);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, SyncCode::kInputInvalid);
    EXPECT_EQ(status.error().category, Category::kInvalidInput);
    EXPECT_FALSE(status.error().retryable);
    EXPECT_EQ(status.error().details.at("field"), c.field);

    const Result<FastCdc> cdc = FastCdc::Create(c.options, SplitMixGearTable(1));
    ASSERT_FALSE(cdc.ok());
    EXPECT_EQ(cdc.error(), status.error());
  }
}

TEST(ChunkerOptionsTest, ExtremesWithinTheLimitsAreAccepted) {
  ChunkerOptions smallest;
  smallest.min_size = kMinMinSize;
  smallest.avg_size = kMinAvgSize;
  smallest.max_size = kMinAvgSize + 1;
  smallest.normalization_level = kMaxNormalizationLevel;
  EXPECT_TRUE(ValidateChunkerOptions(smallest).ok());

  ChunkerOptions largest;
  largest.min_size = kMaxAvgSize - 1;
  largest.avg_size = kMaxAvgSize;
  largest.max_size = kMaxMaxSize;
  largest.normalization_level = 0;
  EXPECT_TRUE(ValidateChunkerOptions(largest).ok());
}

// --- Masks ---------------------------------------------------------------

TEST(ChunkerMaskTest, HasTheRequestedNumberOfBitsAllWithin62To15) {
  for (int bits = 1; bits <= 48; ++bits) {
    const std::uint64_t mask = ChunkerMask(bits);
    EXPECT_EQ(std::popcount(mask), bits) << bits;
    EXPECT_EQ(mask >> 63, 0u) << bits;  // the two-byte loop needs bit 63 free
    EXPECT_EQ(mask & ((std::uint64_t{1} << 15) - 1), 0u) << bits;
    EXPECT_NE(mask & (std::uint64_t{1} << 62), 0u) << bits;
  }
}

TEST(ChunkerMaskTest, ValuesArePinned) {
  // Changing a mask moves every chunk boundary of every vault.
  EXPECT_EQ(ChunkerMask(1), 0x4000000000000000u);
  EXPECT_EQ(ChunkerMask(13), 0x4889112224440000u);
  EXPECT_EQ(ChunkerMask(18), 0x5252525252520000u);
  EXPECT_EQ(ChunkerMask(19), 0x5294a5294a520000u);
  EXPECT_EQ(ChunkerMask(20), 0x54a54a54a54a0000u);
  EXPECT_EQ(ChunkerMask(21), 0x552a552a552a0000u);
  EXPECT_EQ(ChunkerMask(22), 0x5552aa5552aa0000u);
  EXPECT_EQ(ChunkerMask(48), 0x7fffffffffff8000u);
}

TEST(FastCdcTest, NormalizationLevelSetsTheMaskBitCounts) {
  for (int level = 0; level <= kMaxNormalizationLevel; ++level) {
    ChunkerOptions options;
    options.normalization_level = level;
    const FastCdc cdc = MakeCdc(options, SplitMixGearTable(1));
    EXPECT_EQ(cdc.mask_small(), ChunkerMask(20 + level));
    EXPECT_EQ(cdc.mask_large(), ChunkerMask(20 - level));
  }
}

// --- FindCut -------------------------------------------------------------

TEST(FastCdcTest, EmptyInputGivesNoChunks) {
  const FastCdc cdc = MakeCdc(SmallOptions(), SplitMixGearTable(1));
  EXPECT_EQ(cdc.FindCut({}, /*at_eof=*/true), 0u);
  EXPECT_EQ(cdc.FindCut({}, /*at_eof=*/false), 0u);
  EXPECT_TRUE(SplitIntoChunks(cdc, {}).empty());
}

TEST(FastCdcTest, InputUpToMinSizeIsOneChunk) {
  const ChunkerOptions options = SmallOptions();
  const FastCdc cdc = MakeCdc(options, SplitMixGearTable(1));
  for (std::size_t size : {std::size_t{1}, std::size_t{100}, options.min_size}) {
    const std::vector<std::uint8_t> data = RandomBytes(size, size);
    EXPECT_EQ(SplitIntoChunks(cdc, data), (std::vector<ChunkSpan>{{0, size}})) << size;
    EXPECT_EQ(cdc.FindCut(data, /*at_eof=*/false), 0u) << "more input could move the cut";
  }
}

TEST(FastCdcTest, ChunksStayWithinMinAndMaxAndCoverTheInput) {
  const ChunkerOptions options = SmallOptions();
  const FastCdc cdc = MakeCdc(options, SplitMixGearTable(7));
  const std::vector<std::uint8_t> data = RandomBytes(42, 4 * kMiB + 123);
  const std::vector<ChunkSpan> chunks = SplitIntoChunks(cdc, data);
  ExpectValidSplit(chunks, data.size(), options);
  EXPECT_GT(chunks.size(), 100u);
}

TEST(FastCdcTest, ConstantInputIsCutAtMaxSize) {
  // After 64 equal bytes fp is constant, so either every position is a hit
  // or none is. For this table none is: every chunk is forced at max_size.
  const ChunkerOptions options = SmallOptions();
  const FastCdc cdc = MakeCdc(options, SplitMixGearTable(3));
  const std::vector<std::uint8_t> zeros(10 * options.max_size + 5, 0);
  const std::vector<ChunkSpan> chunks = SplitIntoChunks(cdc, zeros);
  ExpectValidSplit(chunks, zeros.size(), options);
  ASSERT_EQ(chunks.size(), 11u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(chunks[i].length, options.max_size) << i;
  }
  EXPECT_EQ(chunks.back().length, 5u);
}

TEST(FastCdcTest, ShortWindowNeedsMoreInputUnlessItHoldsAHit) {
  const ChunkerOptions options = SmallOptions();
  const FastCdc cdc = MakeCdc(options, SplitMixGearTable(5));
  const std::vector<std::uint8_t> data = RandomBytes(9, 4 * options.max_size);
  const std::size_t cut = cdc.FindCut(data, /*at_eof=*/false);
  ASSERT_GT(cut, options.min_size);
  ASSERT_LT(cut, options.max_size) << "pick a seed whose first chunk is not forced";
  // The cut depends only on the bytes up to it ...
  const std::span<const std::uint8_t> all(data);
  EXPECT_EQ(cdc.FindCut(all.first(cut), /*at_eof=*/false), cut);
  EXPECT_EQ(cdc.FindCut(all.first(cut), /*at_eof=*/true), cut);
  // ... and one byte less hides it: more input is needed, or at EOF, all.
  EXPECT_EQ(cdc.FindCut(all.first(cut - 1), /*at_eof=*/false), 0u);
  EXPECT_EQ(cdc.FindCut(all.first(cut - 1), /*at_eof=*/true), cut - 1);
}

TEST(FastCdcTest, FullWindowWithoutAHitIsCutAtMax) {
  const ChunkerOptions options = SmallOptions();
  const FastCdc cdc = MakeCdc(options, SplitMixGearTable(3));
  const std::vector<std::uint8_t> zeros(options.max_size + 1, 0);
  EXPECT_EQ(cdc.FindCut(zeros, /*at_eof=*/false), options.max_size);
  EXPECT_EQ(cdc.FindCut(std::span(zeros).first(options.max_size), false), options.max_size);
  EXPECT_EQ(cdc.FindCut(std::span(zeros).first(options.max_size - 1), false), 0u);
}

RC_GTEST_PROP(FastCdcProperty, FindCutEqualsTheByteAtATimeReference, ()) {
  ChunkerOptions options;
  const int avg_bits = *rc::gen::inRange(8, 13);
  options.avg_size = std::size_t{1} << avg_bits;
  options.min_size = *rc::gen::inRange<std::size_t>(kMinMinSize, options.avg_size);
  options.max_size =
      *rc::gen::inRange<std::size_t>(options.avg_size + 1, 4 * options.avg_size + 2);
  options.normalization_level = *rc::gen::inRange(0, kMaxNormalizationLevel + 1);
  const GearTable gear = SplitMixGearTable(*rc::gen::arbitrary<std::uint64_t>());
  const FastCdc cdc = MakeCdc(options, gear);

  // Few distinct byte values make hits at odd/even positions and at the
  // mask switch more likely than uniform bytes do.
  const int alphabet = *rc::gen::element(2, 3, 256);
  std::vector<std::uint8_t> data =
      RandomBytes(*rc::gen::arbitrary<std::uint64_t>(),
                  *rc::gen::inRange<std::size_t>(0, 3 * options.max_size));
  for (std::uint8_t& b : data) {
    b = static_cast<std::uint8_t>(b % alphabet);
  }
  const bool at_eof = *rc::gen::arbitrary<bool>();
  const std::size_t expected =
      ReferenceFindCut(data, at_eof, options, gear, cdc.mask_small(), cdc.mask_large());
  RC_ASSERT(cdc.FindCut(data, at_eof) == expected);
}

TEST(FastCdcTest, SplitIsDeterministic) {
  const FastCdc cdc = MakeCdc(SmallOptions(), SplitMixGearTable(11));
  const std::vector<std::uint8_t> data = RandomBytes(5, 2 * kMiB);
  const std::vector<std::uint8_t> copy = data;
  EXPECT_EQ(SplitIntoChunks(cdc, data), SplitIntoChunks(cdc, copy));
}

TEST(FastCdcTest, AverageChunkSizeOnRandomDataIsNearTheConfiguredAverage) {
  for (int level = 0; level <= kMaxNormalizationLevel; ++level) {
    ChunkerOptions options = SmallOptions();
    options.normalization_level = level;
    const FastCdc cdc = MakeCdc(options, SplitMixGearTable(13));
    const std::vector<std::uint8_t> data = RandomBytes(17, 16 * kMiB);
    const std::vector<ChunkSpan> chunks = SplitIntoChunks(cdc, data);
    const double mean = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
    EXPECT_GT(mean, 0.5 * static_cast<double>(options.avg_size)) << "level " << level;
    EXPECT_LT(mean, 2.0 * static_cast<double>(options.avg_size)) << "level " << level;
  }
}

TEST(FastCdcTest, DefaultOptionsAverageNearOneMiBOn64MiB) {
  const FastCdc cdc = MakeCdc(ChunkerOptions{}, SplitMixGearTable(19));
  const std::vector<std::uint8_t> data = RandomBytes(23, 64 * kMiB);
  const std::vector<ChunkSpan> chunks = SplitIntoChunks(cdc, data);
  ExpectValidSplit(chunks, data.size(), ChunkerOptions{});
  const double mean = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(mean, 0.5 * kMiB);
  EXPECT_LT(mean, 2.0 * kMiB);
}

// An edit near the start shifts every later byte; content-defined cuts
// resynchronise, so the later chunks are the same bytes as before.
void ExpectEditChangesOnlyTheFirstChunks(const std::vector<std::uint8_t>& before,
                                         const std::vector<std::uint8_t>& after,
                                         const FastCdc& cdc) {
  const std::vector<ChunkSpan> a = SplitIntoChunks(cdc, before);
  const std::vector<ChunkSpan> b = SplitIntoChunks(cdc, after);
  ASSERT_GT(a.size(), 10u);
  // Count the chunks that match from the end (same length and bytes).
  std::size_t common = 0;
  while (common < a.size() && common < b.size()) {
    const ChunkSpan& x = a[a.size() - 1 - common];
    const ChunkSpan& y = b[b.size() - 1 - common];
    if (x.length != y.length ||
        std::memcmp(before.data() + x.offset, after.data() + y.offset, x.length) != 0) {
      break;
    }
    ++common;
  }
  EXPECT_GE(common + 2, a.size()) << "of " << a.size() << " chunks, " << common << " kept";
  EXPECT_GE(common + 2, b.size());
}

TEST(FastCdcTest, InsertingOneByteNearTheStartChangesAtMostTwoChunks) {
  const FastCdc cdc = MakeCdc(ChunkerOptions{}, GearTable::Default());
  const std::vector<std::uint8_t> before = RandomBytes(29, 64 * kMiB);
  for (std::size_t position : {std::size_t{0}, std::size_t{1000}, 300 * kKiB, 1500 * kKiB}) {
    SCOPED_TRACE(position);
    std::vector<std::uint8_t> after = before;
    after.insert(after.begin() + static_cast<std::ptrdiff_t>(position), std::uint8_t{0x5a});
    ExpectEditChangesOnlyTheFirstChunks(before, after, cdc);
  }
}

TEST(FastCdcTest, DeletingAndOverwritingBytesNearTheStartChangesAtMostTwoChunks) {
  const FastCdc cdc = MakeCdc(SmallOptions(), GearTable::Default());
  const std::vector<std::uint8_t> before = RandomBytes(31, 8 * kMiB);
  std::vector<std::uint8_t> deleted = before;
  deleted.erase(deleted.begin() + 5000, deleted.begin() + 5100);
  ExpectEditChangesOnlyTheFirstChunks(before, deleted, cdc);
  std::vector<std::uint8_t> overwritten = before;
  overwritten[6000] ^= 0xff;
  ExpectEditChangesOnlyTheFirstChunks(before, overwritten, cdc);
}

TEST(FastCdcTest, DifferentGearTablesGiveDifferentCutPoints) {
  const std::vector<std::uint8_t> data = RandomBytes(37, 4 * kMiB);
  Blake3Key key_a{};
  Blake3Key key_b{};
  key_b[31] = 1;
  const FastCdc a = MakeCdc(SmallOptions(), GearTable::FromKey(key_a));
  const FastCdc b = MakeCdc(SmallOptions(), GearTable::FromKey(key_b));
  const std::vector<ChunkSpan> cuts_a = SplitIntoChunks(a, data);
  const std::vector<ChunkSpan> cuts_b = SplitIntoChunks(b, data);
  ASSERT_GT(cuts_a.size(), 100u);
  // Not merely different somewhere: the first cuts already differ, and few
  // boundaries coincide (by chance only).
  EXPECT_NE(cuts_a.front(), cuts_b.front());
  std::vector<std::uint64_t> ends_a;
  std::vector<std::uint64_t> ends_b;
  for (const ChunkSpan& c : cuts_a) ends_a.push_back(c.offset + c.length);
  for (const ChunkSpan& c : cuts_b) ends_b.push_back(c.offset + c.length);
  std::vector<std::uint64_t> shared;
  std::set_intersection(ends_a.begin(), ends_a.end(), ends_b.begin(), ends_b.end(),
                        std::back_inserter(shared));
  EXPECT_LT(shared.size(), cuts_a.size() / 10);
}

// --- Golden cut points ----------------------------------------------------
// Computed by an independent script that restates the rule of fastcdc.h
// byte by byte, with the gear table from b3sum 1.2.0 (see gear_table_test.cc)
// and the input RandomBytes(seed, n). A change here moves every boundary of
// every vault: it needs a new gear table context or an options version.

std::vector<std::size_t> FirstLengths(const FastCdc& cdc, std::span<const std::uint8_t> data,
                                      std::size_t count) {
  std::vector<std::size_t> lengths;
  for (const ChunkSpan& chunk : SplitIntoChunks(cdc, data)) {
    if (lengths.size() == count) break;
    lengths.push_back(chunk.length);
  }
  return lengths;
}

TEST(FastCdcGoldenTest, DefaultOptionsAndTable) {
  const FastCdc cdc = MakeCdc(ChunkerOptions{}, GearTable::Default());
  EXPECT_EQ(FirstLengths(cdc, RandomBytes(2026, 5 * kMiB), 3),
            (std::vector<std::size_t>{1568600, 1259381, 622460}));
}

TEST(FastCdcGoldenTest, SmallOptionsAndDefaultTable) {
  const FastCdc cdc = MakeCdc(SmallOptions(), GearTable::Default());
  EXPECT_EQ(FirstLengths(cdc, RandomBytes(2026, 200000), 12),
            (std::vector<std::size_t>{8997, 8958, 8630, 8666, 12590, 8403, 10678, 9250, 11796,
                                      8430, 9228, 9505}));
}

TEST(FastCdcGoldenTest, SmallOptionsAndAKeyedTable) {
  Blake3Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  const FastCdc cdc = MakeCdc(SmallOptions(), GearTable::FromKey(key));
  EXPECT_EQ(FirstLengths(cdc, RandomBytes(2026, 200000), 8),
            (std::vector<std::size_t>{8222, 5583, 10462, 10251, 4720, 8665, 2216, 10336}));
}

TEST(FastCdcGoldenTest, OddMinimumLevelOneAndAForcedCut) {
  ChunkerOptions options = SmallOptions();
  options.min_size = 1000;
  options.max_size = 20000;
  options.normalization_level = 1;
  const FastCdc cdc = MakeCdc(options, GearTable::Default());
  EXPECT_EQ(FirstLengths(cdc, RandomBytes(7, 300000), 10),
            (std::vector<std::size_t>{8570, 9366, 8767, 20000, 9291, 6355, 11935, 8341, 11300,
                                      11131}));
}

}  // namespace
}  // namespace hx
