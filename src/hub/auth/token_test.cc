// The token and challenge codec: one canonical text per token, every
// alteration refused, expiry and lifetime bounds enforced.
#include "hub/auth/token.h"

#include <gtest/gtest.h>

#include <string>

namespace hx::hub {
namespace {

SecretKey KeyOf(std::uint8_t fill) {
  SecretKey key;
  for (auto& b : key.mutable_bytes()) b = fill;
  return key;
}

TokenClaims Claims() {
  return {.vault = "team-notes",
          .device_id = "00112233445566778899aabbccddeeff",
          .role = Role::kWriter,
          .issued_ms = 1'700'000'000'000,
          .expires_ms = 1'700'000'000'000 + kTokenLifetimeMs};
}

void ExpectAuthFailure(const Result<TokenClaims>& got) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(got.error().category, Category::kAuth);
}

TEST(TokenTest, RoundTripsItsClaims) {
  const SecretKey key = KeyOf(7);
  const std::string text = EncodeToken(Claims(), key);
  EXPECT_EQ(text.substr(0, 5), "hxt1.");
  Result<TokenClaims> got = VerifyToken(text, key, Claims().issued_ms);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(*got, Claims());
}

TEST(TokenTest, TheTextIsPinned) {
  // The layout of docs/FORMAT.md, byte for byte (the tag is whatever the key
  // gives; the prefix before it is fixed).
  const std::string text = EncodeToken(Claims(), KeyOf(7));
  EXPECT_EQ(text.substr(0, 5 + 2 * (1 + 8 + 8 + 16 + 1 + 10)),
            "hxt1.01" "0000018bcfe56800" "0000018bcff323a0"
            "00112233445566778899aabbccddeeff" "0a" "7465616d2d6e6f746573");
  EXPECT_EQ(text.size(), 5 + 2 * (1 + 8 + 8 + 16 + 1 + 10 + 32));
}

TEST(TokenTest, AForgedTokenIsRefused) {
  // Same claims, another key: a hub of another store, or a guess.
  ExpectAuthFailure(VerifyToken(EncodeToken(Claims(), KeyOf(8)), KeyOf(7), Claims().issued_ms));
}

TEST(TokenTest, EveryAlteredCharacterIsRefused) {
  const SecretKey key = KeyOf(7);
  const std::string text = EncodeToken(Claims(), key);
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (const char c : {'0', 'f', 'A', '.', 'x'}) {
      if (text[i] == c) continue;
      std::string altered = text;
      altered[i] = c;
      SCOPED_TRACE("position " + std::to_string(i) + " -> " + c);
      ExpectAuthFailure(VerifyToken(altered, key, Claims().issued_ms));
    }
  }
}

TEST(TokenTest, TruncatedOrExtendedTextsAreRefused) {
  const SecretKey key = KeyOf(7);
  const std::string text = EncodeToken(Claims(), key);
  for (std::size_t n = 0; n < text.size(); ++n) {
    ExpectAuthFailure(VerifyToken(text.substr(0, n), key, Claims().issued_ms));
  }
  ExpectAuthFailure(VerifyToken(text + "00", key, Claims().issued_ms));
  ExpectAuthFailure(VerifyToken(text + "\n", key, Claims().issued_ms));
  ExpectAuthFailure(VerifyToken(std::string(kMaxTokenText + 1, 'a'), key, 0));
}

TEST(TokenTest, UppercaseHexIsNotTheCanonicalText) {
  const SecretKey key = KeyOf(7);
  std::string text = EncodeToken(Claims(), key);
  for (std::size_t i = 5; i < text.size(); ++i) {
    if (text[i] >= 'a' && text[i] <= 'f') {
      text[i] = static_cast<char>(text[i] - 'a' + 'A');
      break;
    }
  }
  ExpectAuthFailure(VerifyToken(text, key, Claims().issued_ms));
}

TEST(TokenTest, AnExpiredTokenIsRefusedAtItsExpiry) {
  const SecretKey key = KeyOf(7);
  const std::string text = EncodeToken(Claims(), key);
  EXPECT_TRUE(VerifyToken(text, key, Claims().expires_ms - 1).ok());
  ExpectAuthFailure(VerifyToken(text, key, Claims().expires_ms));
}

