#include "meta/manifest.h"

#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "meta/meta_test_util.h"
#include "store/memory_store.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kNodeB;
using meta_testing::kOtherVaultId;
using meta_testing::kTestVaultId;
using meta_testing::TestContext;

constexpr std::string_view kSnapshotId =
    "bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19";
// testdata/make_golden.py (libsodium + b3sum): 390 sealed bytes.
constexpr std::size_t kGoldenSize = 390;
constexpr std::string_view kGoldenBlake3 =
    "95a14479ed964655b77f4f0c080394a51b94b0591f9143a41874080a86fc5672";

DeviceManifest GoldenManifest() {
  return DeviceManifest{
      .vault_id = std::string(kTestVaultId),
      .node_id = std::string(kNodeA),
      .manifest_seq = 3,
      .last_seen_head_seq = 7,
      .snapshots = {std::string(kSnapshotId)},
      .device = {.capabilities = {"folder", "s3"},
                 .hx_version = "0.1.0",
                 .last_seen_ms = 1767225600000,
                 .platform = "linux-x86_64"},
  };
}

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The golden manifest's plaintext with `from` replaced by `to`.
std::string GoldenJson(std::string_view from = "", std::string_view to = "") {
  std::string text =
      R"({"device":{"capabilities":["folder","s3"],"hx_version":"0.1.0",)"
      R"("last_seen_ms":1767225600000,"platform":"linux-x86_64"},"format_version":1,)"
      R"("last_seen_head_seq":7,"manifest_seq":3,"node_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
      R"("snapshots":["bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19"],)"
      R"("vault_id":"00112233445566778899aabbccddeeff"})";
  if (!from.empty()) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

// `text` sealed as node `node`'s manifest: what a writer with the key could
// store.
Bytes Sealed(const VaultContext& ctx, std::string_view node, std::string_view text) {
  return AeadSealSynthetic(ctx.keys.manifest, ctx.keys.nonce,
                           EncodeAssociatedData({"hx manifest v1", ctx.vault_id, node}),
                           Span(text));
}

void ExpectCorrupt(const Result<DeviceManifest>& manifest, std::string_view words) {
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(manifest.error().category, Category::kCorrupt) << manifest.error().ToShortString();
  EXPECT_NE(manifest.error().message.find(words), std::string::npos) << manifest.error().message;
}

TEST(ManifestTest, EncodingIsPinned) {
  auto bytes = EncodeManifest(TestContext(), GoldenManifest());
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(bytes->size(), kGoldenSize);
  EXPECT_EQ(ToHex(Blake3Hash(*bytes)), kGoldenBlake3);
  EXPECT_EQ(*bytes, Sealed(TestContext(), kNodeA, GoldenJson()));
  EXPECT_EQ(ManifestKey(kNodeA), "manifests/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.hxman");
}

TEST(ManifestTest, DecodeGivesBackTheManifest) {
  auto manifest = DecodeManifest(TestContext(), kNodeA, *EncodeManifest(TestContext(),
                                                                        GoldenManifest()));
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToShortString();
  EXPECT_EQ(*manifest, GoldenManifest());
}

TEST(ManifestTest, AManifestUnderAnotherDevicesNameDoesNotOpen) {
  const Bytes bytes = *EncodeManifest(TestContext(), GoldenManifest());
  ExpectCorrupt(DecodeManifest(TestContext(), kNodeB, bytes), "does not authenticate");
}

TEST(ManifestTest, AManifestOfAnotherVaultOrKeyDoesNotOpen) {
  const Bytes bytes = *EncodeManifest(TestContext(), GoldenManifest());
  ExpectCorrupt(DecodeManifest(TestContext(1), kNodeA, bytes), "does not authenticate");
  ExpectCorrupt(DecodeManifest(TestContext(0, kOtherVaultId), kNodeA, bytes),
                "does not authenticate");
}

TEST(ManifestTest, EveryFlippedBitIsRefused) {
  const Bytes bytes = *EncodeManifest(TestContext(), GoldenManifest());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    Bytes bad = bytes;
    bad[i] ^= 0x80;
    EXPECT_FALSE(DecodeManifest(TestContext(), kNodeA, bad).ok()) << i;
  }
}

