// Where the hub client (store/hub/hub_store.h) gets the bearer token it sends
// with every request to a hub: the auth library's device credential
// exchanges a signed challenge for a short-lived token and refreshes it
// before expiry. The client asks once per request; after a 401 it asks once
// more with force = true and retries the request once.
//
// Contract of Token: a bearer token valid at `now_ms` (ms since the epoch),
// refreshed before expiry; `force`: the hub refused the last one (401), so a
// cached token must not be returned again. Errors: KC_SYNC_AUTH_FAILED when
// no token can be had (the device is not enrolled, its credential was
// revoked), transport errors of the exchange as they are.
//
// Thread-safety: implementations are thread-safe (the store is called from
// many threads).
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace hx {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A bearer token valid at now_ms (refreshed before expiry); force: the hub refused the last one (401).
  virtual Result<std::string> Token(std::int64_t now_ms, bool force) = 0;
};

}  // namespace hx
