#include "meta/prune_record.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/keys.h"
#include "meta/meta_test_util.h"
#include "store/memory_store.h"

namespace hx {
namespace {

using meta_testing::kNodeA;
using meta_testing::kOtherVaultId;
using meta_testing::TestContext;

constexpr std::int64_t kMs = 1767225600000;
// testdata/make_golden.py: canonical JSON, the MAC from b3sum --keyed under the mac subkey.
constexpr std::string_view kGoldenPrune =
    R"({"author":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","condemned":[{"pack":)"
    R"("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","since_ms":1767225600000}],)"
    R"("deleted":[{"epoch":2,"pack":"abababababababababababababababababababababababababababababababab"},)"
    R"({"epoch":3,"pack":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"}],"epoch":3,)"
    R"("format_version":1,"mac":"d584fc3fed904ac2cc080d2b3a64f22e62ceb10862754228f3dae0822192cfc9",)"
    R"("updated_ms":1767225601000,"vault_id":"00112233445566778899aabbccddeeff"})";

// Format 2 (testdata/make_golden.py "prune2"): the golden record with a
// condemned and a deleted snapshot.
constexpr std::string_view kGoldenPrune2 =
    R"({"author":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","condemned":[{"pack":)"
    R"("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","since_ms":1767225600000}],)"
    R"("condemned_snapshots":[{"since_ms":1767225600000,"snapshot":)"
    R"("1212121212121212121212121212121212121212121212121212121212121212"}],)"
    R"("deleted":[{"epoch":2,"pack":"abababababababababababababababababababababababababababababababab"},)"
    R"({"epoch":3,"pack":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"}],)"
    R"("deleted_snapshots":[{"epoch":2,"snapshot":)"
    R"("3434343434343434343434343434343434343434343434343434343434343434"}],"epoch":3,)"
    R"("format_version":2,"mac":"d8114aebe109aca79dee47c14d40aa30570b9996a4a73f27a22628edf4f7058d",)"
    R"("updated_ms":1767225601000,"vault_id":"00112233445566778899aabbccddeeff"})";

std::string Pack(std::string_view two) {
  std::string id;
  for (int i = 0; i < 32; ++i) id += two;
  return id;
}

PruneRecord GoldenPrune() {
  PruneRecord r;
  r.author = std::string(kNodeA);
  r.epoch = 3;
  r.updated_ms = kMs + 1000;
  r.condemned = {{Pack("cd"), kMs}};
  r.deleted = {{Pack("ab"), 2}, {Pack("ef"), 3}};
  return r;
}

std::string Text(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }
std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

void ExpectCorrupt(const VaultContext& ctx, std::string_view bytes, std::string_view words) {
  const Result<PruneRecord> record = DecodePruneRecord(ctx, Span(bytes));
  ASSERT_FALSE(record.ok()) << bytes;
  EXPECT_EQ(record.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(record.error().category, Category::kCorrupt) << record.error().ToShortString();
  EXPECT_NE(record.error().message.find(words), std::string::npos) << record.error().message;
}

// A record re-signed with the test vault's key: only the checks behind the MAC can refuse it.
std::string Signed(PruneRecord r) {
  const Result<Bytes> bytes = EncodePruneRecord(TestContext(), r);
  EXPECT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  return bytes.ok() ? Text(*bytes) : std::string();
}

TEST(PruneRecordTest, EncodingIsPinnedCanonicalJsonWithAKeyedBlake3Mac) {
  const Result<Bytes> bytes = EncodePruneRecord(TestContext(), GoldenPrune());
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(Text(*bytes), kGoldenPrune);
}

TEST(PruneRecordTest, DecodeGivesBackTheRecord) {
  const Result<PruneRecord> record = DecodePruneRecord(TestContext(), Span(kGoldenPrune));
  ASSERT_TRUE(record.ok()) << record.error().ToShortString();
  EXPECT_EQ(*record, GoldenPrune());
}

TEST(PruneRecordTest, ARecordWithEmptyListsRoundTrips) {
  PruneRecord r = GoldenPrune();
  r.condemned.clear();
  r.deleted.clear();
  const std::string bytes = Signed(r);
  EXPECT_NE(bytes.find(R"("condemned":[],"deleted":[])"), std::string::npos) << bytes;
  const Result<PruneRecord> back = DecodePruneRecord(TestContext(), Span(bytes));
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, r);
}

