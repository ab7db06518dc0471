#include "hub/auth/token.h"

#include <algorithm>
#include <vector>

#include "base/hex.h"
#include "crypto/keys.h"

namespace hx::hub {
namespace {

constexpr std::string_view kTokenMagic = "hxt1";
constexpr std::string_view kChallengeMagic = "hxc1";
constexpr std::size_t kTagBytes = 32;
// magic | role | issued | expires | device | vault length
constexpr std::size_t kTokenFixedBytes = 4 + 1 + 8 + 8 + kDeviceIdBytes + 1;
constexpr std::size_t kChallengeBytes = 4 + 8 + kDeviceIdBytes + 16 + kTagBytes;

Error AuthError(std::string message) {
  return Error(SyncCode::kAuthFailed, Category::kAuth, std::move(message));
}

void PutInt64(std::string& out, std::int64_t value) {
  const auto u = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}

std::int64_t GetInt64(std::string_view in) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<std::uint8_t>(in[i]);
  return static_cast<std::int64_t>(u);
}

std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string Tag(const SecretKey& key, std::string_view bytes) {
  const MacTag tag = ComputeMac(key, AsBytes(bytes));
  return std::string(reinterpret_cast<const char*>(tag.data()), tag.size());
}

bool IsVaultChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// The bytes of a "<magic>.<lowercase hex>" text, or an error naming `what`.
Result<std::string> Unhex(std::string_view text, std::string_view magic, std::string_view what) {
  if (text.size() > kMaxTokenText) {
    return AuthError(std::string(what) + " is longer than " + std::to_string(kMaxTokenText) +
                     " characters");
  }
  if (text.size() < magic.size() + 1 || text.substr(0, magic.size()) != magic ||
      text[magic.size()] != '.') {
    return AuthError(std::string(what) + " does not start with \"" + std::string(magic) + ".\"");
  }
  const std::string_view hex = text.substr(magic.size() + 1);
  if (hex.size() % 2 != 0 || !IsLowerHex(hex, hex.size())) {
    return AuthError(std::string(what) + " is not lowercase hex after \"" + std::string(magic) +
                     ".\"");
  }
  const std::optional<std::vector<std::uint8_t>> bytes = FromHex(hex);
  if (!bytes) return AuthError(std::string(what) + " is not hex");
  std::string out(magic);
  out.append(bytes->begin(), bytes->end());
  return out;
}

std::string ToText(std::string_view bytes, std::size_t magic_size) {
  return std::string(bytes.substr(0, magic_size)) + "." + ToHex(AsBytes(bytes.substr(magic_size)));
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kWriter:
      return "writer";
    case Role::kAdmin:
      return "admin";
  }
  return "reader";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "writer") return Role::kWriter;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

bool IsValidVaultName(std::string_view vault) {
  if (vault.empty() || vault.size() > kMaxTokenVaultBytes || vault.front() == '-') return false;
  return std::all_of(vault.begin(), vault.end(), IsVaultChar);
}

bool IsValidDeviceId(std::string_view device_id) {
  return IsLowerHex(device_id, 2 * kDeviceIdBytes);
}

std::string EncodeToken(const TokenClaims& claims, const SecretKey& key) {
  std::string bytes(kTokenMagic);
  bytes.push_back(static_cast<char>(claims.role));
  PutInt64(bytes, claims.issued_ms);
  PutInt64(bytes, claims.expires_ms);
  const std::optional<std::vector<std::uint8_t>> device = FromHex(claims.device_id);
  bytes.append(device->begin(), device->end());
  bytes.push_back(static_cast<char>(claims.vault.size()));
  bytes += claims.vault;
  bytes += Tag(key, bytes);
  return ToText(bytes, kTokenMagic.size());
}

