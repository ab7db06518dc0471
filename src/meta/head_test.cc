#include "meta/head.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "meta/meta_test_util.h"
#include "store/memory_store.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

using meta_testing::kOtherVaultId;
using meta_testing::kTestVaultId;
using meta_testing::TestContext;

constexpr std::string_view kSnapshotId =
    "bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19";
// testdata/make_golden.py: the MAC from b3sum --keyed under the mac subkey.
constexpr std::string_view kGoldenHead =
    R"({"format_version":1,"mac":"9af08364c8ad34250343b8e61201a9d77f3cc58ec29537e3f2891c02ab197bcf",)"
    R"("seq":7,"snapshot_id":"bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19",)"
    R"("vault_id":"00112233445566778899aabbccddeeff"})";

Head GoldenHead() {
  return Head{.vault_id = std::string(kTestVaultId), .seq = 7,
              .snapshot_id = std::string(kSnapshotId)};
}

std::string Text(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

void ExpectCorrupt(const VaultContext& ctx, const std::string& bytes, std::string_view words) {
  auto head = DecodeHead(ctx, bytes);
  ASSERT_FALSE(head.ok()) << bytes;
  EXPECT_EQ(head.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(head.error().category, Category::kCorrupt) << head.error().ToShortString();
  EXPECT_NE(head.error().message.find(words), std::string::npos) << head.error().message;
}

TEST(HeadTest, EncodingIsPinnedCanonicalJsonWithAKeyedBlake3Mac) {
  auto bytes = EncodeHead(TestContext(), GoldenHead());
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(Text(*bytes), kGoldenHead);
}

TEST(HeadTest, DecodeGivesBackTheHead) {
  auto head = DecodeHead(TestContext(), kGoldenHead);
  ASSERT_TRUE(head.ok()) << head.error().ToShortString();
  EXPECT_EQ(*head, GoldenHead());
}

TEST(HeadTest, ATamperedFieldFailsTheMac) {
  ExpectCorrupt(TestContext(), Replace(std::string(kGoldenHead), "\"seq\":7", "\"seq\":8"),
                "MAC does not verify");
  ExpectCorrupt(TestContext(), Replace(std::string(kGoldenHead), "\"mac\":\"9a", "\"mac\":\"8a"),
                "MAC does not verify");
}

TEST(HeadTest, AHeadMadeWithAnotherKeyFailsTheMac) {
  ExpectCorrupt(TestContext(/*first=*/1), std::string(kGoldenHead), "MAC does not verify");
}

TEST(HeadTest, AHeadOfAnotherVaultIsRefusedNamingThatVault) {
  const VaultContext other = TestContext(/*first=*/1, kOtherVaultId);
  Head head = GoldenHead();
  head.vault_id = std::string(kOtherVaultId);
  auto bytes = EncodeHead(other, head);
  ASSERT_TRUE(bytes.ok());
  ExpectCorrupt(TestContext(), Text(*bytes), "belongs to vault ffeeddccbbaa99887766554433221100");
}

TEST(HeadTest, ANewerFormatIsUnsupportedNotCorrupt) {
  // A newer hx may change anything else, the MAC included.
  auto head = DecodeHead(TestContext(), R"({"format_version":2,"mac":"x","something":true})");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(head.error().category, Category::kUnsupported);
  EXPECT_NE(head.error().message.find("made by a newer hx"), std::string::npos);
}

TEST(HeadTest, MalformedHeadsAreCorruptNamingTheProblem) {
  const std::string golden(kGoldenHead);
  ExpectCorrupt(TestContext(), "", "not valid JSON");
  ExpectCorrupt(TestContext(), "[1]", "must be a JSON object");
  ExpectCorrupt(TestContext(), Replace(golden, "\"format_version\":1", "\"format_version\":0"),
                "format_version 0");
  ExpectCorrupt(TestContext(), Replace(golden, "{", "{ "), "not canonical");
  ExpectCorrupt(TestContext(), golden + "\n", "not canonical");
  ExpectCorrupt(TestContext(), Replace(golden, "\"seq\":7", "\"seq\":0"), "\"seq\"");
  ExpectCorrupt(TestContext(), Replace(golden, "\"seq\":7", "\"seq\":-7"), "\"seq\"");
  ExpectCorrupt(TestContext(), Replace(golden, "\"seq\":7", "\"seq\":\"7\""), "\"seq\"");
  ExpectCorrupt(TestContext(), Replace(golden, "\"seq\":7,", ""), "\"seq\"");
  ExpectCorrupt(TestContext(), golden.substr(0, golden.size() - 1) + ",\"zz\":1}", "\"zz\"");
  ExpectCorrupt(TestContext(), Replace(golden, "bb695adf", "BB695ADF"), "\"snapshot_id\"");
  ExpectCorrupt(TestContext(), Replace(golden, "\"vault_id\":\"00", "\"vault_id\":\"0"),
                "\"vault_id\"");
  ExpectCorrupt(TestContext(), std::string(kMaxHeadBytes + 1, ' '), "limit");
}

TEST(HeadTest, TheEncoderRefusesHeadsItWouldNotRead) {
  Head zero_seq = GoldenHead();
  zero_seq.seq = 0;
  Head bad_id = GoldenHead();
  bad_id.snapshot_id = "xyz";
  Head other_vault = GoldenHead();
  other_vault.vault_id = std::string(kOtherVaultId);
  for (const Head& head : {zero_seq, bad_id, other_vault}) {
    auto bytes = EncodeHead(TestContext(), head);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal);
  }
}

TEST(HeadStoreTest, AnEmptyVaultHasNoHead) {
  MemoryStore store;
  auto state = ReadHead(store, TestContext());
  ASSERT_TRUE(state.ok()) << state.error().ToShortString();
  EXPECT_FALSE(state->head.has_value());
  EXPECT_FALSE(state->version.has_value());
}

TEST(HeadStoreTest, PublishThenReadGivesTheHeadAndItsVersion) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Head first = GoldenHead();
  first.seq = 1;
  auto version = PublishHead(store, ctx, HeadState{}, first);
  ASSERT_TRUE(version.ok()) << version.error().ToShortString();
  auto state = ReadHead(store, ctx);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->head, first);
  EXPECT_EQ(state->version, *version);

  Head second = first;
  second.seq = 2;
  ASSERT_TRUE(PublishHead(store, ctx, *state, second).ok());
  EXPECT_EQ(ReadHead(store, ctx)->head, second);
}