TEST(PruneRecordTest, ATamperedFieldFailsTheMac) {
  // Dropping a deleted pack would make devices trust locations in a pack that is gone.
  const std::string golden(kGoldenPrune);
  ExpectCorrupt(TestContext(), Replace(golden, R"("epoch":3,"format)", R"("epoch":4,"format)"),
                "MAC does not verify");
  ExpectCorrupt(TestContext(), Replace(golden, R"(,{"epoch":3,"pack":")" + Pack("ef") + "\"}", ""),
                "MAC does not verify");
  ExpectCorrupt(TestContext(), Replace(golden, "\"mac\":\"d5", "\"mac\":\"c5"),
                "MAC does not verify");
}

TEST(PruneRecordTest, ARecordMadeWithAnotherKeyFailsTheMac) {
  ExpectCorrupt(TestContext(/*first=*/1), kGoldenPrune, "MAC does not verify");
}

TEST(PruneRecordTest, ARecordOfAnotherVaultIsRefusedNamingThatVault) {
  const Result<Bytes> other =
      EncodePruneRecord(TestContext(/*first=*/1, kOtherVaultId), GoldenPrune());
  ASSERT_TRUE(other.ok());
  ExpectCorrupt(TestContext(), Text(*other), "belongs to vault ffeeddccbbaa99887766554433221100");
}

TEST(PruneRecordTest, NonCanonicalBytesAreRefused) {
  ExpectCorrupt(TestContext(), Replace(std::string(kGoldenPrune), "{\"author\"", "{ \"author\""),
                "canonical");
}

TEST(PruneRecordTest, UnsortedOrRepeatedPacksAreRefused) {
  const std::string golden(kGoldenPrune);
  const std::string ab = R"({"epoch":2,"pack":")" + Pack("ab") + "\"}";
  const std::string ef = R"({"epoch":3,"pack":")" + Pack("ef") + "\"}";
  ExpectCorrupt(TestContext(), Replace(golden, ab + "," + ef, ef + "," + ab), "deleted not sorted");
  ExpectCorrupt(TestContext(), Replace(golden, ab + "," + ef, ab + "," + ab), "deleted not sorted");
  const std::string cd = R"({"pack":")" + Pack("cd") + R"(","since_ms":1767225600000})";
  ExpectCorrupt(TestContext(), Replace(golden, cd, cd + "," + cd), "condemned not sorted");
}

// Canonical record JSON without "mac", signed here with the test vault's MAC key the
// way EncodePruneRecord signs (which refuses to write these): only the checks behind
// the MAC can refuse it.
std::string SignedJson(std::string_view unsigned_json) {
  const MacTag mac = ComputeMac(TestContext().keys.mac, Span(unsigned_json));
  return Replace(std::string(unsigned_json), R"("updated_ms")",
                 R"("mac":")" + ToHex(mac) + R"(","updated_ms")");
}

std::string UnsignedGolden() {
  return Replace(std::string(kGoldenPrune),
                 R"("mac":"d584fc3fed904ac2cc080d2b3a64f22e62ceb10862754228f3dae0822192cfc9",)",
                 "");
}

TEST(PruneRecordTest, SigningHereMatchesTheEncoder) {
  EXPECT_EQ(SignedJson(UnsignedGolden()), kGoldenPrune);
}

TEST(PruneRecordTest, ASignedRecordThatBreaksTheRulesIsStillRefused) {
  // A device that wrote these is broken or hostile; the MAC says only who wrote it.
  const std::string golden = UnsignedGolden();
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, "\"pack\":\"" + Pack("cd"), "\"pack\":\"" + Pack("ab"))),
                "both condemned and deleted");
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("epoch":3,"pack")", R"("epoch":4,"pack")")),
                "not in 1..epoch");
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("epoch":2,"pack")", R"("epoch":0,"pack")")), "");
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("author":"aaaa)", R"("author":"AAAA)")), "");
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("since_ms":1767225600000)", R"("since_ms":-1)")), "");
}

