#include "index/row_codec.h"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace hx {
namespace {

constexpr char kNodeA[] = "0123456789abcdef0123456789abcdef";
constexpr char kNodeB[] = "fedcba9876543210fedcba9876543210";

std::vector<std::uint8_t> Varint(std::uint64_t value) {
  std::vector<std::uint8_t> out;
  AppendVarint(out, value);
  return out;
}

std::optional<std::uint64_t> ReadAll(const std::vector<std::uint8_t>& bytes) {
  std::size_t pos = 0;
  std::optional<std::uint64_t> value = ReadVarint(bytes, pos);
  if (value && pos != bytes.size()) {
    return std::nullopt;
  }
  return value;
}

TEST(VarintTest, EncodesSevenBitsPerByteLeastSignificantFirst) {
  EXPECT_EQ(Varint(0), (std::vector<std::uint8_t>{0x00}));
  EXPECT_EQ(Varint(127), (std::vector<std::uint8_t>{0x7f}));
  EXPECT_EQ(Varint(128), (std::vector<std::uint8_t>{0x80, 0x01}));
  EXPECT_EQ(Varint(300), (std::vector<std::uint8_t>{0xac, 0x02}));
  EXPECT_EQ(
      Varint(std::numeric_limits<std::uint64_t>::max()),
      (std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(VarintTest, RejectsTruncatedOverlongAndOverflowingInput) {
  EXPECT_FALSE(ReadAll({}));
  EXPECT_FALSE(ReadAll({0x80}));
  EXPECT_FALSE(ReadAll({0xff, 0xff}));
  // Ten bytes whose last holds more than bit 63.
  EXPECT_FALSE(ReadAll({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}));
  // Eleven bytes.
  EXPECT_FALSE(ReadAll({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}));
}

RC_GTEST_PROP(VarintTest, RoundTripsEveryValue, (std::uint64_t value)) {
  RC_ASSERT(ReadAll(Varint(value)) == std::optional<std::uint64_t>(value));
}

TEST(ChunkListTest, RoundTripsEmptyAndSeveralChunks) {
  EXPECT_TRUE(EncodeChunkList({}).empty());
  std::vector<ChunkRef> chunks(3);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].id.fill(static_cast<std::uint8_t>(i + 1));
    chunks[i].size = std::uint64_t{1} << (10 * i);
  }
  const std::vector<std::uint8_t> bytes = EncodeChunkList(chunks);
  EXPECT_EQ(bytes.size(), 3 * 32 + 1 + 2 + 3);
  Result<std::vector<ChunkRef>> decoded = DecodeChunkList(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, chunks);
}

TEST(ChunkListTest, RejectsATruncatedIdOrSizeAsCorrupt) {
  std::vector<ChunkRef> chunks(1);
  chunks[0].size = 1000;
  const std::vector<std::uint8_t> bytes = EncodeChunkList(chunks);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    Result<std::vector<ChunkRef>> decoded = DecodeChunkList(std::span(bytes).first(cut));
    ASSERT_FALSE(decoded.ok()) << "cut at " << cut;
    EXPECT_EQ(decoded.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(decoded.error().category, Category::kCorrupt);
  }
}

TEST(VersionVectorCodecTest, RoundTripsEmptyAndSeveralNodes) {
  Result<std::vector<std::uint8_t>> empty = EncodeVersionVector(VersionVector());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  const VersionVector vv(std::map<std::string, std::uint64_t>{{kNodeA, 1}, {kNodeB, 1u << 20}});
  Result<std::vector<std::uint8_t>> bytes = EncodeVersionVector(vv);
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(bytes->size(), 16 + 1 + 16 + 3);
  Result<VersionVector> decoded = DecodeVersionVector(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, vv);
}

TEST(VersionVectorCodecTest, RefusesToEncodeANodeIdThatIsNotLowercaseHex) {
  for (const char* node : {"node", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef"}) {
    Result<std::vector<std::uint8_t>> bytes =
        EncodeVersionVector(VersionVector(std::map<std::string, std::uint64_t>{{node, 1}}));
    ASSERT_FALSE(bytes.ok()) << node;
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal);
  }
}

TEST(VersionVectorCodecTest, RejectsZeroCountersUnsortedNodesAndTruncation) {
  std::vector<std::uint8_t> a(16, 0x11);
  std::vector<std::uint8_t> b(16, 0x22);
  auto join = [](std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& part : parts) {
      out.insert(out.end(), part.begin(), part.end());
    }
    return out;
  };
  const std::vector<std::vector<std::uint8_t>> bad = {
      join({a, {0x00}}),              // counter 0
      join({b, {0x01}, a, {0x01}}),   // out of order
      join({a, {0x01}, a, {0x02}}),   // duplicate node
      join({a}),                      // missing counter
      std::vector<std::uint8_t>(15),  // truncated node
  };
  for (const auto& bytes : bad) {
    Result<VersionVector> decoded = DecodeVersionVector(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().category, Category::kCorrupt);
  }
  Result<VersionVector> good = DecodeVersionVector(join({a, {0x01}, b, {0x02}}));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->counters().size(), 2u);
}

}  // namespace
}  // namespace hx
