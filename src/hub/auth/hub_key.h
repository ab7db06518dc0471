// The hub's token master key, kept outside the backing store (`hx serve
// --key-file F` or HX_HUB_KEY). Without it, each vault's token key lies in
// the store (_hub/<vault>/token-key.json, docs/FORMAT.md), so whoever can read
// the backing store (a bucket's readers, a backup of it) can mint access
// tokens for any device of that vault, as any role. With it, the hub derives
// each vault's token key from the master key and never reads or writes
// token-key.json: reading the store is then not enough to mint a token.
// Every hub over one store must be given the same master key (tokens of one
// are verified by the others); changing it invalidates the tokens in use,
// which the devices replace on their next request (a 401 makes them log in
// again).
//
// Key text: 64 lowercase hex digits (32 bytes from a CSPRNG, e.g. `openssl
// rand -hex 32`), optionally followed by one newline; nothing else. The file
// must not be readable by group or others (mode & 077 == 0).
//
// Errors: a malformed key, or a file that cannot be read or is too open, is
// KC_SYNC_INPUT_INVALID (Category::kInvalidInput) naming where it came from.
// Thread-safety: pure functions (LoadHubMasterKey reads one file).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/secret.h"

namespace hx::hub {

// The environment variable that may hold the key text.
inline constexpr std::string_view kHubKeyEnv = "HX_HUB_KEY";

// Parses the key text (above); `where` names its source in errors.
Result<SecretKey> ParseHubMasterKey(std::string_view text, std::string_view where);

// The master key from `key_file` if not empty, else from `env_value` (the
// value of HX_HUB_KEY; null or empty: none). Null when neither is given.
Result<std::shared_ptr<const SecretKey>> LoadHubMasterKey(const std::string& key_file,
                                                          const char* env_value);

// The token key of `vault` under `master`: BLAKE3 derive_key with the
// context "hx hub token key v1" over master || vault.
SecretKey DeriveVaultTokenKey(const SecretKey& master, std::string_view vault);

}  // namespace hx::hub