TEST(PruneRecordTest, AnUnknownFieldIsRefused) {
  const std::string golden = UnsignedGolden();
  ExpectCorrupt(
      TestContext(),
      SignedJson(Replace(golden, R"("epoch":3,"format)", R"("epoch":3,"extra":1,"format)")), "");
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("since_ms":1767225600000)",
                                   R"("since_ms":1767225600000,"x":1)")),
                "");
}

TEST(PruneRecordTest, ANewerFormatIsUnsupportedNotCorrupt) {
  const std::string newer =
      Replace(std::string(kGoldenPrune), R"("format_version":1)", R"("format_version":3)");
  const Result<PruneRecord> record = DecodePruneRecord(TestContext(), Span(newer));
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(record.error().category, Category::kUnsupported) << record.error().ToShortString();
}

TEST(PruneRecordTest, TheEncoderRefusesARecordItsDecoderWouldRefuse) {
  PruneRecord both = GoldenPrune();
  both.condemned.emplace(Pack("ab"), kMs);
  PruneRecord late = GoldenPrune();
  late.deleted[Pack("ef")] = 4;
  PruneRecord zero = GoldenPrune();
  zero.epoch = 0;
  zero.deleted.clear();
  for (const PruneRecord& r : {both, late, zero}) {
    const Result<Bytes> bytes = EncodePruneRecord(TestContext(), r);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal);
  }
}

TEST(PruneRecordTest, ReadAndWriteGoThroughConditionalPuts) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Result<StoredPruneRecord> none = ReadPruneRecord(store, ctx);
  ASSERT_TRUE(none.ok()) << none.error().ToShortString();
  EXPECT_FALSE(none->record.has_value());

  PruneRecord first = GoldenPrune();
  first.epoch = 1;
  first.deleted.clear();
  ASSERT_TRUE(WritePruneRecord(store, ctx, *none, first).ok());
  // A second writer that also saw no record loses the race instead of overwriting.
  const Result<StoreVersion> lost = WritePruneRecord(store, ctx, *none, first);
  ASSERT_FALSE(lost.ok());

  Result<StoredPruneRecord> read = ReadPruneRecord(store, ctx);
  ASSERT_TRUE(read.ok()) << read.error().ToShortString();
  ASSERT_TRUE(read->record.has_value());
  EXPECT_EQ(*read->record, first);

  // The epoch must grow.
  const Result<StoreVersion> same = WritePruneRecord(store, ctx, *read, first);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code, SyncCode::kInternal);

  PruneRecord second = GoldenPrune();
  ASSERT_TRUE(WritePruneRecord(store, ctx, *read, second).ok());
  // Writing against the version read before the second write loses.
  PruneRecord third = GoldenPrune();
  third.epoch = 4;
  EXPECT_FALSE(WritePruneRecord(store, ctx, *read, third).ok());
}

TEST(PruneRecordTest, ADamagedRecordOnTheStoreIsAnErrorNamingTheKey) {
  MemoryStore store;
  const std::string damaged = Replace(std::string(kGoldenPrune), "\"mac\":\"d5", "\"mac\":\"c5");
  ASSERT_TRUE(store.Put(kPruneRecordKey, Bytes(damaged.begin(), damaged.end())).ok());
  const Result<StoredPruneRecord> read = ReadPruneRecord(store, TestContext());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(read.error().details.at("key"), "prune.json") << read.error().ToShortString();
}

TEST(PruneRecordTest, FormatTwoEncodingIsPinned) {
  PruneRecord r = GoldenPrune();
  r.condemned_snapshots = {{Pack("12"), kMs}};
  r.deleted_snapshots = {{Pack("34"), 2}};
  const Result<Bytes> bytes = EncodePruneRecord(TestContext(), r);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Text(*bytes), kGoldenPrune2);
  const Result<PruneRecord> back = DecodePruneRecord(TestContext(), Span(kGoldenPrune2));
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, r);
}

