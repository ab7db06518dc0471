#include "hub/auth/hub_auth.h"

#include <algorithm>
#include <array>
#include <utility>

#include "base/hex.h"
#include "hash/blake3.h"
#include "hub/auth/hub_key.h"
#include "hub/auth/records.h"

namespace hx::hub {
namespace {

// How often a lost compare-and-swap is retried before giving up (each loss
// means another hub or command changed the record in between).
constexpr int kMaxCasAttempts = 16;
constexpr std::string_view kCodePrefix = "hxe1-";

Error AuthError(std::string message) {
  return Error(SyncCode::kAuthFailed, Category::kAuth, std::move(message));
}

std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Status CheckVault(std::string_view vault) {
  if (!IsValidVaultName(vault)) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "a vault name on a hub is 1 to 63 characters of a-z, 0-9 and '-' (not "
                        "first)")
        .With("vault", std::string(vault));
  }
  return {};
}

Status CheckDeviceId(std::string_view device_id) {
  if (!IsValidDeviceId(device_id)) {
    return AuthError("the device id is not 32 lowercase hex digits; enroll the device again");
  }
  return {};
}

std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  RandomBytes(raw);
  return ToHex(raw);
}

std::string CodeKey(std::string_view vault, std::string_view code) {
  return HubKey(vault, "enroll/" + Blake3Hex(code) + ".json");
}

std::string DeviceKey(std::string_view vault, std::string_view device_id) {
  return HubKey(vault, "devices/" + std::string(device_id) + ".json");
}

std::string RevokedKey(std::string_view vault, std::string_view device_id) {
  return HubKey(vault, "revoked/" + std::string(device_id) + ".json");
}

// A used challenge's claim: its issue time first (zero-padded, so the
// names sort by age and the pruner reads the age from the name), then its
// random id.
constexpr std::string_view kChallengesDir = "challenges/";
constexpr std::size_t kIssuedDigits = 16;

std::string UsedChallengeKey(std::string_view vault, const ChallengeClaims& claims) {
  std::string issued = std::to_string(std::max<std::int64_t>(claims.issued_ms, 0));
  issued.insert(0, kIssuedDigits - std::min(kIssuedDigits, issued.size()), '0');
  return HubKey(vault, std::string(kChallengesDir) + issued + "-" + ToHex(claims.random) +
                           ".json");
}

// The issue time in a claim's key, or nullopt for a name hx did not write.
std::optional<std::int64_t> UsedChallengeIssuedMs(std::string_view vault, std::string_view key) {
  const std::string prefix = HubKey(vault, kChallengesDir);
  if (!key.starts_with(prefix) || key.size() < prefix.size() + kIssuedDigits) return std::nullopt;
  std::int64_t ms = 0;
  for (const char c : key.substr(prefix.size(), kIssuedDigits)) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

std::string CacheKey(std::string_view vault, std::string_view device_id) {
  return std::string(vault) + "/" + std::string(device_id);
}

std::string AsString(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

std::string HubKey(std::string_view vault, std::string_view name) {
  return "_hub/" + std::string(vault) + "/" + std::string(name);
}

HubAuth::HubAuth(Store& store, HubAuthOptions options,
                 std::shared_ptr<const SecretKey> token_master_key)
    : store_(store), options_(options), token_master_key_(std::move(token_master_key)) {}

Result<SecretKey> HubAuth::TokenKey(std::string_view vault, bool create) {
  if (token_master_key_) return DeriveVaultTokenKey(*token_master_key_, vault);
  {
    MutexLock lock(mu_);
    auto it = token_keys_.find(vault);
    if (it != token_keys_.end()) return it->second.Clone();
  }
  const std::string key_name = HubKey(vault, "token-key.json");
  Result<Bytes> bytes = store_.Get(key_name, kMaxHubRecordBytes);
  if (!bytes.ok() && bytes.error().category == Category::kNotFound && !create) {
    return AuthError("no device was ever enrolled with vault " + std::string(vault) +
                     " on this hub's store; make an enrollment code ('hx serve enroll')");
  }
  if (!bytes.ok() && bytes.error().category == Category::kNotFound) {
    // The first hub to need the key makes it; a hub that loses the race
    // reads the winner's.
    SecretKey fresh = SecretKey::Random();
    const std::string text = EncodeTokenKey(fresh);
    Result<StoreVersion> created = store_.PutIfAbsent(key_name, AsBytes(text));
    if (!created.ok() && created.error().category != Category::kAborted) return created.error();
    bytes = store_.Get(key_name, kMaxHubRecordBytes);
  }
  if (!bytes.ok()) return bytes.error();
  HX_ASSIGN_OR_RETURN(SecretKey key, DecodeTokenKey(AsString(*bytes), key_name));
  MutexLock lock(mu_);
  auto [it, inserted] = token_keys_.try_emplace(std::string(vault), std::move(key));
  return it->second.Clone();
}

Result<Enrollment> HubAuth::CreateEnrollment(std::string_view vault, Role role,
                                             std::int64_t lifetime_ms, std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  if (role == Role::kAdmin) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "an enrollment code gives the role writer or reader, not admin");
  }
  if (lifetime_ms <= 0 || lifetime_ms > kMaxEnrollmentLifetimeMs) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "an enrollment code's lifetime must be between 1 ms and 30 days");
  }
  // Make sure the vault's token key exists before any device needs it.
  HX_RETURN_IF_ERROR(TokenKey(vault, /*create=*/true));
  Enrollment out;
  out.code = std::string(kCodePrefix) + RandomHex(16);
  out.role = role;
  out.expires_ms = now_ms + lifetime_ms;
  EnrollmentRecord record;
  record.role = role;
  record.created_ms = now_ms;
  record.expires_ms = out.expires_ms;
  const std::string text = EncodeEnrollment(record);
  HX_RETURN_IF_ERROR(store_.PutIfAbsent(CodeKey(vault, out.code), AsBytes(text)));
  return out;
}

