// The auth routes with the device side talking to them through an
// in-process transport: enrollment, the challenge dance, a token refreshed
// before it expires without the caller noticing, the store routes' gate
// (401 for missing/forged/expired/revoked tokens, 403 for a reader's write),
// and bad input to every route answered with a 4xx and a KC_SYNC_* code.
#include "hub/auth/auth_routes.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/hub/device_credential.h"
#include "store/memory_store.h"

namespace hx::hub {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kDay = 24LL * 3600 * 1000;

// Calls the routes directly, at the time the test sets.
class DirectTransport final : public HubAuthTransport {
 public:
  explicit DirectTransport(HubAuth& auth) : auth_(auth) {}
  Result<std::string> Post(std::string_view path, std::string_view body) override {
    const std::string prefix = "/v1/_auth/";
    if (path.substr(0, prefix.size()) != prefix) return InternalError("bad path");
    const std::string_view rest = path.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    const HttpAnswer answer = HandleAuthRoute(auth_, rest.substr(0, slash),
                                              rest.substr(slash + 1), body, now_ms);
    ++posts;
    if (answer.status != 200) return HubReplyError(answer.status, answer.body);
    return answer.body;
  }
  std::int64_t now_ms = kT0;
  int posts = 0;

 private:
  HubAuth& auth_;
};

class AuthRoutesTest : public ::testing::Test {
 protected:
  DeviceCredential EnrollAs(Role role, std::string name) {
    Result<Enrollment> code = auth_.CreateEnrollment("notes", role, kDay, kT0);
    EXPECT_TRUE(code.ok());
    Result<DeviceCredential> credential = EnrollDevice(
        *transport_, {.vault = "notes", .code = code->code, .name = name, .platform = "linux"});
    EXPECT_TRUE(credential.ok()) << credential.error().ToShortString();
    return std::move(credential).value();
  }

  MemoryStore store_;
  HubAuthOptions options_{.token_lifetime_ms = 10'000, .revocation_cache_ms = 10'000};
  HubAuth auth_{store_, options_};
  std::shared_ptr<DirectTransport> transport_ = std::make_shared<DirectTransport>(auth_);
};

TEST_F(AuthRoutesTest, AnEnrolledWriterGetsATokenThatPassesTheGate) {
  DeviceCredential credential = EnrollAs(Role::kWriter, "laptop");
  EXPECT_EQ(credential.role, "writer");
  DeviceTokenSource source(std::move(credential), transport_);
  Result<std::string> token = source.Token(kT0, false);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();
  Result<Principal> who =
      AuthorizeRequest(auth_, "notes", "Bearer " + *token, Role::kWriter, kT0 + 1);
  ASSERT_TRUE(who.ok()) << who.error().ToShortString();
  EXPECT_EQ(who->role, Role::kWriter);
}

TEST_F(AuthRoutesTest, AnExpiringTokenIsRefreshedWithoutTheCallerNoticing) {
  DeviceTokenSource source(EnrollAs(Role::kWriter, "laptop"), transport_);
  // A caller that asks for a token before every request, as the hub client
  // does, over three token lifetimes: every token it gets passes the gate.
  std::string previous;
  int changes = 0;
  for (std::int64_t t = kT0; t < kT0 + 30'000; t += 500) {
    transport_->now_ms = t;
    Result<std::string> token = source.Token(t, false);
    ASSERT_TRUE(token.ok()) << token.error().ToShortString();
    ASSERT_TRUE(AuthorizeRequest(auth_, "notes", "Bearer " + *token, Role::kWriter, t).ok())
        << "at +" << (t - kT0) << " ms";
    if (*token != previous) ++changes;
    previous = *token;
  }
  // Refreshed at 4/5 of each 10 s lifetime: 30 s / 8 s, rounded up.
  EXPECT_EQ(changes, 4);
  EXPECT_EQ(source.fetches(), 4);
}

TEST_F(AuthRoutesTest, AForcedRefreshAfterA401GetsANewToken) {
  DeviceTokenSource source(EnrollAs(Role::kWriter, "laptop"), transport_);
  Result<std::string> first = source.Token(kT0, false);
  ASSERT_TRUE(first.ok());
  // The hub's clock runs ahead of the device's: the device's cached token is
  // already expired there; the 401 makes the client force a refresh.
  const std::int64_t hub_now = kT0 + 10'000;
  Result<Principal> refused = AuthorizeRequest(auth_, "notes", "Bearer " + *first,
                                               Role::kWriter, hub_now);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(AuthHttpStatus(refused.error()), 401);
  transport_->now_ms = hub_now;
  Result<std::string> second = source.Token(kT0 + 1, true);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *first);
  EXPECT_TRUE(AuthorizeRequest(auth_, "notes", "Bearer " + *second, Role::kWriter, hub_now).ok());
}