// Format 2: the snapshot lists, written only when one is not empty.
TEST(PruneRecordTest, SnapshotListsMakeFormatTwoAndRoundTrip) {
  PruneRecord r = GoldenPrune();
  EXPECT_EQ(r.FormatVersion(), 1);
  r.condemned_snapshots = {{Pack("12"), kMs}};
  r.deleted_snapshots = {{Pack("34"), 2}, {Pack("56"), 3}};
  EXPECT_EQ(r.FormatVersion(), 2);
  const Result<Bytes> bytes = EncodePruneRecord(TestContext(), r);
  ASSERT_TRUE((bytes).ok());
  const std::string text = Text(*bytes);
  EXPECT_NE(text.find(R"("condemned_snapshots":[{"since_ms":1767225600000,"snapshot":")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("deleted_snapshots":[{"epoch":2,"snapshot":")"), std::string::npos);
  EXPECT_NE(text.find(R"("format_version":2)"), std::string::npos);
  const Result<PruneRecord> back = DecodePruneRecord(TestContext(), *bytes);
  ASSERT_TRUE((back).ok());
  EXPECT_EQ(*back, r);
}

TEST(PruneRecordTest, SnapshotListsBreakingTheRulesAreRefused) {
  PruneRecord both = GoldenPrune();
  both.condemned_snapshots = {{Pack("12"), kMs}};
  both.deleted_snapshots = {{Pack("12"), 2}};
  PruneRecord late = GoldenPrune();
  late.deleted_snapshots = {{Pack("12"), 4}};
  PruneRecord bad_id = GoldenPrune();
  bad_id.deleted_snapshots = {{"12", 1}};
  for (const PruneRecord& r : {both, late, bad_id}) {
    const Result<Bytes> bytes = EncodePruneRecord(TestContext(), r);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal);
  }
  // Signed by the key, yet a format-1 record with a snapshot list, or a
  // format-2 record without any snapshot, is refused.
  const std::string golden = UnsignedGolden();
  ExpectCorrupt(TestContext(),
                SignedJson(Replace(golden, R"("epoch":3,"format)",
                                   R"("deleted_snapshots":[],"epoch":3,"format)")),
                "");
  std::string empty_v2 = Replace(golden, R"("format_version":1)", R"("format_version":2)");
  empty_v2 = Replace(empty_v2, R"("deleted":[)", R"("condemned_snapshots":[],"deleted":[)");
  empty_v2 = Replace(empty_v2, R"("epoch":3,"format)", R"("deleted_snapshots":[],"epoch":3,"format)");
  ExpectCorrupt(TestContext(), SignedJson(empty_v2), "no snapshot listed");
}

TEST(PruneRecordTest, PrunedSnapshotsReadTheRecordOnlyWhenAsked) {
  MemoryStore store;
  const VaultContext ctx = TestContext();  // borrowed by PrunedSnapshots
  PrunedSnapshots none(store, ctx);
  Result<bool> absent = none.WasDeleted(Pack("12"));
  ASSERT_TRUE((absent).ok());
  EXPECT_FALSE(*absent);
  PruneRecord r = GoldenPrune();
  r.deleted_snapshots = {{Pack("12"), 3}};
  ASSERT_TRUE((WritePruneRecord(store, ctx, StoredPruneRecord{}, r)).ok());
  PrunedSnapshots pruned(store, ctx);
  const Error missing(SyncCode::kStateFailed, Category::kNotFound, "gone");
  const Error corrupt(SyncCode::kStateFailed, Category::kCorrupt, "bad");
  Result<bool> gone = pruned.ExplainsMissing(missing, Pack("12"));
  ASSERT_TRUE(gone.ok()) << gone.error().ToShortString();
  EXPECT_TRUE(*gone);
  Result<bool> other = pruned.ExplainsMissing(missing, Pack("34"));
  ASSERT_TRUE((other).ok());
  EXPECT_FALSE(*other) << "a missing snapshot prune.json does not list is damage";
  Result<bool> damaged = pruned.ExplainsMissing(corrupt, Pack("12"));
  ASSERT_TRUE((damaged).ok());
  EXPECT_FALSE(*damaged) << "only a missing body is explained, never a damaged one";
}

}  // namespace
}  // namespace hx