Result<DeviceRecord> HubAuth::Register(std::string_view vault, const RegisterRequest& request,
                                       std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  HX_RETURN_IF_ERROR(CheckLabel(request.name, kMaxDeviceNameBytes, "the device name"));
  HX_RETURN_IF_ERROR(CheckLabel(request.platform, kMaxPlatformBytes, "the platform"));
  if (request.code.size() != kCodePrefix.size() + 32 ||
      request.code.substr(0, kCodePrefix.size()) != kCodePrefix ||
      !IsLowerHex(std::string_view(request.code).substr(kCodePrefix.size()), 32)) {
    return AuthError("the enrollment code is not of the form hxe1-<32 hex digits>; copy it "
                     "again from 'hx serve enroll'");
  }
  DeviceRecord device;
  device.device_id = RandomHex(kDeviceIdBytes);
  device.name = request.name;
  device.platform = request.platform;
  device.public_key = request.public_key;
  device.created_ms = now_ms;
  device.last_seen_ms = now_ms;

  MutexLock write_lock(write_mu_);
  const std::string code_key = CodeKey(vault, request.code);
  for (int attempt = 0;; ++attempt) {
    Result<std::pair<Bytes, StoreVersion>> read = store_.GetVersioned(code_key, kMaxHubRecordBytes);
    if (!read.ok() && read.error().category == Category::kNotFound) {
      return AuthError("the enrollment code is not known to this hub for vault " +
                       std::string(vault) + "; ask for a new one ('hx serve enroll')");
    }
    if (!read.ok()) return read.error();
    HX_ASSIGN_OR_RETURN(EnrollmentRecord record, DecodeEnrollment(AsString(read->first), code_key));
    if (!record.used_by.empty()) {
      return AuthError("the enrollment code was already used; a code registers one device only, "
                       "ask for a new one ('hx serve enroll')");
    }
    if (now_ms >= record.expires_ms) {
      return AuthError("the enrollment code expired; ask for a new one ('hx serve enroll')");
    }
    record.used_by = device.device_id;
    record.used_ms = now_ms;
    device.role = record.role;
    const std::string text = EncodeEnrollment(record);
    Result<StoreVersion> claimed = store_.PutIfMatch(code_key, AsBytes(text), read->second);
    if (claimed.ok()) break;
    if (claimed.error().category != Category::kAborted || attempt + 1 >= kMaxCasAttempts) {
      return claimed.error();
    }
  }
  // The code is ours: a crash from here on burns it (the administrator
  // makes another), it never registers two devices.
  const std::string text = EncodeDevice(device);
  HX_RETURN_IF_ERROR(store_.PutIfAbsent(DeviceKey(vault, device.device_id), AsBytes(text)));
  return device;
}

Result<std::pair<DeviceRecord, StoreVersion>> HubAuth::ReadDevice(std::string_view vault,
                                                                 std::string_view device_id) {
  HX_RETURN_IF_ERROR(CheckDeviceId(device_id));
  const std::string key = DeviceKey(vault, device_id);
  Result<std::pair<Bytes, StoreVersion>> read = store_.GetVersioned(key, kMaxHubRecordBytes);
  if (!read.ok() && read.error().category == Category::kNotFound) {
    return AuthError("device " + std::string(device_id) + " is not registered with vault " +
                     std::string(vault) + "; enroll it ('hx sync init ... --enroll CODE')");
  }
  if (!read.ok()) return read.error();
  HX_ASSIGN_OR_RETURN(DeviceRecord record, DecodeDevice(AsString(read->first), key));
  if (record.device_id != device_id) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the hub record " + key + " names another device")
        .With("key", key);
  }
  return std::make_pair(std::move(record), std::move(read->second));
}

