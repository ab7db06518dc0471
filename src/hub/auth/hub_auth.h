// The hub's registration and authentication: enrollment codes, the device
// registry, the token key, and the Authorizer that every hub route asks.
//
// All of it lives in the hub's backing store, under the hub's own prefix
// "_hub/<vault>/" (docs/FORMAT.md, "Hub state"), so a hub keeps nothing of
// its own and several hubs over one bucket agree:
//   token-key.json           the vault's 32-byte token key (PutIfAbsent: the
//                            first hub to need it makes it, the others read it);
//                            not used when the hubs have a master key outside
//                            the store (token_master_key, hub_key.h)
//   enroll/<blake3>.json     an enrollment code, stored by the BLAKE3 of its
//                            text (the code itself is never stored); claimed
//                            once by a PutIfMatch that records the device
//   devices/<id>.json        a device: name, platform, role, Ed25519 public
//                            key, created / last seen, last acknowledged head
//   revoked/<id>.json        a revocation (PutIfAbsent: it never races with the
//                            device record's updates, and O_EXCL makes it
//                            atomic even on a folder store)
//   challenges/<issued>-<id>.json
//                            a challenge that was traded for a token
//                            (PutIfAbsent: a challenge is single-use, on
//                            every hub over the store); pruned once older
//                            than a challenge may be
//
// The flow: an administrator makes a one-time code (CreateEnrollment, `hx
// serve enroll`); a device sends it with its public key (Register) and gets
// its device id; it then asks for a challenge (IssueChallenge: a tagged,
// stateless nonce valid kChallengeLifetimeMs), signs it with its secret key
// and trades it for an access token (ExchangeChallenge, token.h; valid
// options.token_lifetime_ms, 15 minutes). The trade claims the challenge's
// id in the store (PutIfAbsent), so a signed challenge seen on the wire or
// in a log cannot be traded again, through this hub or any other. Every request then carries the
// token, which Authenticate checks: the tag, the vault, the expiry and the
// revocation. Revocations are cached per device for at most
// options.revocation_cache_ms (one token lifetime): a revocation made through
// another hub or the CLI takes effect within that; one made through this
// object at once.
//
// Conditional writes: claiming a code and updating a device record are
// PutIfMatch with a bounded retry; within one process they are also
// serialized by a mutex, so a folder store (whose PutIfMatch is not atomic
// across processes) is safe behind one hub. Several hubs need a store with
// atomic compare-and-swap (S3), as StoreCapabilities says.
//
// now_ms is an input everywhere; nothing here reads a clock. Randomness
// (codes, device ids, challenges, the token key) comes from the OS CSPRNG.
//
// Errors: a refused credential (unknown, used or expired code, bad
// signature, revoked device, bad token) is KC_SYNC_AUTH_FAILED,
// Category::kAuth; malformed input (a bad vault or device name, a bad
// public key) KC_SYNC_INPUT_INVALID; a damaged record KC_SYNC_STATE_FAILED,
// Category::kCorrupt; store errors pass through.
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/mutex.h"
#include "crypto/ed25519.h"
#include "crypto/secret.h"
#include "hub/auth/authorizer.h"
#include "hub/auth/token.h"
#include "store/hub/device_credential.h"  // ChallengeMessage
#include "store/store.h"

namespace hx::hub {

struct HubAuthOptions {
  // How long an access token is valid (at most kMaxTokenLifetimeMs). Tests
  // shorten it to see a refresh; the CLI does not expose it.
  std::int64_t token_lifetime_ms = kTokenLifetimeMs;
  // How long a device's "not revoked" answer is trusted before the store is
  // asked again.
  std::int64_t revocation_cache_ms = kTokenLifetimeMs;
};

inline constexpr std::size_t kMaxDeviceNameBytes = 64;
inline constexpr std::size_t kMaxPlatformBytes = 32;
inline constexpr std::size_t kMaxHeadBytes = 128;
// The longest enrollment lifetime `hx serve enroll --expires` accepts.
inline constexpr std::int64_t kMaxEnrollmentLifetimeMs = 30LL * 24 * 3600 * 1000;

struct Enrollment {
  std::string code;  // "hxe1-" + 32 lowercase hex digits; shown once
  Role role = Role::kWriter;
  std::int64_t expires_ms = 0;
};

struct DeviceRecord {
  std::string device_id;
  std::string name;
  std::string platform;
  Role role = Role::kReader;
  Ed25519PublicKey public_key{};
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::string acked_head;  // empty: none yet
  bool revoked = false;    // from revoked/<id>.json
  std::int64_t revoked_ms = 0;
};

struct RegisterRequest {
  std::string code;
  Ed25519PublicKey public_key{};
  std::string name;
  std::string platform;
};

struct IssuedToken {
  std::string token;
  std::int64_t expires_ms = 0;
  Role role = Role::kReader;
};

// Where hub state lives in the backing store (docs/FORMAT.md).
std::string HubKey(std::string_view vault, std::string_view name);

class HubAuth final : public Authorizer {
 public:
  // `store` is the hub's backing store at its root (the keys above are
  // relative to it); it must outlive this object. `token_master_key`: the
  // master key kept outside the store (hub_key.h): each vault's token key is
  // derived from it and token-key.json is neither read nor written; null:
  // the per-vault key in the store.
  explicit HubAuth(Store& store, HubAuthOptions options = {},
                   std::shared_ptr<const SecretKey> token_master_key = nullptr);

