#include "meta/snapshot.h"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "meta/meta_test_util.h"
#include "meta/stored_zip.h"
#include "store/memory_store.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kOtherVaultId;
using meta_testing::kTestVaultId;
using meta_testing::TestContext;

constexpr std::int64_t kMs = 1767225600000;  // 2026-01-01T00:00:00Z
// printf 'kc.sync.snapshot.v2\n2021...3e3f\n1767225600000' | b3sum
constexpr std::string_view kSnapshotId =
    "bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19";
constexpr std::string_view kGoldenHeader =
    R"({"format_version":1,"kind":"hx-snapshot","snapshot_id":)"
    R"("bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19",)"
    R"("vault_id":"00112233445566778899aabbccddeeff"})";
// testdata/make_golden.py: the whole zip, built with Python's zipfile and
// libsodium, is 1248 bytes with this BLAKE3.
constexpr std::size_t kGoldenZipSize = 1248;
constexpr std::string_view kGoldenZipBlake3 =
    "f78dae80817dccbd530aa74e302ceba41eaeea4864243b7de1d0fb9464735803";
// b3sum --derive-key "hx 2026-11 key fingerprint v1" of the test master key.
constexpr std::string_view kFingerprint =
    "91134cac6140a575788569303a6b7c56a10014ff456f27d7c729abc876b180d9";

ObjectId Filled(std::uint8_t byte) {
  ObjectId id;
  id.fill(byte);
  return id;
}

ObjectId GoldenRoot() {
  ObjectId root;
  for (std::size_t i = 0; i < root.size(); ++i) root[i] = static_cast<std::uint8_t>(0x20 + i);
  return root;
}

std::string Repeat(std::string_view two, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += two;
  return out;
}

ObjectLocation Location(std::uint8_t id, ObjectKind kind, std::string_view blob_pair,
                        std::uint64_t offset, std::uint64_t length, std::uint64_t raw) {
  return ObjectLocation{.id = Filled(id), .kind = kind, .blob_id = Repeat(blob_pair, 32),
                        .offset = offset, .length = length, .raw_length = raw};
}

// The snapshot of make_golden.py, with `added` in the order decoding gives.
Snapshot GoldenSnapshot() {
  return Snapshot{
      .snapshot_id = std::string(kSnapshotId),
      .vault_id = std::string(kTestVaultId),
      .root = GoldenRoot(),
      .parents = {Repeat("ab", 32)},
      .author = std::string(kNodeA),
      .created_ms = kMs,
      .seq = 7,
      .key_fingerprint = std::string(kFingerprint),
      .summary = {.added = 3, .modified = 2, .deleted = 1, .files = 10, .bytes = 12345},
      .added = {Location(3, ObjectKind::kChunk, "a0", 0, 41, 1),
                Location(1, ObjectKind::kChunk, "b1", 0, 100, 60),
                Location(2, ObjectKind::kTree, "b1", 100, 50, 30)},
  };
}

Bytes GoldenZip() {
  auto zip = EncodeSnapshotZip(TestContext(), GoldenSnapshot());
  EXPECT_TRUE(zip.ok()) << zip.error().ToShortString();
  return zip.ok() ? *zip : Bytes{};
}

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// A zip with a valid header for `id` and `body_json` sealed as its body: how
// a writer holding the key could build a snapshot hx would not.
Bytes ZipWithBody(const VaultContext& ctx, std::string_view id, std::string_view body_json) {
  const std::string header = R"({"format_version":1,"kind":"hx-snapshot","snapshot_id":")" +
                             std::string(id) + R"(","vault_id":")" + ctx.vault_id + "\"}";
  const auto ad = EncodeAssociatedData({"hx snapshot v1", ctx.vault_id, id});
  const auto sealed = AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce, ad, Span(body_json));
  const StoredZipEntry entries[] = {{"header.json", Span(header)}, {"body.bin", sealed}};
  return *WriteStoredZip(entries);
}