Result<bool> HubAuth::IsRevoked(std::string_view vault, std::string_view device_id,
                                std::int64_t now_ms, bool fresh) {
  const std::string cache_key = CacheKey(vault, device_id);
  if (!fresh) {
    MutexLock lock(mu_);
    auto it = revocations_.find(cache_key);
    if (it != revocations_.end() &&
        (it->second.revoked || now_ms - it->second.fetched_ms < options_.revocation_cache_ms)) {
      return it->second.revoked;
    }
  }
  HX_ASSIGN_OR_RETURN(const bool revoked, store_.Exists(RevokedKey(vault, device_id)));
  MutexLock lock(mu_);
  CachedRevocation& entry = revocations_[cache_key];
  entry.revoked = entry.revoked || revoked;  // a revocation is never undone
  entry.fetched_ms = now_ms;
  return entry.revoked;
}

template <typename Update>
Status HubAuth::UpdateDevice(std::string_view vault, std::string_view device_id, Update update) {
  MutexLock write_lock(write_mu_);
  for (int attempt = 0;; ++attempt) {
    HX_ASSIGN_OR_RETURN(auto read, ReadDevice(vault, device_id));
    DeviceRecord& record = read.first;
    if (!update(record)) return {};
    const std::string text = EncodeDevice(record);
    Result<StoreVersion> put =
        store_.PutIfMatch(DeviceKey(vault, device_id), AsBytes(text), read.second);
    if (put.ok()) return {};
    if (put.error().category != Category::kAborted || attempt + 1 >= kMaxCasAttempts) {
      return put.error();
    }
  }
}

Result<std::string> HubAuth::IssueChallenge(std::string_view vault, std::string_view device_id,
                                            std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  HX_RETURN_IF_ERROR(ReadDevice(vault, device_id));
  HX_ASSIGN_OR_RETURN(const bool revoked, IsRevoked(vault, device_id, now_ms, /*fresh=*/true));
  if (revoked) {
    return AuthError("device " + std::string(device_id) + " was revoked from vault " +
                     std::string(vault) + "; enroll it again with a new code");
  }
  HX_ASSIGN_OR_RETURN(const SecretKey key, TokenKey(vault, /*create=*/false));
  ChallengeClaims claims;
  claims.device_id = std::string(device_id);
  claims.issued_ms = now_ms;
  RandomBytes(claims.random);
  return EncodeChallenge(claims, key);
}

Result<IssuedToken> HubAuth::ExchangeChallenge(std::string_view vault, std::string_view device_id,
                                               std::string_view challenge,
                                               std::span<const std::uint8_t> signature,
                                               std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  HX_RETURN_IF_ERROR(CheckDeviceId(device_id));
  HX_ASSIGN_OR_RETURN(const SecretKey key, TokenKey(vault, /*create=*/false));
  HX_ASSIGN_OR_RETURN(const ChallengeClaims claims, VerifyChallenge(challenge, key, now_ms));
  if (claims.device_id != device_id) {
    return AuthError("the challenge was issued to another device");
  }
  HX_ASSIGN_OR_RETURN(auto read, ReadDevice(vault, device_id));
  const std::string message = ChallengeMessage(vault, device_id, challenge);
  if (!Ed25519Verify(read.first.public_key, AsBytes(message), signature)) {
    return AuthError("the challenge's signature does not match device " +
                     std::string(device_id) + "'s registered key");
  }
  HX_ASSIGN_OR_RETURN(const bool revoked, IsRevoked(vault, device_id, now_ms, /*fresh=*/true));
  if (revoked) {
    return AuthError("device " + std::string(device_id) + " was revoked from vault " +
                     std::string(vault) + "; enroll it again with a new code");
  }
  HX_RETURN_IF_ERROR(ClaimChallenge(vault, device_id, claims, now_ms));
  // Seen: at most once a minute per device, so token refreshes cost little.
  if (now_ms - read.first.last_seen_ms >= 60'000) {
    HX_RETURN_IF_ERROR(UpdateDevice(vault, device_id, [now_ms](DeviceRecord& record) {
      if (record.last_seen_ms >= now_ms) return false;
      record.last_seen_ms = now_ms;
      return true;
    }));
  }
  return IssueToken(vault, device_id, read.first.role, now_ms);
}

