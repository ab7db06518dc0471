// Shared fixtures of the meta tests and fuzz target: a vault context with
// fixed keys, so that golden tests can pin bytes.
//
// Thread-safety: values only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "repo/vault_context.h"

namespace hx::meta_testing {

// The vault id of TestContext().
inline constexpr std::string_view kTestVaultId = "00112233445566778899aabbccddeeff";
inline constexpr std::string_view kOtherVaultId = "ffeeddccbbaa99887766554433221100";
inline constexpr std::string_view kNodeA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
inline constexpr std::string_view kNodeB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

// A context whose master key is the bytes first, first+1, ..., first+31 and
// whose vault id is `vault_id` (32 lowercase hex).
VaultContext TestContext(std::uint8_t first = 0, std::string_view vault_id = kTestVaultId);

}  // namespace hx::meta_testing