TEST(TokenTest, ALifetimeBeyondTheBoundIsRefusedEvenWhenTagged) {
  // A hub never issues one; a decoder that accepted it would let a leaked
  // token key mint tokens that outlive any revocation cache.
  TokenClaims claims = Claims();
  claims.expires_ms = claims.issued_ms + kMaxTokenLifetimeMs + 1;
  ExpectAuthFailure(VerifyToken(EncodeToken(claims, KeyOf(7)), KeyOf(7), claims.issued_ms));
}

TEST(TokenTest, TheAdminScopeIsOnlyForTheAdminRoleAndBoundedToSevenDays) {
  TokenClaims claims = Claims();
  claims.vault = std::string(kAdminScope);
  claims.role = Role::kAdmin;
  claims.expires_ms = claims.issued_ms + kMaxAdminTokenLifetimeMs;
  Result<TokenClaims> got =
      VerifyToken(EncodeToken(claims, KeyOf(7)), KeyOf(7), claims.issued_ms);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(*got, claims);
  // A writer's token cannot carry the admin scope, nor an admin's token a
  // lifetime past 7 days, nor a device's token an admin's lifetime.
  TokenClaims writer = claims;
  writer.role = Role::kWriter;
  writer.expires_ms = writer.issued_ms + kTokenLifetimeMs;
  ExpectAuthFailure(VerifyToken(EncodeToken(writer, KeyOf(7)), KeyOf(7), writer.issued_ms));
  TokenClaims too_long = claims;
  too_long.expires_ms = too_long.issued_ms + kMaxAdminTokenLifetimeMs + 1;
  ExpectAuthFailure(VerifyToken(EncodeToken(too_long, KeyOf(7)), KeyOf(7), too_long.issued_ms));
  TokenClaims long_writer = Claims();
  long_writer.expires_ms = long_writer.issued_ms + kAdminTokenLifetimeMs;
  ExpectAuthFailure(
      VerifyToken(EncodeToken(long_writer, KeyOf(7)), KeyOf(7), long_writer.issued_ms));
}

TEST(TokenTest, AChallengeIsNeverAToken) {
  const SecretKey key = KeyOf(7);
  const std::string challenge = EncodeChallenge(
      {.device_id = Claims().device_id, .issued_ms = Claims().issued_ms, .random = {}}, key);
  ExpectAuthFailure(VerifyToken(challenge, key, Claims().issued_ms));
  EXPECT_FALSE(VerifyChallenge(EncodeToken(Claims(), key), key, Claims().issued_ms).ok());
}

TEST(ChallengeTest, ValidForItsLifetimeOnly) {
  const SecretKey key = KeyOf(7);
  const std::int64_t t = 1'700'000'000'000;
  const std::string challenge =
      EncodeChallenge({.device_id = Claims().device_id, .issued_ms = t, .random = {}}, key);
  Result<ChallengeClaims> got = VerifyChallenge(challenge, key, t + kChallengeLifetimeMs);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(got->device_id, Claims().device_id);
  EXPECT_FALSE(VerifyChallenge(challenge, key, t + kChallengeLifetimeMs + 1).ok());
  EXPECT_FALSE(VerifyChallenge(challenge, key, t - kMaxClockSkewMs - 1).ok());
  EXPECT_FALSE(VerifyChallenge(challenge, KeyOf(8), t).ok());
}

TEST(NamesTest, VaultNamesAndDeviceIds) {
  EXPECT_TRUE(IsValidVaultName("notes"));
  EXPECT_TRUE(IsValidVaultName("a-b-9"));
  EXPECT_FALSE(IsValidVaultName("a.b"));
  EXPECT_FALSE(IsValidVaultName("a_b"));
  EXPECT_FALSE(IsValidVaultName("-a"));
  EXPECT_FALSE(IsValidVaultName(""));
  EXPECT_FALSE(IsValidVaultName("_hub"));
  EXPECT_FALSE(IsValidVaultName(".."));
  EXPECT_FALSE(IsValidVaultName("Notes"));
  EXPECT_FALSE(IsValidVaultName("a/b"));
  EXPECT_FALSE(IsValidVaultName(std::string(kMaxTokenVaultBytes + 1, 'a')));
  EXPECT_TRUE(IsValidDeviceId("00112233445566778899aabbccddeeff"));
  EXPECT_FALSE(IsValidDeviceId("00112233445566778899AABBCCDDEEFF"));
  EXPECT_FALSE(IsValidDeviceId("0011"));
}

}  // namespace
}  // namespace hx::hub