// The body of the golden snapshot as canonical JSON, with `from` replaced.
std::string GoldenBody(std::string_view from = "", std::string_view to = "") {
  std::string body =
      R"({"author":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","blobs":[{"id":")" + Repeat("a0", 32) +
      R"(","objects":[[")" + Repeat("03", 32) + R"(","chunk",0,41,1]]},{"id":")" +
      Repeat("b1", 32) + R"(","objects":[[")" + Repeat("01", 32) + R"(","chunk",0,100,60],[")" +
      Repeat("02", 32) + R"(","tree",100,50,30]]}],"created_ms":1767225600000,)"
      R"("key_fingerprint":")" + std::string(kFingerprint) + R"(","parents":[")" +
      Repeat("ab", 32) +
      R"("],"root":"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f","seq":7,)"
      R"("summary":{"added":3,"bytes":12345,"deleted":1,"files":10,"modified":2}})";
  if (!from.empty()) {
    const std::size_t at = body.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) body.replace(at, from.size(), to);
  }
  return body;
}

void ExpectCorrupt(const Result<Snapshot>& snapshot, std::string_view words) {
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(snapshot.error().category, Category::kCorrupt) << snapshot.error().ToShortString();
  EXPECT_NE(snapshot.error().message.find(words), std::string::npos) << snapshot.error().message;
}

TEST(SnapshotIdTest, IsBlake3OfTheSeedString) {
  EXPECT_EQ(SnapshotId(GoldenRoot(), kMs), kSnapshotId);
  // printf 'kc.sync.snapshot.v2\n<64 zeros>\n0' | b3sum
  EXPECT_EQ(SnapshotId(ObjectId{}, 0),
            "79e55f148f3af5bed1ffe44fbee10d6834380c386ac30b3aca05aafd5f0d47af");
  EXPECT_EQ(SnapshotKey(kSnapshotId), "snapshots/" + std::string(kSnapshotId) + ".zip");
}

TEST(SnapshotZipTest, EncodingIsPinned) {
  const Bytes zip = GoldenZip();
  EXPECT_EQ(zip.size(), kGoldenZipSize);
  EXPECT_EQ(ToHex(Blake3Hash(zip)), kGoldenZipBlake3);
  auto header = ReadFirstStoredZipEntry(zip, "header.json", "test");
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(std::string(header->begin(), header->end()), kGoldenHeader);
}

TEST(SnapshotZipTest, EncodingDoesNotDependOnTheOrderOfAddedObjects) {
  Snapshot shuffled = GoldenSnapshot();
  std::reverse(shuffled.added.begin(), shuffled.added.end());
  auto zip = EncodeSnapshotZip(TestContext(), shuffled);
  ASSERT_TRUE(zip.ok());
  EXPECT_EQ(*zip, GoldenZip());
}

TEST(SnapshotZipTest, DecodeGivesBackTheSnapshot) {
  auto snapshot = DecodeSnapshotZip(TestContext(), GoldenZip(), kSnapshotId);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().ToShortString();
  EXPECT_EQ(*snapshot, GoldenSnapshot());
}

TEST(SnapshotZipTest, AFirstSnapshotWithNothingAddedRoundTrips) {
  Snapshot empty;
  empty.snapshot_id = SnapshotId(ObjectId{}, 0);
  empty.vault_id = std::string(kTestVaultId);
  empty.author = std::string(kNodeA);
  empty.seq = 1;
  empty.key_fingerprint = std::string(kFingerprint);
  auto zip = EncodeSnapshotZip(TestContext(), empty);
  ASSERT_TRUE(zip.ok()) << zip.error().ToShortString();
  auto back = DecodeSnapshotZip(TestContext(), *zip, empty.snapshot_id);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, empty);
}

TEST(SnapshotZipTest, AZipStoredUnderAnotherIdIsRefused) {
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), GoldenZip(), Repeat("ee", 32)),
                "names snapshot " + std::string(kSnapshotId));
}

TEST(SnapshotZipTest, ASnapshotOfAnotherVaultIsRefusedNamingThatVault) {
  const VaultContext other = TestContext(1, kOtherVaultId);
  Snapshot snapshot = GoldenSnapshot();
  snapshot.vault_id = std::string(kOtherVaultId);
  snapshot.key_fingerprint = other.key_fingerprint;
  auto zip = EncodeSnapshotZip(other, snapshot);
  ASSERT_TRUE(zip.ok());
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), *zip, kSnapshotId),
                "belongs to vault " + std::string(kOtherVaultId));
}

TEST(SnapshotZipTest, ABodyUnderAnotherKeyDoesNotAuthenticate) {
  ExpectCorrupt(DecodeSnapshotZip(TestContext(1), GoldenZip(), kSnapshotId),
                "body does not authenticate");
}