TEST_F(AuthRoutesTest, AReaderCannotWrite) {
  DeviceTokenSource source(EnrollAs(Role::kReader, "phone"), transport_);
  Result<std::string> token = source.Token(kT0, false);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(AuthorizeRequest(auth_, "notes", "Bearer " + *token, Role::kReader, kT0).ok());
  Result<Principal> write =
      AuthorizeRequest(auth_, "notes", "Bearer " + *token, Role::kWriter, kT0);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(AuthHttpStatus(write.error()), 403);
}

TEST_F(AuthRoutesTest, MissingForgedAlteredAndRevokedTokensAre401) {
  const DeviceCredential credential = EnrollAs(Role::kWriter, "laptop");
  const std::string device_id = credential.device_id;
  DeviceTokenSource source(DeviceCredential{.vault = credential.vault,
                                            .device_id = credential.device_id,
                                            .role = credential.role,
                                            .seed = credential.seed.Clone()},
                           transport_);
  Result<std::string> token = source.Token(kT0, false);
  ASSERT_TRUE(token.ok());
  std::string altered = *token;
  altered[10] = altered[10] == '0' ? '1' : '0';
  // A token a thief made with a key of their own.
  TokenClaims claims{.vault = "notes", .device_id = device_id, .role = Role::kAdmin,
                     .issued_ms = kT0, .expires_ms = kT0 + 1000};
  const std::string forged = EncodeToken(claims, SecretKey::Random());
  for (const std::string& header :
       {std::string(), std::string("Basic abc"), std::string("Bearer "), "Bearer " + altered,
        "Bearer " + forged}) {
    Result<Principal> who = AuthorizeRequest(auth_, "notes", header, Role::kReader, kT0);
    ASSERT_FALSE(who.ok()) << header;
    EXPECT_EQ(who.error().code, SyncCode::kAuthFailed);
    EXPECT_EQ(AuthHttpStatus(who.error()), 401) << header;
  }
  ASSERT_TRUE(auth_.Revoke("notes", device_id, kT0).ok());
  Result<Principal> revoked =
      AuthorizeRequest(auth_, "notes", "Bearer " + *token, Role::kReader, kT0 + 1);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(AuthHttpStatus(revoked.error()), 401);
  // And it cannot get a new token.
  Result<std::string> again = source.Token(kT0 + 2, true);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(again.error().details.at("http_status"), "401");
}

TEST_F(AuthRoutesTest, ACodeUsedTwiceThroughTheRouteIsRefused) {
  Result<Enrollment> code = auth_.CreateEnrollment("notes", Role::kWriter, kDay, kT0);
  ASSERT_TRUE(code.ok());
  const EnrollRequest request{.vault = "notes", .code = code->code, .name = "a",
                              .platform = "linux"};
  ASSERT_TRUE(EnrollDevice(*transport_, request).ok());
  Result<DeviceCredential> again = EnrollDevice(*transport_, request);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, SyncCode::kAuthFailed);
  EXPECT_NE(again.error().message.find("already used"), std::string::npos);
}

TEST_F(AuthRoutesTest, BadInputToEveryRouteIsA4xxWithACode) {
  for (const std::string_view action : {"register", "challenge", "token"}) {
    for (const std::string& body :
         {std::string(""), std::string("{"), std::string("[]"), std::string("{\"x\":1}"),
          std::string("{\"device_id\":5}"), std::string(kMaxAuthBodyBytes + 1, ' '),
          std::string("{\"device_id\":\"../../etc\"}"),
          std::string("{\"code\":\"a\",\"name\":\"n\",\"platform\":\"p\",\"public_key\":\"zz\"}"),
          std::string("{\"challenge\":\"hxc1.00\",\"device_id\":\"00112233445566778899aabbccddeeff\","
                      "\"signature\":\"00\"}")}) {
      const HttpAnswer answer = HandleAuthRoute(auth_, "notes", action, body, kT0);
      SCOPED_TRACE(std::string(action) + " " + body.substr(0, 60));
      EXPECT_GE(answer.status, 400);
      EXPECT_LT(answer.status, 500);
      EXPECT_NE(answer.body.find("\"code\":\"KC_SYNC_"), std::string::npos) << answer.body;
    }
  }
  EXPECT_EQ(HandleAuthRoute(auth_, "notes", "nope", "{}", kT0).status, 404);
  EXPECT_EQ(HandleAuthRoute(auth_, "notes", "token", std::string(kMaxAuthBodyBytes + 1, ' '), kT0)
                .status,
            413);
}

TEST(DeviceCredentialTest, RoundTripsAndRefusesDamage) {
  DeviceCredential credential{.vault = "notes",
                              .device_id = "00112233445566778899aabbccddeeff",
                              .role = "writer",
                              .seed = SecretKey::Random()};
  const std::string text = EncodeDeviceCredential(credential);
  Result<DeviceCredential> back = DecodeDeviceCredential(text);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_TRUE(ConstantTimeEquals(back->seed, credential.seed));
  EXPECT_EQ(back->KeyPair().public_key, credential.KeyPair().public_key);
  Result<DeviceCredential> damaged = DecodeDeviceCredential(text.substr(1));
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().category, Category::kCorrupt);
}

}  // namespace
}  // namespace hx::hub