Status HubAuth::ClaimChallenge(std::string_view vault, std::string_view device_id,
                               const ChallengeClaims& claims, std::int64_t now_ms) {
  const std::string text = EncodeUsedChallenge(device_id, now_ms);
  Result<StoreVersion> claimed = store_.PutIfAbsent(UsedChallengeKey(vault, claims), AsBytes(text));
  if (!claimed.ok() && claimed.error().category == Category::kAborted) {
    return AuthError("this challenge was already traded for a token; a challenge is single-use, "
                     "ask the hub for a new one");
  }
  if (!claimed.ok()) return claimed.error();
  PruneUsedChallenges(vault, now_ms);
  return {};
}

void HubAuth::PruneUsedChallenges(std::string_view vault, std::int64_t now_ms) {
  {
    MutexLock lock(mu_);
    auto [it, inserted] = last_prune_ms_.try_emplace(std::string(vault), now_ms);
    if (!inserted && now_ms - it->second < kChallengeLifetimeMs) return;
    it->second = now_ms;
  }
  // A claim matters while some hub would still accept its challenge: for
  // kChallengeLifetimeMs after issue, on a clock up to kMaxClockSkewMs
  // behind; one more skew for the clock of this hub.
  const std::int64_t horizon = now_ms - kChallengeLifetimeMs - 2 * kMaxClockSkewMs;
  Result<std::vector<StoreObjectInfo>> used = store_.List(HubKey(vault, kChallengesDir));
  if (!used.ok()) return;  // the next trade tries again
  for (const StoreObjectInfo& info : *used) {
    const std::optional<std::int64_t> issued = UsedChallengeIssuedMs(vault, info.key);
    if (issued && *issued < horizon) (void)store_.Delete(info.key);
  }
}

Result<IssuedToken> HubAuth::IssueToken(std::string_view vault, std::string_view device_id,
                                        Role role, std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  HX_RETURN_IF_ERROR(CheckDeviceId(device_id));
  HX_ASSIGN_OR_RETURN(const SecretKey key, TokenKey(vault, /*create=*/true));
  const std::int64_t lifetime = std::clamp<std::int64_t>(options_.token_lifetime_ms, 1,
                                                         kMaxTokenLifetimeMs);
  TokenClaims claims{.vault = std::string(vault),
                     .device_id = std::string(device_id),
                     .role = role,
                     .issued_ms = now_ms,
                     .expires_ms = now_ms + lifetime};
  return IssuedToken{.token = EncodeToken(claims, key), .expires_ms = claims.expires_ms,
                     .role = role};
}

Result<std::vector<DeviceRecord>> HubAuth::ListDevices(std::string_view vault) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  std::vector<DeviceRecord> out;
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> devices,
                      store_.List(HubKey(vault, "devices/")));
  for (const StoreObjectInfo& info : devices) {
    HX_ASSIGN_OR_RETURN(const Bytes bytes, store_.Get(info.key, kMaxHubRecordBytes));
    HX_ASSIGN_OR_RETURN(DeviceRecord record, DecodeDevice(AsString(bytes), info.key));
    if (info.key != DeviceKey(vault, record.device_id)) continue;  // a stray file
    out.push_back(std::move(record));
  }
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> revoked,
                      store_.List(HubKey(vault, "revoked/")));
  for (const StoreObjectInfo& info : revoked) {
    for (DeviceRecord& record : out) {
      if (info.key != RevokedKey(vault, record.device_id)) continue;
      HX_ASSIGN_OR_RETURN(const Bytes bytes, store_.Get(info.key, kMaxHubRecordBytes));
      HX_ASSIGN_OR_RETURN(record.revoked_ms, DecodeRevocation(AsString(bytes), info.key));
      record.revoked = true;
    }
  }
  std::sort(out.begin(), out.end(), [](const DeviceRecord& a, const DeviceRecord& b) {
    return std::tie(a.name, a.device_id) < std::tie(b.name, b.device_id);
  });
  return out;
}

Result<DeviceRecord> HubAuth::FindDevice(std::string_view vault, std::string_view id_or_name) {
  HX_ASSIGN_OR_RETURN(std::vector<DeviceRecord> devices, ListDevices(vault));
  std::vector<DeviceRecord*> by_name;
  for (DeviceRecord& record : devices) {
    if (record.device_id == id_or_name) return std::move(record);
    if (record.name == id_or_name) by_name.push_back(&record);
  }
  if (by_name.size() == 1) return std::move(*by_name.front());
  if (by_name.empty()) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 "no device of vault " + std::string(vault) + " has the id or name \"" +
                     std::string(id_or_name) + "\"; see 'hx serve devices'");
  }
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               std::to_string(by_name.size()) + " devices of vault " + std::string(vault) +
                   " are named \"" + std::string(id_or_name) + "\"; name one by its id");
}