TEST(SnapshotZipTest, ABodyMovedFromAnotherSnapshotDoesNotAuthenticate) {
  Snapshot later = GoldenSnapshot();
  later.created_ms = kMs + 1;
  later.snapshot_id = SnapshotId(later.root, later.created_ms);
  const Bytes later_zip = *EncodeSnapshotZip(TestContext(), later);
  const auto later_body = ReadStoredZip(later_zip, std::vector<std::string_view>{"header.json",
                                                                                "body.bin"},
                                        "test");
  ASSERT_TRUE(later_body.ok());
  const std::string header(kGoldenHeader);
  const StoredZipEntry entries[] = {{"header.json", Span(header)},
                                    {"body.bin", (*later_body)[1].data}};
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), *WriteStoredZip(entries), kSnapshotId),
                "body does not authenticate");
}

TEST(SnapshotZipTest, EveryFlippedBitIsRefused) {
  const Bytes zip = GoldenZip();
  for (std::size_t i = 0; i < zip.size(); ++i) {
    Bytes bad = zip;
    bad[i] ^= 0x04;
    auto snapshot = DecodeSnapshotZip(TestContext(), bad, kSnapshotId);
    ASSERT_FALSE(snapshot.ok()) << "byte " << i;
    EXPECT_EQ(snapshot.error().category, Category::kCorrupt) << "byte " << i;
  }
}

TEST(SnapshotZipTest, EveryTruncationIsRefused) {
  const Bytes zip = GoldenZip();
  for (std::size_t n = 0; n < zip.size(); n += 7) {
    const Bytes cut(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(DecodeSnapshotZip(TestContext(), cut, kSnapshotId).ok()) << n;
  }
}

TEST(SnapshotZipTest, ANewerFormatIsUnsupportedWhateverFollowsTheHeader) {
  const std::string header = R"({"format_version":2,"kind":"hx-snapshot-v2"})";
  const StoredZipEntry entries[] = {{"header.json", Span(header)},
                                    {"body.zst", Span("anything")}};
  auto snapshot = DecodeSnapshotZip(TestContext(), *WriteStoredZip(entries), kSnapshotId);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(snapshot.error().category, Category::kUnsupported);
  EXPECT_NE(snapshot.error().message.find("made by a newer hx"), std::string::npos);
}

TEST(SnapshotZipTest, AHeaderOfAnotherKindIsRefused) {
  const std::string header = R"({"format_version":1,"kind":"hx-other","snapshot_id":")" +
                             std::string(kSnapshotId) + R"(","vault_id":")" +
                             std::string(kTestVaultId) + "\"}";
  const StoredZipEntry entries[] = {{"header.json", Span(header)}, {"body.bin", Span("x")}};
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), *WriteStoredZip(entries), kSnapshotId),
                "kind");
}

TEST(SnapshotZipTest, TheHandBuiltGoldenBodyDecodes) {
  // Guards the helpers of the rejection tests below: unmodified, they build
  // a valid snapshot.
  auto snapshot =
      DecodeSnapshotZip(TestContext(), ZipWithBody(TestContext(), kSnapshotId, GoldenBody()),
                        kSnapshotId);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().ToShortString();
  EXPECT_EQ(*snapshot, GoldenSnapshot());
}

TEST(SnapshotZipTest, ABodyWhoseRootDoesNotGiveTheIdIsRefused) {
  const std::string body = GoldenBody("\"created_ms\":1767225600000", "\"created_ms\":1767225600001");
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), ZipWithBody(TestContext(), kSnapshotId, body),
                                  kSnapshotId),
                "do not give the snapshot's id");
}

