// The hub's registration and auth library against the memory store and the
// folder store: enrollment codes are one-time and expire, registration and
// challenges prove the device's key, tokens carry the role, revocation is
// immediate on the revoking hub and within the cache bound elsewhere, and
// two hubs over one store agree (one token key, one claim per code).
#include "hub/auth/hub_auth.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "hub/auth/records.h"
#include "hub/auth/auth_test_util.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

using auth_testing::AsBytes;
using auth_testing::kDay;
using auth_testing::kT0;
using auth_testing::StoreKind;

class HubAuthTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }

  // Enrolls a device with a fresh code of `role`; returns its record.
  DeviceRecord Enroll(HubAuth& auth, const Ed25519KeyPair& pair, Role role = Role::kWriter,
                      std::string name = "laptop") {
    Result<Enrollment> code = auth.CreateEnrollment("notes", role, kDay, kT0);
    EXPECT_TRUE(code.ok()) << code.error().ToShortString();
    Result<DeviceRecord> device = auth.Register(
        "notes", {.code = code->code, .public_key = pair.public_key, .name = name,
                  .platform = "linux"},
        kT0);
    EXPECT_TRUE(device.ok()) << device.error().ToShortString();
    return *device;
  }

  // The challenge dance a device does: challenge, sign, exchange.
  Result<IssuedToken> Login(HubAuth& auth, const DeviceRecord& device,
                            const Ed25519KeyPair& pair, std::int64_t now_ms) {
    HX_ASSIGN_OR_RETURN(const std::string challenge,
                        auth.IssueChallenge("notes", device.device_id, now_ms));
    const std::string message = ChallengeMessage("notes", device.device_id, challenge);
    const Ed25519Signature signature = Ed25519Sign(pair.secret_key, AsBytes(message));
    return auth.ExchangeChallenge("notes", device.device_id, challenge, signature, now_ms);
  }

  std::unique_ptr<Store> store_;
};

void ExpectAuthFailed(const Error& error) {
  EXPECT_EQ(error.code, SyncCode::kAuthFailed) << error.ToShortString();
  EXPECT_EQ(error.category, Category::kAuth) << error.ToShortString();
}

TEST_P(HubAuthTest, EnrollRegisterLoginAuthenticate) {
  HubAuth auth(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(auth, pair);
  EXPECT_EQ(device.role, Role::kWriter);
  EXPECT_TRUE(IsValidDeviceId(device.device_id));

  Result<IssuedToken> token = Login(auth, device, pair, kT0 + 1000);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();
  EXPECT_EQ(token->expires_ms, kT0 + 1000 + kTokenLifetimeMs);

  Result<Principal> who = auth.Authenticate("notes", token->token, kT0 + 2000);
  ASSERT_TRUE(who.ok()) << who.error().ToShortString();
  EXPECT_EQ(who->device_id, device.device_id);
  EXPECT_EQ(who->role, Role::kWriter);
  EXPECT_EQ(who->vault, "notes");
}

TEST_P(HubAuthTest, ACodeUsedTwiceIsRefused) {
  HubAuth auth(*store_);
  Result<Enrollment> code = auth.CreateEnrollment("notes", Role::kWriter, kDay, kT0);
  ASSERT_TRUE(code.ok());
  const RegisterRequest request{.code = code->code,
                                .public_key = NewEd25519KeyPair().public_key,
                                .name = "a",
                                .platform = "linux"};
  ASSERT_TRUE(auth.Register("notes", request, kT0).ok());
  Result<DeviceRecord> again = auth.Register("notes", request, kT0);
  ASSERT_FALSE(again.ok());
  ExpectAuthFailed(again.error());
  EXPECT_NE(again.error().message.find("already used"), std::string::npos);
  // A second hub over the same store refuses it too.
  HubAuth other(*store_);
  ASSERT_FALSE(other.Register("notes", request, kT0).ok());
  Result<std::vector<DeviceRecord>> devices = auth.ListDevices("notes");
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 1u);
}

TEST_P(HubAuthTest, AnExpiredOrUnknownOrMalformedCodeIsRefused) {
  HubAuth auth(*store_);
  Result<Enrollment> code = auth.CreateEnrollment("notes", Role::kReader, 60'000, kT0);
  ASSERT_TRUE(code.ok());
  RegisterRequest request{.code = code->code,
                          .public_key = NewEd25519KeyPair().public_key,
                          .name = "a",
                          .platform = "linux"};
  Result<DeviceRecord> late = auth.Register("notes", request, kT0 + 60'000);
  ASSERT_FALSE(late.ok());
  ExpectAuthFailed(late.error());
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);

  request.code = "hxe1-00000000000000000000000000000000";
  ASSERT_FALSE(auth.Register("notes", request, kT0).ok());
  request.code = "not a code";
  ASSERT_FALSE(auth.Register("notes", request, kT0).ok());
  // The right code for another vault is unknown there.
  request.code = code->code;
  Result<DeviceRecord> elsewhere = auth.Register("other", request, kT0);
  ASSERT_FALSE(elsewhere.ok());
  ExpectAuthFailed(elsewhere.error());
}

TEST_P(HubAuthTest, TheCodeIsNeverStoredInClear) {
  HubAuth auth(*store_);
  Result<Enrollment> code = auth.CreateEnrollment("notes", Role::kWriter, kDay, kT0);
  ASSERT_TRUE(code.ok());
  Result<std::vector<StoreObjectInfo>> all = store_->List("");
  ASSERT_TRUE(all.ok());
  const std::string secret = code->code.substr(5);
  for (const StoreObjectInfo& info : *all) {
    EXPECT_EQ(info.key.find(secret), std::string::npos) << info.key;
    Result<Bytes> bytes = store_->Get(info.key, 1 << 20);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()).find(secret), std::string::npos);
  }
}