  // A new one-time code for `vault` with `role` (reader or writer), valid
  // `lifetime_ms` (1 ms .. kMaxEnrollmentLifetimeMs) from now_ms.
  Result<Enrollment> CreateEnrollment(std::string_view vault, Role role, std::int64_t lifetime_ms,
                                      std::int64_t now_ms);

  // Claims the code and registers the device; its record (with a new device
  // id) on success. An unknown, expired or already used code:
  // KC_SYNC_AUTH_FAILED.
  Result<DeviceRecord> Register(std::string_view vault, const RegisterRequest& request,
                                std::int64_t now_ms);

  // A challenge text for a registered, unrevoked device.
  Result<std::string> IssueChallenge(std::string_view vault, std::string_view device_id,
                                     std::int64_t now_ms);

  // Checks the challenge (this store's, this device's, not expired), the
  // device's signature of ChallengeMessage and the revocation; claims the
  // challenge (a second trade of it, on any hub over the store, is
  // KC_SYNC_AUTH_FAILED); then records the device as seen and returns an
  // access token.
  Result<IssuedToken> ExchangeChallenge(std::string_view vault, std::string_view device_id,
                                        std::string_view challenge,
                                        std::span<const std::uint8_t> signature,
                                        std::int64_t now_ms);

  // A token for `device_id` with `role`, without a challenge: for the hub's
  // own admin sessions and for tests. The caller vouches for the device.
  Result<IssuedToken> IssueToken(std::string_view vault, std::string_view device_id, Role role,
                                 std::int64_t now_ms);

  // Every device of the vault, by name then id.
  Result<std::vector<DeviceRecord>> ListDevices(std::string_view vault);
  // The device whose id or (unique) name is `id_or_name`.
  Result<DeviceRecord> FindDevice(std::string_view vault, std::string_view id_or_name);
  // Revokes the device (idempotent): its tokens stop working at once on this
  // hub and within revocation_cache_ms on the others.
  Result<DeviceRecord> Revoke(std::string_view vault, std::string_view id_or_name,
                              std::int64_t now_ms);
  // Records the head the device last acknowledged (the change feed), and
  // that it was seen.
  Status AcknowledgeHead(std::string_view vault, std::string_view device_id,
                         std::string_view head, std::int64_t now_ms);

  Result<Principal> Authenticate(std::string_view vault, std::string_view bearer,
                                 std::int64_t now_ms) override;

  // A hub-wide admin token (token.h, kAdminScope) valid `lifetime_ms`
  // (1 ms .. kMaxAdminTokenLifetimeMs), with a fresh session id in the device
  // field; the hub-wide key _hub/_admin/token-key.json is made at first need.
  Result<IssuedToken> IssueAdminToken(std::int64_t lifetime_ms, std::int64_t now_ms);
  // Checks an admin token: KC_SYNC_AUTH_FAILED for anything else (a
  // device's token included).
  Result<Principal> AuthenticateAdmin(std::string_view bearer, std::int64_t now_ms);
  // The vaults with hub state (a token key: someone enrolled a device), by
  // name; at most `max` of them.
  Result<std::vector<std::string>> ListVaults(std::size_t max);

  const HubAuthOptions& options() const { return options_; }

 private:
  struct CachedRevocation {
    bool revoked = false;
    std::int64_t fetched_ms = 0;
  };

  // The vault's token key; made (PutIfAbsent) when absent only if `create`,
  // else an absent key is KC_SYNC_AUTH_FAILED (a request for a vault nobody
  // enrolled with writes nothing).
  Result<SecretKey> TokenKey(std::string_view vault, bool create);
  Result<std::pair<DeviceRecord, StoreVersion>> ReadDevice(std::string_view vault,
                                                           std::string_view device_id);
  Result<bool> IsRevoked(std::string_view vault, std::string_view device_id, std::int64_t now_ms,
                         bool fresh);
  // Marks the challenge used (PutIfAbsent of its claim); a claim that exists
  // already is a replay: KC_SYNC_AUTH_FAILED. Then prunes old claims.
  Status ClaimChallenge(std::string_view vault, std::string_view device_id,
                        const ChallengeClaims& claims, std::int64_t now_ms);
  // Deletes the vault's challenge claims no hub can be asked to honour any
  // more (issued before now - kChallengeLifetimeMs - 2 * kMaxClockSkewMs);
  // at most once per kChallengeLifetimeMs per vault and hub; best effort.
  void PruneUsedChallenges(std::string_view vault, std::int64_t now_ms);
  // Applies `update` to the device record with PutIfMatch, retrying lost races.
  template <typename Update>
  Status UpdateDevice(std::string_view vault, std::string_view device_id, Update update);

  Store& store_;
  const HubAuthOptions options_;
  const std::shared_ptr<const SecretKey> token_master_key_;
  Mutex mu_;
  std::map<std::string, SecretKey, std::less<>> token_keys_ HX_GUARDED_BY(mu_);
  std::map<std::string, CachedRevocation, std::less<>> revocations_ HX_GUARDED_BY(mu_);
  std::map<std::string, std::int64_t, std::less<>> last_prune_ms_ HX_GUARDED_BY(mu_);
  // Serializes this process's read-modify-writes of hub records.
  Mutex write_mu_;
};

}  // namespace hx::hub