TEST(ManifestTest, ANewerFormatIsUnsupported) {
  auto manifest = DecodeManifest(TestContext(), kNodeA,
                                 Sealed(TestContext(), kNodeA, R"({"format_version":2})"));
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().category, Category::kUnsupported);
  EXPECT_NE(manifest.error().message.find("made by a newer hx"), std::string::npos);
}

TEST(ManifestTest, TheHandBuiltGoldenPlaintextDecodes) {
  auto manifest = DecodeManifest(TestContext(), kNodeA, Sealed(TestContext(), kNodeA, GoldenJson()));
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToShortString();
  EXPECT_EQ(*manifest, GoldenManifest());
}

TEST(ManifestTest, MalformedPlaintextsAreRefusedNamingTheProblem) {
  const struct {
    std::string from, to, words;
  } cases[] = {
      {"\"node_id\":\"aaaa", "\"node_id\":\"bbbb", "another device"},
      {"\"manifest_seq\":3", "\"manifest_seq\":0", "\"manifest_seq\""},
      {"[\"folder\",\"s3\"]", "[\"s3\",\"folder\"]", "sorted"},
      {"[\"folder\",\"s3\"]", "[\"folder\",7]", "must hold strings"},
      {"\"linux-x86_64\"", "\"linux\\u0000\"", "printable ASCII"},
      {"[\"bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19\"]",
       "[\"bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19\","
       "\"bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19\"]",
       "listed twice"},
      {"\"last_seen_head_seq\":7,", "", "\"last_seen_head_seq\""},
      {"\"vault_id\":\"00112233445566778899aabbccddeeff\"}",
       "\"vault_id\":\"00112233445566778899aabbccddeeff\",\"zz\":1}", "\"zz\""},
      {"{\"device\"", " {\"device\"", "not canonical"},
      {"\"format_version\":1", "\"format_version\":0", "format_version 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.to);
    ExpectCorrupt(DecodeManifest(TestContext(), kNodeA,
                                 Sealed(TestContext(), kNodeA, GoldenJson(c.from, c.to))),
                  c.words);
  }
}

TEST(ManifestTest, TheEncoderRefusesManifestsItWouldNotRead) {
  std::vector<DeviceManifest> bad(5, GoldenManifest());
  bad[0].manifest_seq = 0;
  bad[1].device.capabilities = {"s3", "folder"};
  bad[2].device.platform = "caf\xc3\xa9";
  bad[3].snapshots.push_back(bad[3].snapshots[0]);
  bad[4].vault_id = std::string(kOtherVaultId);
  for (const DeviceManifest& manifest : bad) {
    auto bytes = EncodeManifest(TestContext(), manifest);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal);
  }
}

TEST(ManifestStoreTest, ADeviceWithoutAManifestReadsAsNothing) {
  MemoryStore store;
  auto manifest = ReadManifest(store, TestContext(), kNodeA);
  ASSERT_TRUE(manifest.ok());
  EXPECT_FALSE(manifest->has_value());
}

TEST(ManifestStoreTest, WriteThenReadRoundTrips) {
  MemoryStore store;
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  auto manifest = ReadManifest(store, TestContext(), kNodeA);
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToShortString();
  EXPECT_EQ(manifest->value(), GoldenManifest());
}

TEST(ManifestStoreTest, ManifestSeqMustStrictlyIncrease) {
  MemoryStore store;
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  for (std::uint64_t seq : {3, 2}) {
    DeviceManifest stale = GoldenManifest();
    stale.manifest_seq = seq;
    stale.last_seen_head_seq = 99;
    auto status = WriteManifest(store, TestContext(), stale);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, SyncCode::kInternal);
  }
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), GoldenManifest());
  DeviceManifest next = GoldenManifest();
  next.manifest_seq = 4;
  ASSERT_TRUE(WriteManifest(store, TestContext(), next).ok());
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), next);
}

TEST(ManifestStoreTest, ACorruptOwnManifestIsReplacedOnWrite) {
  MemoryStore store;
  ASSERT_TRUE(store.Put(ManifestKey(kNodeA), Span("garbage")).ok());
  auto read = ReadManifest(store, TestContext(), kNodeA);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().category, Category::kCorrupt);
  EXPECT_EQ(read.error().details.at("key"), ManifestKey(kNodeA));
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), GoldenManifest());
}

TEST(ManifestStoreTest, AnOversizedOwnManifestIsReplacedOnWrite) {
  MemoryStore store;
  ASSERT_TRUE(store.Put(ManifestKey(kNodeA), Bytes(kMaxManifestBytes + kAeadOverhead + 1, 'x')).ok());
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), GoldenManifest());
}