TEST(HeadStoreTest, PublishingOverAStaleReadLosesTheCompareAndSwap) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Head first = GoldenHead();
  first.seq = 1;
  ASSERT_TRUE(PublishHead(store, ctx, HeadState{}, first).ok());
  const HeadState seen = *ReadHead(store, ctx);
  Head mine = first;
  mine.seq = 2;
  Head theirs = mine;
  theirs.snapshot_id = std::string(64, 'e');
  ASSERT_TRUE(PublishHead(store, ctx, seen, theirs).ok());
  auto lost = PublishHead(store, ctx, seen, mine);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().category, Category::kAborted);
  // And two devices creating the first head: one wins.
  MemoryStore empty;
  ASSERT_TRUE(PublishHead(empty, ctx, HeadState{}, first).ok());
  auto second_creator = PublishHead(empty, ctx, HeadState{}, first);
  ASSERT_FALSE(second_creator.ok());
  EXPECT_EQ(second_creator.error().category, Category::kAborted);
}

TEST(HeadStoreTest, SeqMustGrowByExactlyOne) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Head head = GoldenHead();  // seq 7 over an empty vault
  auto result = PublishHead(store, ctx, HeadState{}, head);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kInternal);
  EXPECT_FALSE(ReadHead(store, ctx)->head.has_value());
}

TEST(HeadStoreTest, ACorruptHeadOnTheStoreIsReportedWithItsKey) {
  MemoryStore store;
  const std::string bad = "{\"format_version\":1}";
  ASSERT_TRUE(store.Put(kHeadKey, std::span(reinterpret_cast<const std::uint8_t*>(bad.data()),
                                            bad.size())).ok());
  auto state = ReadHead(store, TestContext());
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().category, Category::kCorrupt);
  EXPECT_EQ(state.error().details.at("key"), "head.json");
}

TEST(HeadStoreTest, StoreErrorsPassThrough) {
  auto faulty = std::make_unique<FaultInjectingStore>(std::make_unique<MemoryStore>());
  faulty->AddRule(FaultRule::FailNth(StoreOp::kGetVersioned, 1, Category::kTimeout));
  auto state = ReadHead(*faulty, TestContext());
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().category, Category::kTimeout);
}

TEST(HeadReplayTest, AnOlderSeqThanSeenIsRefused) {
  Head head = GoldenHead();
  EXPECT_TRUE(CheckHeadNotReplayed(head, 0).ok());
  EXPECT_TRUE(CheckHeadNotReplayed(head, 7).ok());
  auto replayed = CheckHeadNotReplayed(head, 8);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(replayed.error().category, Category::kCorrupt);
  EXPECT_NE(replayed.error().message.find("older than seq 8"), std::string::npos);
}

}  // namespace
}  // namespace hx
