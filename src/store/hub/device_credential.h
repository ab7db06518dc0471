// The device side of hub auth: the device's credential (an Ed25519 key pair
// made on the device, kept in .hx/hub-credential.json with mode 0600, never
// sent anywhere but its public key), enrollment with a one-time code, and
// the TokenSource that trades a signed hub challenge for an access token.
//
// The wire protocol (the hub's side is hub/auth/auth_routes.h; the bytes are
// in docs/FORMAT.md, "Hub auth routes"): JSON POSTs to
//   HubAuthPath(vault, "register")  {"code","name","platform","public_key"}
//                                   -> {"device_id","role"}
//   HubAuthPath(vault, "challenge") {"device_id"} -> {"challenge"}
//   HubAuthPath(vault, "token")     {"challenge","device_id","signature"}
//                                   -> {"expires_ms","issued_ms","role","token"}
// (keys as hex). A refusal is an HTTP status >= 400 whose body is the
// AppError JSON (Error::ToJson); the transport turns it back into the Error.
//
// The device signs ChallengeMessage(vault, device id, challenge); the hub
// checks it against the registered public key.
//
// Thread-safety: DeviceTokenSource is thread-safe; the free functions are
// pure or touch only the files they name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/mutex.h"
#include "crypto/ed25519.h"
#include "crypto/secret.h"
#include "os/env.h"
#include "store/hub/token_source.h"

namespace hx {

// The credential's file name inside the vault's .hx/ folder.
inline constexpr std::string_view kHubCredentialFileName = "hub-credential.json";
// The longest credential file and the longest auth reply read.
inline constexpr std::size_t kMaxHubCredentialBytes = 4096;
inline constexpr std::size_t kMaxHubAuthReplyBytes = 16384;

// "/v1/_auth/<vault>/<action>" ("_auth" is never a vault name).
std::string HubAuthPath(std::string_view vault, std::string_view action);

// The message a device signs to answer `challenge`:
// "hx hub challenge v1\n" + vault + "\n" + device id + "\n" + challenge.
std::string ChallengeMessage(std::string_view vault, std::string_view device_id,
                             std::string_view challenge);

struct DeviceCredential {
  std::string vault;      // the vault's name on the hub
  std::string device_id;  // 32 lowercase hex digits, from the hub
  std::string role;       // "writer" or "reader", as enrolled (informational)
  SecretKey seed;         // the Ed25519 seed; the key pair is derived from it

  Ed25519KeyPair KeyPair() const;
};

// Canonical JSON {"device_id","format":1,"role","seed","vault"} and its
// strict inverse (KC_SYNC_STATE_FAILED, Category::kCorrupt, for a damaged
// file).
std::string EncodeDeviceCredential(const DeviceCredential& credential);
Result<DeviceCredential> DecodeDeviceCredential(std::string_view bytes);

// Reads the credential at `path`: nullopt-like kNotFound if there is none
// (Category::kNotFound); refuses a file that others may read (mode & 077)
// with KC_SYNC_AUTH_FAILED saying to chmod 600 it.
Result<DeviceCredential> ReadDeviceCredential(Env& env, const std::filesystem::path& path);

// How the device reaches a hub's auth routes.
class HubAuthTransport {
 public:
  virtual ~HubAuthTransport() = default;
  // POSTs `body` (JSON) to `path`; the reply's body on a 2xx, else the
  // Error the hub sent (or a transport error).
  virtual Result<std::string> Post(std::string_view path, std::string_view body) = 0;
};

// The Error a hub's non-2xx reply carries: the AppError JSON in `body` if it
// parses, else KC_SYNC_AUTH_FAILED for 401/403, KC_SYNC_NETWORK_FAILED
// (retryable) for 5xx, KC_SYNC_INPUT_INVALID otherwise; details
// {"http_status"}.
Error HubReplyError(long status, std::string_view body);

struct EnrollRequest {
  std::string vault;
  std::string code;
  std::string name;
  std::string platform;
};
// Makes a fresh key pair and registers it with the hub under the code; the
// credential to save (WriteDeviceCredential in the sync layer).
Result<DeviceCredential> EnrollDevice(HubAuthTransport& transport, const EnrollRequest& request);

// A TokenSource for one enrolled device. Token() reuses the cached token
// until 4/5 of its lifetime has passed (by the caller's clock, counted from
// when it was fetched, so clock skew with the hub does not matter), and
// fetches a new one (challenge, sign, token) then or when forced.
// The standard transport: HTTP(S) POSTs to `base_url` ("http://127.0.0.1:8080",
// "https://hub.example:443") through the S3 store's bounded HTTP client;
// `ca_file` (may be empty: the system store) is the CA bundle or pinned
// certificate to trust.
std::shared_ptr<HubAuthTransport> MakeHttpHubAuthTransport(std::string base_url,
                                                           std::string ca_file = "");

class DeviceTokenSource final : public TokenSource {
 public:
  DeviceTokenSource(DeviceCredential credential, std::shared_ptr<HubAuthTransport> transport);

  Result<std::string> Token(std::int64_t now_ms, bool force) override;

  // How many tokens it fetched (for tests).
  int fetches() const;

 private:
  Result<std::string> Fetch(std::int64_t now_ms) HX_REQUIRES(mu_);

  const DeviceCredential credential_;
  const Ed25519KeyPair pair_;
  std::shared_ptr<HubAuthTransport> transport_;
  mutable Mutex mu_;
  std::string token_ HX_GUARDED_BY(mu_);
  std::int64_t refresh_at_ms_ HX_GUARDED_BY(mu_) = 0;
  int fetches_ HX_GUARDED_BY(mu_) = 0;
};

}  // namespace hx
