#include "meta/membership.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "crypto/aead.h"
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

constexpr std::int64_t kNow = 1767225600000;
constexpr std::string_view kNodeC = "cccccccccccccccccccccccccccccccc";

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Bytes SealAsMembership(const VaultContext& ctx, std::string_view plaintext) {
  return AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce,
                           EncodeAssociatedData({"hx membership v1", ctx.vault_id}),
                           Span(plaintext));
}

Membership Sample() {
  return Membership{
      .vault_id = std::string(kTestVaultId),
      .seq = 2,
      .members = {{.node_id = std::string(kNodeA), .role = DeviceRole::kWriter,
                   .set_by = std::string(kNodeA), .set_ms = kNow},
                  {.node_id = std::string(kNodeB), .role = DeviceRole::kReader,
                   .set_by = std::string(kNodeA), .set_ms = kNow + 1}},
  };
}

// The plaintext of Sample(), with `from` replaced by `to`.
std::string SampleJson(std::string_view from = "", std::string_view to = "") {
  std::string text =
      R"({"format_version":1,"members":[{"node_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
      R"("role":"writer","set_by":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","set_ms":1767225600000},)"
      R"({"node_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","role":"reader",)"
      R"("set_by":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","set_ms":1767225600001}],"seq":2,)"
      R"("vault_id":"00112233445566778899aabbccddeeff"})";
  if (!from.empty()) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

TEST(DeviceRoleTest, ParsesExactlyTheTwoRoles) {
  EXPECT_EQ(*ParseDeviceRole("reader"), DeviceRole::kReader);
  EXPECT_EQ(*ParseDeviceRole("writer"), DeviceRole::kWriter);
  EXPECT_EQ(ToString(DeviceRole::kReader), "reader");
  for (const std::string_view bad : {"", "Writer", "admin", "reader "}) {
    EXPECT_EQ(ParseDeviceRole(bad).error().code, SyncCode::kInputInvalid) << bad;
  }
}

TEST(MembershipTest, ADeviceTheRecordDoesNotListIsAWriter) {
  const Membership membership = Sample();
  EXPECT_EQ(membership.RoleOf(kNodeA), DeviceRole::kWriter);
  EXPECT_EQ(membership.RoleOf(kNodeB), DeviceRole::kReader);
  EXPECT_EQ(membership.RoleOf(kNodeC), DeviceRole::kWriter);
  EXPECT_EQ(Membership{}.RoleOf(kNodeB), DeviceRole::kWriter);
  EXPECT_EQ(membership.Find(kNodeC), nullptr);
}

TEST(MembershipCodecTest, SealsTheCanonicalJsonDeterministically) {
  const VaultContext ctx = TestContext();
  Result<Bytes> bytes = EncodeMembership(ctx, Sample());
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(*bytes, SealAsMembership(ctx, SampleJson()));
  Result<Membership> decoded = DecodeMembership(ctx, *bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, Sample());
}

TEST(MembershipCodecTest, EncoderRefusesRecordsHxWouldNotRead) {
  const VaultContext ctx = TestContext();
  Membership m = Sample();
  m.seq = 0;
  EXPECT_EQ(EncodeMembership(ctx, m).error().code, SyncCode::kInternal);
  m = Sample();
  std::swap(m.members[0], m.members[1]);
  EXPECT_EQ(EncodeMembership(ctx, m).error().code, SyncCode::kInternal);
  m = Sample();
  m.members[1].node_id = m.members[0].node_id;
  EXPECT_EQ(EncodeMembership(ctx, m).error().code, SyncCode::kInternal);
  m = Sample();
  m.vault_id = std::string(kOtherVaultId);
  EXPECT_EQ(EncodeMembership(ctx, m).error().code, SyncCode::kInternal);
}

TEST(MembershipCodecTest, RefusesATamperedRecordOrOneOfAnotherVault) {
  const VaultContext ctx = TestContext();
  Bytes bytes = *EncodeMembership(ctx, Sample());
  Bytes flipped = bytes;
  flipped[50] ^= 4;
  EXPECT_EQ(DecodeMembership(ctx, flipped).error().category, Category::kCorrupt);
  EXPECT_EQ(DecodeMembership(TestContext(0, kOtherVaultId), bytes).error().category,
            Category::kCorrupt);
  EXPECT_EQ(DecodeMembership(ctx, Bytes(kMaxMembershipBytes + 1, 0)).error().category,
            Category::kCorrupt);
}

TEST(MembershipCodecTest, RefusesSealedContentHxWouldNotWrite) {
  const VaultContext ctx = TestContext();
  const std::string cases[] = {
      SampleJson("\"role\":\"reader\"", "\"role\":\"owner\""),
      SampleJson("\"seq\":2", "\"seq\":0"),
      SampleJson("\"seq\":2", "\"seq\":2,\"zzz\":1"),
      SampleJson("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      SampleJson("\"set_ms\":1767225600001", "\"set_ms\":-1"),
      SampleJson("00112233445566778899aabbccddeeff", std::string(kOtherVaultId)),
      SampleJson("{\"format_version\"", "{ \"format_version\""),
      "{}",
  };
  for (const std::string& plaintext : cases) {
    Result<Membership> decoded = DecodeMembership(ctx, SealAsMembership(ctx, plaintext));
    ASSERT_FALSE(decoded.ok()) << plaintext;
    EXPECT_EQ(decoded.error().code, SyncCode::kStateFailed) << plaintext;
    EXPECT_EQ(decoded.error().category, Category::kCorrupt) << plaintext;
  }
  EXPECT_EQ(DecodeMembership(ctx, SealAsMembership(ctx, SampleJson("\"format_version\":1",
                                                                   "\"format_version\":9")))
                .error()
                .category,
            Category::kUnsupported);
}

