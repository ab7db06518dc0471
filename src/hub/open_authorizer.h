// The loopback-only test mode of the hub's authorization (`hx serve
// --insecure-no-auth`): every request is let through as an admin of the
// vault it names. Start refuses it on any address but loopback, so it can
// only serve tests and a single user's own machine. The real authorizer
// (signed device tokens) is hub/auth/'s.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "hub/auth/authorizer.h"

namespace hx::hub {

class OpenAuthorizer final : public Authorizer {
 public:
  Result<Principal> Authenticate(std::string_view vault, std::string_view /*bearer*/,
                                 std::int64_t now_ms) override {
    return Principal{std::string(vault), "loopback-test", Role::kAdmin, now_ms + 15 * 60 * 1000};
  }
};

}  // namespace hx::hub