TEST_P(HubAuthTest, AWrongKeyCannotAnswerTheChallenge) {
  HubAuth auth(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(auth, pair);
  const Ed25519KeyPair thief = NewEd25519KeyPair();
  Result<IssuedToken> token = Login(auth, device, thief, kT0);
  ASSERT_FALSE(token.ok());
  ExpectAuthFailed(token.error());
}

TEST_P(HubAuthTest, AChallengeIsBoundToItsDeviceAndExpires) {
  HubAuth auth(*store_);
  const Ed25519KeyPair a_pair = NewEd25519KeyPair();
  const Ed25519KeyPair b_pair = NewEd25519KeyPair();
  const DeviceRecord a = Enroll(auth, a_pair, Role::kWriter, "a");
  const DeviceRecord b = Enroll(auth, b_pair, Role::kWriter, "b");
  Result<std::string> challenge = auth.IssueChallenge("notes", a.device_id, kT0);
  ASSERT_TRUE(challenge.ok());
  // b signs a's challenge as itself.
  const std::string message = ChallengeMessage("notes", b.device_id, *challenge);
  const Ed25519Signature signature = Ed25519Sign(b_pair.secret_key, AsBytes(message));
  ExpectAuthFailed(
      auth.ExchangeChallenge("notes", b.device_id, *challenge, signature, kT0).error());
  // a answers too late.
  const std::string a_message = ChallengeMessage("notes", a.device_id, *challenge);
  const Ed25519Signature a_signature = Ed25519Sign(a_pair.secret_key, AsBytes(a_message));
  ExpectAuthFailed(auth.ExchangeChallenge("notes", a.device_id, *challenge, a_signature,
                                          kT0 + kChallengeLifetimeMs + 1)
                       .error());
  EXPECT_TRUE(
      auth.ExchangeChallenge("notes", a.device_id, *challenge, a_signature, kT0 + 10).ok());
}

TEST_P(HubAuthTest, ARevokedDeviceIsRefusedAtOnceHereAndWithinTheCacheBoundElsewhere) {
  HubAuth revoking(*store_);
  HubAuth other(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(revoking, pair);
  Result<IssuedToken> token = Login(revoking, device, pair, kT0);
  ASSERT_TRUE(token.ok());
  // The other hub has seen the device (and cached "not revoked").
  ASSERT_TRUE(other.Authenticate("notes", token->token, kT0 + 1).ok());

  Result<DeviceRecord> revoked = revoking.Revoke("notes", "laptop", kT0 + 2);
  ASSERT_TRUE(revoked.ok()) << revoked.error().ToShortString();
  EXPECT_TRUE(revoked->revoked);
  ExpectAuthFailed(revoking.Authenticate("notes", token->token, kT0 + 3).error());
  // Within the cache bound the other hub may still accept the token, after
  // it never.
  const std::int64_t bound = other.options().revocation_cache_ms;
  ExpectAuthFailed(other.Authenticate("notes", token->token, kT0 + 1 + bound).error());
  // It cannot log in again anywhere.
  ExpectAuthFailed(Login(other, device, pair, kT0 + 10).error());
  ExpectAuthFailed(Login(revoking, device, pair, kT0 + 10).error());

  Result<std::vector<DeviceRecord>> devices = other.ListDevices("notes");
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_TRUE((*devices)[0].revoked);
  EXPECT_EQ((*devices)[0].revoked_ms, kT0 + 2);
  // Revoking again is fine.
  EXPECT_TRUE(other.Revoke("notes", device.device_id, kT0 + 20).ok());
}

TEST_P(HubAuthTest, TokensCarryTheRoleOfTheCode) {
  HubAuth auth(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord reader = Enroll(auth, pair, Role::kReader, "phone");
  EXPECT_EQ(reader.role, Role::kReader);
  Result<IssuedToken> token = Login(auth, reader, pair, kT0);
  ASSERT_TRUE(token.ok());
  Result<Principal> who = auth.Authenticate("notes", token->token, kT0);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->role, Role::kReader);
  EXPECT_FALSE(RoleAllows(who->role, Role::kWriter));
  EXPECT_TRUE(RoleAllows(who->role, Role::kReader));
  EXPECT_FALSE(auth.CreateEnrollment("notes", Role::kAdmin, kDay, kT0).ok());
}

TEST_P(HubAuthTest, ATokenForAnotherVaultOrExpiredIsRefused) {
  HubAuthOptions options;
  options.token_lifetime_ms = 5000;
  HubAuth auth(*store_, options);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(auth, pair);
  Result<IssuedToken> token = Login(auth, device, pair, kT0);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->expires_ms, kT0 + 5000);
  EXPECT_TRUE(auth.Authenticate("notes", token->token, kT0 + 4999).ok());
  ExpectAuthFailed(auth.Authenticate("notes", token->token, kT0 + 5000).error());
  ASSERT_TRUE(auth.CreateEnrollment("other", Role::kWriter, kDay, kT0).ok());
  ExpectAuthFailed(auth.Authenticate("other", token->token, kT0).error());
  ExpectAuthFailed(auth.Authenticate("notes", "", kT0).error());
  // A vault nobody enrolled with: refused, and nothing is written for it.
  ExpectAuthFailed(auth.Authenticate("nobody", token->token, kT0).error());
  Result<std::vector<StoreObjectInfo>> nobody = store_->List("_hub/nobody/");
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->empty());
}