TEST(SnapshotZipTest, MalformedBodiesAreRefusedNamingTheProblem) {
  const std::string object1 = "[\"" + Repeat("01", 32) + "\",\"chunk\",0,100,60]";
  const std::string object2 = "[\"" + Repeat("02", 32) + "\",\"tree\",100,50,30]";
  const struct {
    std::string from, to, words;
  } cases[] = {
      {"\"seq\":7", "\"seq\":0", "\"seq\""},
      {"\"seq\":7", "\"seq\":7,\"extra\":1", "not canonical"},
      {"\"modified\":2}}", "\"modified\":2},\"zz\":1}", "\"zz\""},
      {"\"summary\":{", "\"summary\":{\"added\":0,", "not valid JSON"},
      {"{\"added\":3", "{\"added\":-3", "\"added\""},
      {"\"author\":\"aaaa", "\"author\":\"AAAA", "\"author\""},
      {"\"key_fingerprint\":\"9113", "\"key_fingerprint\":\"9114", "not this vault's key"},
      {",\"tree\",", ",\"pack\",", "kind"},
      {",100,50,30]", ",100,50]", "[id, kind, offset, length, raw_length]"},
      {",100,50,30]", ",99,50,30]", "overlap"},
      {",100,50,30]", ",100,0,30]", "empty"},
      {object1 + "," + object2, object2 + "," + object1, "sorted"},
      {Repeat("02", 32), Repeat("01", 32), "listed twice"},
      {"\"parents\":[\"" + Repeat("ab", 32) + "\"]", "\"parents\":[\"x\"]", "\"parents\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.to);
    const std::string body = GoldenBody(c.from, c.to);
    ExpectCorrupt(DecodeSnapshotZip(TestContext(), ZipWithBody(TestContext(), kSnapshotId, body),
                                    kSnapshotId),
                  c.words);
  }
}

TEST(SnapshotZipTest, BlobsMustBeSortedById) {
  // Swap the two blob objects of the golden body.
  const std::string body = GoldenBody();
  const std::size_t blobs = body.find("[{\"id\"");
  const std::size_t second = body.find(",{\"id\"", blobs);
  const std::size_t end = body.find("]}],", second) + 2;
  const std::string first_blob = body.substr(blobs + 1, second - blobs - 1);
  const std::string second_blob = body.substr(second + 1, end - second - 1);
  const std::string swapped = body.substr(0, blobs + 1) + second_blob + "," + first_blob +
                              body.substr(end);
  ExpectCorrupt(DecodeSnapshotZip(TestContext(), ZipWithBody(TestContext(), kSnapshotId, swapped),
                                  kSnapshotId),
                "sorted");
}

TEST(SnapshotZipTest, TheEncoderRefusesSnapshotsItWouldNotRead) {
  std::vector<Snapshot> bad(7, GoldenSnapshot());
  bad[0].snapshot_id = Repeat("ee", 32);                            // not SnapshotId(...)
  bad[1].seq = 0;
  bad[2].added[2].offset = 99;                                      // overlaps
  bad[3].added.push_back(bad[3].added[0]);                          // duplicate
  bad[4].added[0].blob_id = "nothex";
  bad[5].vault_id = std::string(kOtherVaultId);
  bad[6].key_fingerprint = Repeat("cd", 32);
  for (const Snapshot& snapshot : bad) {
    auto zip = EncodeSnapshotZip(TestContext(), snapshot);
    ASSERT_FALSE(zip.ok());
    EXPECT_EQ(zip.error().code, SyncCode::kInternal);
  }
}

TEST(SnapshotStoreTest, WriteThenReadRoundTrips) {
  MemoryStore store;
  ASSERT_TRUE(WriteSnapshot(store, TestContext(), GoldenSnapshot()).ok());
  EXPECT_EQ(*store.Get(SnapshotKey(kSnapshotId), kMaxSnapshotZipBytes), GoldenZip());
  auto snapshot = ReadSnapshot(store, TestContext(), kSnapshotId);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().ToShortString();
  EXPECT_EQ(*snapshot, GoldenSnapshot());
}

TEST(SnapshotStoreTest, RewritingTheSameSnapshotSucceedsButOtherBytesDoNot) {
  MemoryStore store;
  ASSERT_TRUE(WriteSnapshot(store, TestContext(), GoldenSnapshot()).ok());
  EXPECT_TRUE(WriteSnapshot(store, TestContext(), GoldenSnapshot()).ok());
  Snapshot other = GoldenSnapshot();
  other.seq = 8;
  auto status = WriteSnapshot(store, TestContext(), other);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().category, Category::kAborted);
  EXPECT_EQ(*store.Get(SnapshotKey(kSnapshotId), kMaxSnapshotZipBytes), GoldenZip());
}

TEST(SnapshotStoreTest, AMissingSnapshotIsNotFoundAndACorruptOneNamesItsKey) {
  MemoryStore store;
  auto missing = ReadSnapshot(store, TestContext(), kSnapshotId);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().category, Category::kNotFound);
  Bytes bad = GoldenZip();
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(store.Put(SnapshotKey(kSnapshotId), bad).ok());
  auto corrupt = ReadSnapshot(store, TestContext(), kSnapshotId);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().category, Category::kCorrupt);
  EXPECT_EQ(corrupt.error().details.at("key"), SnapshotKey(kSnapshotId));
}

}  // namespace
}  // namespace hx
