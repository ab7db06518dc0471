// The hub's access tokens and challenges: their canonical bytes, the strict
// decoder, and the keyed BLAKE3 tag that makes them unforgeable.
//
// A token says "device D may use vault V with role R until E". A hub issues
// one after a device proves it holds its registered Ed25519 key (a signed
// challenge, hub_auth.h); every hub over the same store verifies it without
// asking anyone, because the tag key of a vault is in the store
// (_hub/<vault>/token-key.json, docs/FORMAT.md). Only the revocation check
// needs state.
//
// Token bytes (version 1), all integers big-endian:
//   "hxt1" (4) | role (1: 0 reader, 1 writer, 2 admin) | issued_ms (8, int64)
//   | expires_ms (8, int64) | device id (16) | vault length (1, 1..63)
//   | vault (ASCII [a-z0-9-]) | tag (32)
// tag = keyed BLAKE3 (the vault's token key) of every byte before it.
// Text form (the bearer string): "hxt1." followed by the lowercase hex of all
// the bytes after the magic. One token has exactly one text: the layout is
// fixed, hex is lowercase only, nothing may follow the tag.
//
// Challenge bytes (version 1): "hxc1" | issued_ms (8) | device id (16)
// | random (16) | tag (32), tag = keyed BLAKE3 of the rest under the same
// key; text "hxc1." + lowercase hex. The magic strings keep a challenge from
// ever passing for a token and back.
//
// Admin tokens (the status page, `hx serve admin-token`): role admin and
// the scope kAdminScope ("_admin") in place of a vault name, tagged with the
// hub-wide key _hub/_admin/token-key.json. The scope is no vault name (a
// vault never starts with '_'), so an admin token opens no vault's objects:
// the store routes refuse it; only the admin routes (/v1/_admin/) take it.
//
// Bounds: a text longer than kMaxTokenText is refused before decoding;
// expires_ms - issued_ms must be in (0, kMaxTokenLifetimeMs], or in
// (0, kMaxAdminTokenLifetimeMs] for the role admin.
//
// Errors: every refusal is KC_SYNC_AUTH_FAILED, Category::kAuth, with a
// message that says what was wrong (the server answers 401).
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/secret.h"
#include "hub/auth/authorizer.h"

namespace hx::hub {

inline constexpr std::int64_t kTokenLifetimeMs = 15 * 60 * 1000;
inline constexpr std::int64_t kMaxTokenLifetimeMs = kTokenLifetimeMs;
// An administrator's token lives longer (a working day by default, at most
// 7 days): it is made by hand with `hx serve admin-token`.
inline constexpr std::int64_t kAdminTokenLifetimeMs = 8LL * 3600 * 1000;
inline constexpr std::int64_t kMaxAdminTokenLifetimeMs = 7LL * 24 * 3600 * 1000;
// The scope of the hub-wide admin tokens, in the token's vault field.
inline constexpr std::string_view kAdminScope = "_admin";
// How long a device has to sign a challenge and send it back.
inline constexpr std::int64_t kChallengeLifetimeMs = 60 * 1000;
// How far in the future a challenge's issue time may be (clock skew between
// hubs over one store).
inline constexpr std::int64_t kMaxClockSkewMs = 30 * 1000;
inline constexpr std::size_t kMaxTokenText = 512;
inline constexpr std::size_t kMaxTokenVaultBytes = 63;
inline constexpr std::size_t kDeviceIdBytes = 16;

// "reader", "writer", "admin".
std::string_view RoleName(Role role);
// The inverse; nullopt for anything else.
std::optional<Role> ParseRole(std::string_view name);

// True if `vault` is a vault name a token may carry: the hub's rule
// (hub/protocol.h): 1..63 bytes of [a-z0-9-], not starting with '-' (so
// never the hub's own prefix "_hub").
bool IsValidVaultName(std::string_view vault);
// A device id: 32 lowercase hex digits (16 random bytes).
bool IsValidDeviceId(std::string_view device_id);

struct TokenClaims {
  std::string vault;
  std::string device_id;  // 32 lowercase hex digits
  Role role = Role::kReader;
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;

  bool operator==(const TokenClaims&) const = default;
};

// The token text for `claims`, tagged with `key`. Preconditions: the claims
// are valid (vault and device id as above, 0 < expires - issued <= max).
std::string EncodeToken(const TokenClaims& claims, const SecretKey& key);

// Decodes a token text without checking its tag (the claims tell which
// vault's key to check it with). Refuses anything that is not exactly the
// canonical text of some claims.
struct DecodedToken {
  TokenClaims claims;
  std::string signed_bytes;          // every byte the tag covers
  std::array<std::uint8_t, 32> tag;  // as sent
};
Result<DecodedToken> DecodeToken(std::string_view text);

// DecodeToken, then the tag under `key`, then the expiry at `now_ms`
// (a token is valid while now_ms < expires_ms).
Result<TokenClaims> VerifyToken(std::string_view text, const SecretKey& key, std::int64_t now_ms);

struct ChallengeClaims {
  std::string device_id;
  std::int64_t issued_ms = 0;
  std::array<std::uint8_t, 16> random{};
};
// A fresh challenge text for `device_id` at `now_ms`, with `random` bytes.
std::string EncodeChallenge(const ChallengeClaims& claims, const SecretKey& key);
// Checks a challenge text's form, tag and age (issued within
// kChallengeLifetimeMs before now_ms, at most kMaxClockSkewMs after).
Result<ChallengeClaims> VerifyChallenge(std::string_view text, const SecretKey& key,
                                        std::int64_t now_ms);

}  // namespace hx::hub
