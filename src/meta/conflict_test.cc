#include "meta/conflict.h"

#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "meta/meta_test_util.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kOtherVaultId;
using meta_testing::kTestVaultId;
using meta_testing::TestContext;

constexpr std::int64_t kMs = 1767225600000;
// testdata/make_golden.py (b3sum, libsodium, json.dumps).
constexpr std::string_view kGoldenName = "conflict_1767225600000_928779b3a2c863cf.json";
constexpr std::string_view kGoldenBase =
    R"({"base_snapshot":"abababababababababababababababababababababababababababababababab",)"
    R"("created_ms":1767225600000,"decision":"refused","format_version":1,"kind":"push_diverged",)"
    R"("local":{"changes":{"added":1,"deleted":3,"modified":2},)"
    R"("node_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},)"
    R"("path_ids":["3cdd9e3621fcc7a85f13d9be9c7b9da9eeef27c896672785e141cd8d9522a820",)"
    R"("ef839713b799c166eada59176b7ade3d86e2da3c2804da8666c6c97cabb83c83"],)"
    R"("policy":"none","remote":{"head_seq":8,)"
    R"("snapshot_id":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"},)"
    R"("vault_id":"00112233445566778899aabbccddeeff"})";
constexpr std::string_view kGoldenPathsSealed =
    "4d038c6531099f67138dda161824143c7f78c647a4f05a6ff9c31bdbd618a6c197d25f1c3c8682cc2a110a7b"
    "8c9b7e56e63b837ebc2e7d2715f952042634";

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string GoldenStoreBytes() {
  return Replace(std::string(kGoldenBase), "\"policy\":",
                 "\"paths_sealed\":\"" + std::string(kGoldenPathsSealed) + "\",\"policy\":");
}
std::string GoldenLocalBytes() {
  return Replace(std::string(kGoldenBase), "\"policy\":",
                 R"("paths":["a.txt","docs/b.txt"],"policy":)");
}

ConflictArtifact GoldenArtifact() {
  return ConflictArtifact{
      .vault_id = std::string(kTestVaultId),
      .kind = ConflictKind::kPushDiverged,
      .created_ms = kMs,
      .base_snapshot = "abababababababababababababababababababababababababababababababab",
      .local_node_id = std::string(kNodeA),
      .local_changes = {.added = 1, .modified = 2, .deleted = 3},
      .remote_head_seq = 8,
      .remote_snapshot_id = "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef",
      .policy = "none",
      .decision = "refused",
      .paths = {"a.txt", "docs/b.txt"},
  };
}

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// A store copy built the way the format says, from a base and a paths JSON
// chosen by the test: what a writer holding the key could produce. Returns
// {name, bytes}.
std::pair<std::string, std::string> HandBuilt(const VaultContext& ctx, const std::string& base,
                                              std::string_view paths_json) {
  const auto sealed = AeadSealSynthetic(
      ctx.keys.content, ctx.keys.nonce,
      EncodeAssociatedData({"hx conflict paths v1", ctx.vault_id, base}), Span(paths_json));
  const std::string bytes =
      Replace(base, "\"policy\":", "\"paths_sealed\":\"" + ToHex(sealed) + "\",\"policy\":");
  const std::string name = "conflict_" + std::to_string(kMs) + "_" +
                           ToHex(Blake3Hash(Span(bytes))).substr(0, 16) + ".json";
  return {name, bytes};
}

void ExpectCorrupt(const Result<ConflictArtifact>& artifact, std::string_view words) {
  ASSERT_FALSE(artifact.ok());
  EXPECT_EQ(artifact.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(artifact.error().category, Category::kCorrupt) << artifact.error().ToShortString();
  EXPECT_NE(artifact.error().message.find(words), std::string::npos) << artifact.error().message;
}

TEST(ConflictArtifactTest, StoreCopyIsPinnedAndNamedByItsHash) {
  auto encoded = EncodeStoreArtifact(TestContext(), GoldenArtifact());
  ASSERT_TRUE(encoded.ok()) << encoded.error().ToShortString();
  EXPECT_EQ(encoded->name, kGoldenName);
  EXPECT_EQ(std::string(encoded->bytes.begin(), encoded->bytes.end()), GoldenStoreBytes());
  EXPECT_EQ(ConflictKey(encoded->name), "conflicts/" + std::string(kGoldenName));
}

TEST(ConflictArtifactTest, LocalCopyHasTheSameNameAndPlaintextPaths) {
  auto encoded = EncodeLocalArtifact(TestContext(), GoldenArtifact());
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->name, kGoldenName);
  EXPECT_EQ(std::string(encoded->bytes.begin(), encoded->bytes.end()), GoldenLocalBytes());
}