TEST_P(HubAuthTest, TwoHubsShareOneTokenKey) {
  HubAuth first(*store_);
  HubAuth second(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(first, pair);
  Result<IssuedToken> token = Login(second, device, pair, kT0);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();
  EXPECT_TRUE(first.Authenticate("notes", token->token, kT0).ok());
}

TEST_P(HubAuthTest, AcknowledgedHeadAndLastSeenAreListed) {
  HubAuth auth(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(auth, pair);
  ASSERT_TRUE(auth.AcknowledgeHead("notes", device.device_id, "\"etag-1\"", kT0 + 5000).ok());
  ASSERT_TRUE(Login(auth, device, pair, kT0 + 120'000).ok());
  Result<DeviceRecord> found = auth.FindDevice("notes", device.device_id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->acked_head, "\"etag-1\"");
  EXPECT_EQ(found->last_seen_ms, kT0 + 120'000);
  EXPECT_EQ(found->name, "laptop");
  EXPECT_EQ(found->platform, "linux");
  EXPECT_FALSE(found->revoked);
}

TEST_P(HubAuthTest, BadNamesAreRefusedBeforeAnythingIsClaimed) {
  HubAuth auth(*store_);
  Result<Enrollment> code = auth.CreateEnrollment("notes", Role::kWriter, kDay, kT0);
  ASSERT_TRUE(code.ok());
  RegisterRequest request{.code = code->code,
                          .public_key = NewEd25519KeyPair().public_key,
                          .name = "evil\x1b[2J",
                          .platform = "linux"};
  Result<DeviceRecord> bad = auth.Register("notes", request, kT0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, SyncCode::kInputInvalid);
  request.name = std::string(kMaxDeviceNameBytes + 1, 'n');
  ASSERT_FALSE(auth.Register("notes", request, kT0).ok());
  request.name = "fine";
  EXPECT_TRUE(auth.Register("notes", request, kT0).ok());  // the code was not burnt
  EXPECT_FALSE(auth.CreateEnrollment("_hub", Role::kWriter, kDay, kT0).ok());
  EXPECT_FALSE(auth.CreateEnrollment("a/b", Role::kWriter, kDay, kT0).ok());
}

TEST_P(HubAuthTest, ADamagedRecordIsCorruptNotAnAuthFailure) {
  HubAuth auth(*store_);
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  const DeviceRecord device = Enroll(auth, pair);
  const std::string key = HubKey("notes", "devices/" + device.device_id + ".json");
  ASSERT_TRUE(store_->Put(key, AsBytes("{\"format\":1}")).ok());
  Result<std::vector<DeviceRecord>> devices = auth.ListDevices("notes");
  ASSERT_FALSE(devices.ok());
  EXPECT_EQ(devices.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(devices.error().category, Category::kCorrupt);
}

TEST_P(HubAuthTest, RecordsRoundTripCanonically) {
  DeviceRecord record;
  record.device_id = "00112233445566778899aabbccddeeff";
  record.name = "Zoë's laptop";
  record.platform = "linux";
  record.role = Role::kReader;
  record.public_key.fill(0xab);
  record.created_ms = 1;
  record.last_seen_ms = 2;
  record.acked_head = "\"e\"";
  const std::string text = EncodeDevice(record);
  Result<DeviceRecord> back = DecodeDevice(text, "k");
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(EncodeDevice(*back), text);
  EXPECT_FALSE(DecodeDevice(text + " ", "k").ok());
  EXPECT_FALSE(DecodeDevice("{\"format\":2}", "k").ok());
}

INSTANTIATE_TEST_SUITE_P(
    Stores, HubAuthTest,
    auth_testing::StoreKinds(), auth_testing::StoreKindName);

}  // namespace
}  // namespace hx::hub
