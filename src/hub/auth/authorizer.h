// The hub's authorization seam: who is asking, for which vault, with which
// role. The hub server (hub/server.h) asks the Authorizer about every request
// that names a vault, before anything reaches the backing store; the auth
// library (hub/auth/, enrollment codes, device credentials, signed
// short-lived tokens, revocation) implements it. The server enforces the
// role it returns: a kReader may read and wait on the feed, a kWriter may
// also write and delete, a kAdmin may also use the administrative routes.
//
// Contract of Authenticate: verifies the bearer token of a request for
// `vault` at `now_ms` (ms since the epoch) and returns the principal it
// names; fails with KC_SYNC_AUTH_FAILED (Category::kAuth) when the token is
// missing, forged, altered, expired, revoked or for another vault, with a
// message that says what to do (enroll the device, refresh the token, ask an
// administrator). The message never repeats the token.
//
// Thread-safety: implementations are thread-safe; the server calls
// Authenticate from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hx::hub {

enum class Role { kReader, kWriter, kAdmin };

struct Principal {
  std::string vault;
  std::string device_id;
  Role role = Role::kReader;
  // When the token that proved it expires (ms since the epoch).
  std::int64_t expires_ms = 0;
};

// Verifies the bearer token of a request for `vault` at `now_ms`; KC_SYNC_AUTH_FAILED (missing, forged,
// altered, expired, revoked, wrong vault) with a message that says what to do.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Result<Principal> Authenticate(std::string_view vault, std::string_view bearer,
                                         std::int64_t now_ms) = 0;
};

// True if a principal with role `have` may do what needs `need` (admin >
// writer > reader).
inline bool RoleAllows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace hx::hub