TEST(ConflictArtifactTest, TheStoreCopyHoldsNoPlaintextPath) {
  ConflictArtifact artifact = GoldenArtifact();
  artifact.paths = {"secret-plans.txt", "taxes/2026.pdf"};
  const Bytes bytes = EncodeStoreArtifact(TestContext(), artifact)->bytes;
  const std::string text(bytes.begin(), bytes.end());
  for (std::string_view word : {"secret", "plans", "taxes", "2026.pdf"}) {
    EXPECT_EQ(text.find(word), std::string::npos) << word;
  }
}

TEST(ConflictArtifactTest, PathOrderAndDuplicatesDoNotChangeTheBytes) {
  ConflictArtifact artifact = GoldenArtifact();
  artifact.paths = {"docs/b.txt", "a.txt", "docs/b.txt"};
  auto encoded = EncodeStoreArtifact(TestContext(), artifact);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->name, kGoldenName);
}

TEST(ConflictArtifactTest, BothCopiesDecodeToTheArtifact) {
  auto from_store = DecodeStoreArtifact(TestContext(), kGoldenName, Span(GoldenStoreBytes()));
  ASSERT_TRUE(from_store.ok()) << from_store.error().ToShortString();
  EXPECT_EQ(*from_store, GoldenArtifact());
  auto from_local = DecodeLocalArtifact(TestContext(), kGoldenName, Span(GoldenLocalBytes()));
  ASSERT_TRUE(from_local.ok()) << from_local.error().ToShortString();
  EXPECT_EQ(*from_local, GoldenArtifact());
}

TEST(ConflictArtifactTest, AFirstSyncWithoutBaseAndAPullConflictRoundTrip) {
  ConflictArtifact artifact = GoldenArtifact();
  artifact.base_snapshot.reset();
  artifact.kind = ConflictKind::kPullConcurrent;
  artifact.paths.clear();
  auto encoded = EncodeStoreArtifact(TestContext(), artifact);
  ASSERT_TRUE(encoded.ok());
  const std::string text(encoded->bytes.begin(), encoded->bytes.end());
  EXPECT_NE(text.find(R"("base_snapshot":null)"), std::string::npos);
  EXPECT_NE(text.find(R"("kind":"pull_concurrent")"), std::string::npos);
  auto decoded = DecodeStoreArtifact(TestContext(), encoded->name, encoded->bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, artifact);
}

TEST(ConflictArtifactTest, AnyEditedFieldBreaksTheSealedPaths) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"added\":1", "\"added\":9"},
           {"\"head_seq\":8", "\"head_seq\":9"},
           {"\"policy\":\"none\"", "\"policy\":\"keep_both\""},
           {"\"ef839713", "\"ff839713"}}) {
    SCOPED_TRACE(to);
    const std::string bytes = Replace(GoldenStoreBytes(), from, to);
    ExpectCorrupt(DecodeStoreArtifact(TestContext(), kGoldenName, Span(bytes)),
                  "does not authenticate");
  }
}

TEST(ConflictArtifactTest, TheNameMustMatchTheBytes) {
  const std::string bytes = GoldenStoreBytes();
  ExpectCorrupt(DecodeStoreArtifact(TestContext(), "conflict_1767225600000_0000000000000000.json",
                                    Span(bytes)),
                "id16");
  ExpectCorrupt(DecodeStoreArtifact(TestContext(), "conflict_1767225600001_928779b3a2c863cf.json",
                                    Span(bytes)),
                "created_ms does not match");
  for (std::string_view name : {"conflict_1767225600000_928779B3A2C863CF.json",
                                "conflict_01767225600000_928779b3a2c863cf.json",
                                "conflict__928779b3a2c863cf.json", "head.json",
                                "conflict_1767225600000_928779b3a2c863cf.json.tmp"}) {
    ExpectCorrupt(DecodeStoreArtifact(TestContext(), name, Span(bytes)), "name");
  }
}