Result<DecodedToken> DecodeToken(std::string_view text) {
  if (text.empty()) return AuthError("no access token was sent");
  HX_ASSIGN_OR_RETURN(const std::string bytes, Unhex(text, kTokenMagic, "the access token"));
  if (bytes.size() < kTokenFixedBytes + 1 + kTagBytes) {
    return AuthError("the access token is too short");
  }
  DecodedToken out;
  const auto role = static_cast<std::uint8_t>(bytes[4]);
  if (role > static_cast<std::uint8_t>(Role::kAdmin)) {
    return AuthError("the access token names an unknown role");
  }
  out.claims.role = static_cast<Role>(role);
  out.claims.issued_ms = GetInt64(std::string_view(bytes).substr(5, 8));
  out.claims.expires_ms = GetInt64(std::string_view(bytes).substr(13, 8));
  out.claims.device_id = ToHex(AsBytes(std::string_view(bytes).substr(21, kDeviceIdBytes)));
  const std::size_t vault_size = static_cast<std::uint8_t>(bytes[kTokenFixedBytes - 1]);
  if (bytes.size() != kTokenFixedBytes + vault_size + kTagBytes) {
    return AuthError("the access token's length does not match its vault name");
  }
  out.claims.vault = bytes.substr(kTokenFixedBytes, vault_size);
  const bool admin = out.claims.role == Role::kAdmin;
  if (!IsValidVaultName(out.claims.vault) && !(admin && out.claims.vault == kAdminScope)) {
    return AuthError("the access token names an invalid vault");
  }
  const std::int64_t max_lifetime = admin ? kMaxAdminTokenLifetimeMs : kMaxTokenLifetimeMs;
  if (out.claims.issued_ms < 0 || out.claims.expires_ms <= out.claims.issued_ms ||
      out.claims.expires_ms - out.claims.issued_ms > max_lifetime) {
    return AuthError("the access token's lifetime is out of bounds");
  }
  out.signed_bytes = bytes.substr(0, bytes.size() - kTagBytes);
  std::copy_n(bytes.end() - kTagBytes, kTagBytes, out.tag.begin());
  return out;
}

Result<TokenClaims> VerifyToken(std::string_view text, const SecretKey& key, std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(DecodedToken decoded, DecodeToken(text));
  if (!VerifyMac(key, AsBytes(decoded.signed_bytes), decoded.tag)) {
    return AuthError("the access token was not issued by a hub of this store (forged or altered)");
  }
  if (now_ms >= decoded.claims.expires_ms) {
    return AuthError("the access token expired; get a new one")
        .With("expired_ms", std::to_string(decoded.claims.expires_ms));
  }
  return std::move(decoded.claims);
}

std::string EncodeChallenge(const ChallengeClaims& claims, const SecretKey& key) {
  std::string bytes(kChallengeMagic);
  PutInt64(bytes, claims.issued_ms);
  const std::optional<std::vector<std::uint8_t>> device = FromHex(claims.device_id);
  bytes.append(device->begin(), device->end());
  bytes.append(claims.random.begin(), claims.random.end());
  bytes += Tag(key, bytes);
  return ToText(bytes, kChallengeMagic.size());
}

Result<ChallengeClaims> VerifyChallenge(std::string_view text, const SecretKey& key,
                                        std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const std::string bytes, Unhex(text, kChallengeMagic, "the challenge"));
  if (bytes.size() != kChallengeBytes) return AuthError("the challenge has the wrong length");
  const std::string_view view(bytes);
  if (!VerifyMac(key, AsBytes(view.substr(0, kChallengeBytes - kTagBytes)),
                 AsBytes(view.substr(kChallengeBytes - kTagBytes)))) {
    return AuthError("the challenge was not issued by a hub of this store");
  }
  ChallengeClaims out;
  out.issued_ms = GetInt64(view.substr(4, 8));
  out.device_id = ToHex(AsBytes(view.substr(12, kDeviceIdBytes)));
  std::copy_n(view.begin() + 12 + kDeviceIdBytes, 16, out.random.begin());
  if (now_ms - out.issued_ms > kChallengeLifetimeMs || out.issued_ms - now_ms > kMaxClockSkewMs) {
    return AuthError("the challenge expired; ask for a new one");
  }
  return out;
}

}  // namespace hx::hub