TEST(ReadMembershipTest, NoRecordMeansEveryoneIsAWriter) {
  MemoryStore store;
  Result<MembershipState> state = ReadMembership(store, TestContext());
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->version.has_value());
  EXPECT_EQ(state->membership.seq, 0u);
  EXPECT_EQ(state->membership.RoleOf(kNodeA), DeviceRole::kWriter);
}

TEST(ReadMembershipTest, ADamagedRecordIsCorruptNamingTheKey) {
  MemoryStore store;
  ASSERT_TRUE(store.Put(kMembershipKey, Span("garbage")).ok());
  Result<MembershipState> state = ReadMembership(store, TestContext());
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().category, Category::kCorrupt);
  EXPECT_EQ(state.error().details.at("key"), kMembershipKey);
}

TEST(SetDeviceRoleTest, AWriterDemotesAnotherDeviceAndTheRecordGrowsItsSeq) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Result<Membership> first = SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow,
                                           {std::string(kNodeA), std::string(kNodeB)});
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->RoleOf(kNodeB), DeviceRole::kReader);
  EXPECT_EQ(first->Find(kNodeB)->set_by, kNodeA);
  EXPECT_EQ(ReadMembership(store, ctx)->membership, *first);

  Result<Membership> second =
      SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kWriter, kNow + 5, {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->seq, 2u);
  EXPECT_EQ(second->RoleOf(kNodeB), DeviceRole::kWriter);
}

TEST(SetDeviceRoleTest, SettingTheSameRoleAgainWritesNothing) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow, {}).ok());
  Result<Membership> again =
      SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow + 9, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->seq, 1u);
  EXPECT_EQ(again->Find(kNodeB)->set_ms, kNow);
}

TEST(SetDeviceRoleTest, AReaderCannotChangeRoles) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow, {}).ok());
  Result<Membership> refused =
      SetDeviceRole(store, ctx, kNodeB, kNodeB, DeviceRole::kWriter, kNow, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(refused.error().category, Category::kAuth);
  EXPECT_NE(refused.error().message.find("writer device"), std::string::npos);
}

TEST(SetDeviceRoleTest, NeverLeavesTheVaultWithoutAWriter) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  ASSERT_TRUE(SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow,
                            {std::string(kNodeB)})
                  .ok());
  Result<Membership> refused = SetDeviceRole(store, ctx, kNodeA, kNodeA, DeviceRole::kReader,
                                             kNow, {std::string(kNodeB)});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
  // With a third device that is still a writer, A may step down.
  EXPECT_TRUE(SetDeviceRole(store, ctx, kNodeA, kNodeA, DeviceRole::kReader, kNow,
                            {std::string(kNodeB), std::string(kNodeC)})
                  .ok());
}

TEST(SetDeviceRoleTest, ARecordRewrittenAfterALossSupersedesEverySeqSeen) {
  MemoryStore store;
  const VaultContext ctx = TestContext();
  Result<Membership> set =
      SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow, {}, /*min_seq=*/5);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->seq, 6u);
  // Even a role that is already set is written again above min_seq.
  Result<Membership> again =
      SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow, {}, /*min_seq=*/9);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->seq, 10u);
}

TEST(SetDeviceRoleTest, RefusesMalformedNodeIds) {
  MemoryStore store;
  EXPECT_EQ(SetDeviceRole(store, TestContext(), kNodeA, "B", DeviceRole::kReader, kNow, {})
                .error()
                .code,
            SyncCode::kInputInvalid);
}

// Another writer changes the record between this device's read and write.
class RacingStore final : public StoreWrapper {
 public:
  RacingStore(std::unique_ptr<Store> inner, const VaultContext& ctx)
      : StoreWrapper(std::move(inner)), ctx_(ctx) {}
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    if (!raced_) {
      raced_ = true;
      EXPECT_TRUE(
          SetDeviceRole(inner(), ctx_, kNodeC, kNodeC, DeviceRole::kWriter, kNow, {}).ok());
    }
    return StoreWrapper::PutIfAbsent(key, bytes);
  }

 private:
  const VaultContext& ctx_;
  bool raced_ = false;
};

TEST(SetDeviceRoleTest, ALostCompareAndSwapIsRedoneOnTheNewRecord) {
  const VaultContext ctx = TestContext();
  RacingStore store(std::make_unique<MemoryStore>(), ctx);
  Result<Membership> set = SetDeviceRole(store, ctx, kNodeA, kNodeB, DeviceRole::kReader, kNow, {});
  ASSERT_TRUE(set.ok()) << set.error().ToShortString();
  EXPECT_EQ(set->seq, 2u);
  ASSERT_EQ(set->members.size(), 2u);  // the racer's entry survived
  EXPECT_EQ(set->RoleOf(kNodeB), DeviceRole::kReader);
  EXPECT_NE(set->Find(kNodeC), nullptr);
}

}  // namespace
}  // namespace hx