TEST(ConflictArtifactTest, AnArtifactOfAnotherVaultOrKeyIsRefused) {
  const std::string bytes = GoldenStoreBytes();
  ExpectCorrupt(DecodeStoreArtifact(TestContext(1), kGoldenName, Span(bytes)),
                "does not authenticate");
  ExpectCorrupt(DecodeStoreArtifact(TestContext(0, kOtherVaultId), kGoldenName, Span(bytes)),
                "belongs to vault 00112233445566778899aabbccddeeff");
}

TEST(ConflictArtifactTest, SealedPathsMustMatchTheirIdsAndBeValid) {
  const VaultContext ctx = TestContext();
  const std::string base(kGoldenBase);
  const auto good = HandBuilt(ctx, base, R"(["a.txt","docs/b.txt"])");
  ASSERT_TRUE(DecodeStoreArtifact(ctx, good.first, Span(good.second)).ok());
  const struct {
    std::string paths, words;
  } cases[] = {
      {R"(["a.txt","docs/c.txt"])", "path_ids do not match"},
      {R"(["docs/b.txt","a.txt"])", "sorted"},
      {R"(["a.txt","../b.txt"])", "not a valid relative path"},
      {R"(["a.txt","docs//b.txt"])", "not a valid relative path"},
      {R"(["a.txt", "docs/b.txt"])", "not canonical"},
      {R"({"a.txt":1})", "not a JSON array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.paths);
    const auto built = HandBuilt(ctx, base, c.paths);
    ExpectCorrupt(DecodeStoreArtifact(ctx, built.first, Span(built.second)), c.words);
  }
}

TEST(ConflictArtifactTest, AnEditedLocalCopyIsRefused) {
  const std::string bytes = Replace(GoldenLocalBytes(), "docs/b.txt", "docs/c.txt");
  ExpectCorrupt(DecodeLocalArtifact(TestContext(), kGoldenName, Span(bytes)),
                "path_ids do not match");
}

TEST(ConflictArtifactTest, ANewerFormatIsUnsupported) {
  auto artifact =
      DecodeStoreArtifact(TestContext(), kGoldenName, Span(R"({"format_version":2,"v2":[]})"));
  ASSERT_FALSE(artifact.ok());
  EXPECT_EQ(artifact.error().category, Category::kUnsupported);
}

TEST(ConflictArtifactTest, MalformedArtifactsAreCorrupt) {
  const std::string golden = GoldenStoreBytes();
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"kind\":\"push_diverged\"", "\"kind\":\"push_merged\""},
           {"\"created_ms\":1767225600000,", ""},
           {"\"base_snapshot\":\"abab", "\"base_snapshot\":\"ABAB"},
           {"\"paths_sealed\":\"4d03", "\"paths_sealed\":\"4D03"},
           {"\"paths_sealed\":\"4d03", "\"paths_sealed\":\"4d0"},
           {"{\"base_snapshot\"", "{\"base_snapshot\":null,\"base_snapshot\""}}) {
    SCOPED_TRACE(to);
    const std::string bytes = Replace(golden, from, to);
    EXPECT_FALSE(DecodeStoreArtifact(TestContext(), kGoldenName, Span(bytes)).ok());
  }
}

TEST(ConflictArtifactTest, TheEncoderRefusesArtifactsItWouldNotRead) {
  std::vector<ConflictArtifact> bad(5, GoldenArtifact());
  bad[0].paths.push_back("../escape");
  bad[1].paths.push_back("");
  bad[2].policy = "Keep Both";
  bad[3].remote_head_seq = 0;
  bad[4].vault_id = std::string(kOtherVaultId);
  for (const ConflictArtifact& artifact : bad) {
    auto encoded = EncodeStoreArtifact(TestContext(), artifact);
    ASSERT_FALSE(encoded.ok());
    EXPECT_EQ(encoded.error().code, SyncCode::kInternal);
  }
}

}  // namespace
}  // namespace hx
