// Where a hub client store (hx:// and hxs:// targets) gets the bearer token
// it sends with every request. The device's implementation
// (device_credential.h) proves its enrolled key to the hub and caches the
// token until shortly before it expires; the client calls Token again with
// force = true after a 401, once per request.
//
// now_ms is an input (the caller's clock): no implementation reads a clock.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace hx {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token valid at now_ms; a new one (not the cached one) if `force`.
  virtual Result<std::string> Token(std::int64_t now_ms, bool force) = 0;
};

}  // namespace hx
