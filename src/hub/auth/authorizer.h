// The hub's authorization seam: who is calling, and what they may do.
//
// Every request to a hub route names a vault and carries a bearer token
// (HTTP "Authorization: Bearer <token>"). The server asks an Authorizer who
// the caller is before it touches the vault's store; the Authorizer that
// ships is hub/auth/hub_auth.h (tokens signed by the hub, devices enrolled
// with one-time codes). Tests may plug in their own.
//
// Contract of Authenticate:
//   - ok: the token is genuine, for `vault`, not expired at `now_ms`, and its
//     device is not revoked (as far as the implementation knows: at most one
//     token lifetime stale); the Principal says who and with which role;
//   - a missing, malformed, forged, altered, expired or revoked token, or a
//     token for another vault: KC_SYNC_AUTH_FAILED, Category::kAuth (the
//     server answers 401);
//   - the backing store could not be read: that error (the server answers
//     503 for retryable categories).
// A valid token whose role is too weak for the route is the route's
// decision (403, KC_SYNC_AUTH_FAILED): see RoleAllows.
//
// now_ms is an input (milliseconds since the Unix epoch): no implementation
// reads a clock.
// Thread-safety: implementations are thread-safe (the server calls from
// many connections at once).
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