Result<DeviceRecord> HubAuth::Revoke(std::string_view vault, std::string_view id_or_name,
                                     std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(DeviceRecord record, FindDevice(vault, id_or_name));
  if (!record.revoked) {
    const std::string text = EncodeRevocation(now_ms);
    Result<StoreVersion> put =
        store_.PutIfAbsent(RevokedKey(vault, record.device_id), AsBytes(text));
    if (!put.ok() && put.error().category != Category::kAborted) return put.error();
    record.revoked = true;
    record.revoked_ms = now_ms;
  }
  MutexLock lock(mu_);
  revocations_[CacheKey(vault, record.device_id)] = {.revoked = true, .fetched_ms = now_ms};
  return record;
}

Status HubAuth::AcknowledgeHead(std::string_view vault, std::string_view device_id,
                                std::string_view head, std::int64_t now_ms) {
  HX_RETURN_IF_ERROR(CheckVault(vault));
  if (head.size() > kMaxHeadBytes) {
    return InvalidInput(SyncCode::kInputInvalid, "the acknowledged head is too long");
  }
  return UpdateDevice(vault, device_id, [&](DeviceRecord& record) {
    if (record.acked_head == head && record.last_seen_ms >= now_ms) return false;
    record.acked_head = std::string(head);
    record.last_seen_ms = std::max(record.last_seen_ms, now_ms);
    return true;
  });
}

Result<IssuedToken> HubAuth::IssueAdminToken(std::int64_t lifetime_ms, std::int64_t now_ms) {
  if (lifetime_ms <= 0 || lifetime_ms > kMaxAdminTokenLifetimeMs) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "an admin token's lifetime must be between 1 ms and 7 days");
  }
  HX_ASSIGN_OR_RETURN(const SecretKey key, TokenKey(kAdminScope, /*create=*/true));
  TokenClaims claims{.vault = std::string(kAdminScope),
                     .device_id = RandomHex(kDeviceIdBytes),
                     .role = Role::kAdmin,
                     .issued_ms = now_ms,
                     .expires_ms = now_ms + lifetime_ms};
  return IssuedToken{.token = EncodeToken(claims, key), .expires_ms = claims.expires_ms,
                     .role = Role::kAdmin};
}

Result<Principal> HubAuth::AuthenticateAdmin(std::string_view bearer, std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const DecodedToken decoded, DecodeToken(bearer));
  if (decoded.claims.vault != kAdminScope || decoded.claims.role != Role::kAdmin) {
    return AuthError("this is a device's token, not an admin token; make one with 'hx serve "
                     "admin-token --store <target>'");
  }
  HX_ASSIGN_OR_RETURN(Principal principal, Authenticate(kAdminScope, bearer, now_ms));
  return principal;
}

Result<std::vector<std::string>> HubAuth::ListVaults(std::size_t max) {
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> keys, store_.List("_hub/"));
  std::vector<std::string> out;
  constexpr std::string_view kSuffix = "/token-key.json";
  for (const StoreObjectInfo& info : keys) {
    std::string_view key = info.key;
    if (!key.starts_with("_hub/") || !key.ends_with(kSuffix)) continue;
    key = key.substr(5, key.size() - 5 - kSuffix.size());
    if (!IsValidVaultName(key)) continue;  // _admin, strays
    out.emplace_back(key);
    if (out.size() >= max) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Principal> HubAuth::Authenticate(std::string_view vault, std::string_view bearer,
                                        std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const DecodedToken decoded, DecodeToken(bearer));
  if (decoded.claims.vault != vault) {
    return AuthError("the access token is for vault " + decoded.claims.vault + ", not " +
                     std::string(vault));
  }
  HX_ASSIGN_OR_RETURN(const SecretKey key, TokenKey(vault, /*create=*/false));
  HX_ASSIGN_OR_RETURN(TokenClaims claims, VerifyToken(bearer, key, now_ms));
  HX_ASSIGN_OR_RETURN(const bool revoked,
                      IsRevoked(vault, claims.device_id, now_ms, /*fresh=*/false));
  if (revoked) {
    return AuthError("device " + claims.device_id + " was revoked from vault " +
                     std::string(vault) + "; enroll it again with a new code");
  }
  return Principal{.vault = std::move(claims.vault),
                   .device_id = std::move(claims.device_id),
                   .role = claims.role,
                   .expires_ms = claims.expires_ms};
}

}  // namespace hx::hub