TEST(ManifestStoreTest, ANewerFormatManifestIsNotOverwritten) {
  MemoryStore store;
  const Bytes newer = Sealed(TestContext(), kNodeA, R"({"format_version":2})");
  ASSERT_TRUE(store.Put(ManifestKey(kNodeA), newer).ok());
  auto status = WriteManifest(store, TestContext(), GoldenManifest());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().category, Category::kUnsupported);
  EXPECT_EQ(*store.Get(ManifestKey(kNodeA), kMaxManifestBytes), newer);
}

TEST(ManifestStoreTest, AnUpdateReadsOnceAndWritesOnce) {
  CountingStore store(std::make_unique<MemoryStore>());
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  store.Reset();
  auto previous = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_TRUE(previous.ok()) << previous.error().ToShortString();
  EXPECT_EQ(previous->manifest, GoldenManifest());
  EXPECT_TRUE(previous->version.has_value());
  EXPECT_FALSE(previous->damaged);
  DeviceManifest next = GoldenManifest();
  next.manifest_seq += 1;
  ASSERT_TRUE(WriteManifest(store, TestContext(), next, *previous).ok());
  const StoreCounts counts = store.Counts();
  EXPECT_EQ(counts.total_calls(), 2u) << counts.ToString();
  EXPECT_EQ(counts[StoreOp::kGetVersioned], 1u) << counts.ToString();
  EXPECT_EQ(counts[StoreOp::kPutIfMatch], 1u) << counts.ToString();
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), next);
}

TEST(ManifestStoreTest, AnUpdateOverAStaleReadIsAbortedNotLost) {
  MemoryStore store;
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  auto previous = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_TRUE(previous.ok());
  DeviceManifest meanwhile = GoldenManifest();
  meanwhile.manifest_seq += 1;
  ASSERT_TRUE(WriteManifest(store, TestContext(), meanwhile).ok());
  DeviceManifest next = GoldenManifest();
  next.manifest_seq += 2;
  auto status = WriteManifest(store, TestContext(), next, *previous);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().category, Category::kAborted);
  EXPECT_EQ(ReadManifest(store, TestContext(), kNodeA)->value(), meanwhile);
}

TEST(ManifestStoreTest, ReadForUpdateSaysAbsentDamagedOrNewer) {
  MemoryStore store;
  auto absent = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->manifest || absent->version || absent->damaged);

  ASSERT_TRUE(store.Put(ManifestKey(kNodeA), Span("garbage")).ok());
  auto damaged = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_TRUE(damaged.ok());
  EXPECT_TRUE(damaged->damaged);
  EXPECT_FALSE(damaged->manifest);
  EXPECT_TRUE(damaged->version);

  ASSERT_TRUE(
      store.Put(ManifestKey(kNodeA), Bytes(kMaxManifestBytes + kAeadOverhead + 1, 'x')).ok());
  auto oversized = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_TRUE(oversized.ok());
  EXPECT_TRUE(oversized->damaged);
  EXPECT_FALSE(oversized->version);

  ASSERT_TRUE(
      store.Put(ManifestKey(kNodeA), Sealed(TestContext(), kNodeA, R"({"format_version":2})")).ok());
  auto newer = ReadManifestForUpdate(store, TestContext(), kNodeA);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().category, Category::kUnsupported);
  EXPECT_EQ(newer.error().details.at("key"), ManifestKey(kNodeA));
}

TEST(ManifestStoreTest, ListManifestsGivesTheNodeIdsOnly) {
  MemoryStore store;
  DeviceManifest b = GoldenManifest();
  b.node_id = std::string(kNodeB);
  ASSERT_TRUE(WriteManifest(store, TestContext(), b).ok());
  ASSERT_TRUE(WriteManifest(store, TestContext(), GoldenManifest()).ok());
  ASSERT_TRUE(store.Put("manifests/readme.txt", Span("x")).ok());
  ASSERT_TRUE(store.Put("manifests/abc.hxman", Span("x")).ok());
  ASSERT_TRUE(store.Put("head.json", Span("x")).ok());
  auto nodes = ListManifests(store);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(*nodes, (std::vector<std::string>{std::string(kNodeA), std::string(kNodeB)}));
}

}  // namespace
}  // namespace hx
