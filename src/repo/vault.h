// vault.json: the one plaintext record that says what a store holds, and how
// a device unlocks it.
//
// Written at init with PutIfAbsent. Rewritten only by a passphrase change
// (RewrapVaultConfig: the same master key under a new passphrase, new salt;
// every other field, the fingerprint included, stays), with PutIfMatch
// against the version read (sync/passphrase.h). Canonical JSON, for example:
//
//   {"chunker":{"avg_size":1048576,"max_size":4194304,"min_size":262144,
//    "normalization_level":2},"created_ms":1700000000000,
//    "encryption":"passphrase","format":"hx-vault","format_version":1,
//    "kdf":{"algorithm":"argon2id13","memlimit":67108864,"opslimit":3,
//    "salt":"<32 hex>"},"key_fingerprint":"<64 hex>","vault_id":"<32 hex>",
//    "wrapped_master_key":"<144 hex>"}
//
// "wrapped_master_key" is crypto/keys.h WrapMasterKey(KEK, master, ad) with
// the KEK from Argon2id(passphrase, kdf) and ad = the vault_id's 32 ASCII
// characters. With "encryption":"none" there is no "kdf" and no
// "wrapped_master_key" but "master_key":"<64 hex>" in the clear: the objects
// keep exactly the same authenticated format, but anyone who can read the
// store can read the vault (for stores the user alone can read, and tests).
//
// Unlocking: a device that inits against a store that already has a vault
// joins it (InitOrJoinVault): with the right passphrase it gets the same
// master key; with a wrong one KC_SYNC_KEY_MISMATCH before anything is
// written. The master key's public fingerprint is checked after unwrapping.
//
// Thread-safety: functions are thread-safe; values are not shared.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "chunk/fastcdc.h"
#include "crypto/kdf.h"
#include "crypto/secret.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kVaultConfigKey = "vault.json";
inline constexpr std::string_view kVaultFormat = "hx-vault";
inline constexpr int kVaultFormatVersion = 1;
// vault.json is a few hundred bytes; anything above this is not ours.
inline constexpr std::uint64_t kMaxVaultConfigBytes = 64 << 10;

enum class VaultEncryption { kPassphrase, kNone };
// "passphrase", "none".
std::string_view ToString(VaultEncryption encryption);

// The parsed vault.json. Move-only (it may hold a clear master key).
struct VaultConfig {
  std::string vault_id;  // 32 lowercase hex
  std::int64_t created_ms = 0;
  ChunkerOptions chunker;
  VaultEncryption encryption = VaultEncryption::kPassphrase;
  // kPassphrase only: the KDF parameters and the wrapped master key
  // (kWrappedMasterKeySize bytes).
  std::optional<KdfParams> kdf;
  std::vector<std::uint8_t> wrapped_master_key;
  // kNone only: the master key itself.
  std::optional<SecretKey> clear_master_key;
  std::string key_fingerprint;  // 64 lowercase hex
};

// Fills the span with random bytes (crypto/secret.h RandomBytes in
// production; tests inject a fixed sequence for golden bytes).
using RandomFn = std::function<void(std::span<std::uint8_t>)>;

struct VaultCreateOptions {
  // The passphrase; nullopt creates an unencrypted vault ("none", see above).
  // An empty passphrase is refused: ask for none explicitly.
  std::optional<std::string_view> passphrase;
  // Argon2id cost; the salt is drawn from `random` (the salt given here is
  // ignored). Defaults: crypto/kdf.h.
  KdfParams kdf;
  ChunkerOptions chunker;
  std::int64_t created_ms = 0;  // now_ms of the init
};

struct NewVault {
  VaultConfig config;
  SecretKey master;
};

// Makes a new vault's config and master key. `random` is called exactly
// three times, in this order: 16 bytes of vault id, 32 bytes of master key,
// 16 bytes of KDF salt (the salt even for "none", to keep the order fixed).
// Fails with KC_SYNC_INPUT_INVALID for an empty passphrase, invalid chunker
// options, KDF parameters outside crypto/kdf.h's limits, or a negative
// created_ms; with the KDF's errors otherwise.
Result<NewVault> CreateVaultConfig(const VaultCreateOptions& options,
                                   const RandomFn& random = RandomBytes);

// The canonical JSON bytes of `config` (the layout above). Fails
// (KC_SYNC_INTERNAL) only for a config that ParseVaultConfig would refuse.
Result<std::string> EncodeVaultConfig(const VaultConfig& config);
// Strict parsing of untrusted vault.json bytes. `target` names the store in
// messages. Failures, all KC_SYNC_STATE_FAILED:
//   - "format" is not "hx-vault", the bytes are not canonical JSON, a field
//     is missing, unknown or invalid (e.g. KDF parameters outside
//     crypto/kdf.h's limits, chunker options invalid): Category::kCorrupt;
//   - "format_version" above 1: Category::kUnsupported, "made by a newer hx"
//     (checked before any other field, so a newer layout is never misread).
Result<VaultConfig> ParseVaultConfig(std::string_view bytes, std::string_view target = "the store");

// Writes vault.json with PutIfAbsent. If one exists already: Category
// kAborted, KC_SYNC_STATE_FAILED, "a vault already exists at <target>" (use
// InitOrJoinVault to join it instead). Store errors pass through.
Status WriteVaultConfig(Store& store, const VaultConfig& config);

// Reads and parses vault.json. Missing: KC_SYNC_STATE_FAILED,
// Category::kNotFound, "no vault at <target>: run hx sync init". Otherwise
// ParseVaultConfig's errors and store errors.
Result<VaultConfig> ReadVaultConfig(Store& store);

// The master key of `config`:
//   - kPassphrase: derives the KEK (Argon2id, ~0.2 s at the defaults) and
//     unwraps. A wrong passphrase: KC_SYNC_KEY_MISMATCH, Category::kAuth. No
//     passphrase given: KC_SYNC_KEY_MISMATCH, kAuth, "protected by a
//     passphrase".
//   - kNone: the clear key; a passphrase given anyway is refused
//     (KC_SYNC_KEY_MISMATCH, kAuth, "not encrypted"), so a user who asked for
//     encryption never silently joins an unencrypted vault.
// Either way the key's fingerprint must match key_fingerprint, else
// KC_SYNC_KEY_MISMATCH, kAuth.
Result<SecretKey> UnlockVault(const VaultConfig& config,
                              std::optional<std::string_view> passphrase);

struct OpenedVault {
  VaultConfig config;
  SecretKey master;
  bool created = false;  // true: this call made the vault; false: joined it
};

// The config of `config`'s vault with `master` (which must match its
// fingerprint) wrapped under `passphrase`: a fresh salt from `random` (16
// bytes, its only call) and `kdf`'s cost (its salt is ignored); every other
// field is copied. For hx key change-passphrase. Fails with
// KC_SYNC_INPUT_INVALID for an unencrypted vault (there is no wrap to
// replace), an empty passphrase or KDF parameters outside crypto/kdf.h's
// limits; KC_SYNC_KEY_MISMATCH (auth) for a key that is not the vault's.
Result<VaultConfig> RewrapVaultConfig(const VaultConfig& config, const SecretKey& master,
                                      std::string_view passphrase, const KdfParams& kdf,
                                      const RandomFn& random = RandomBytes);

// hx sync init: joins the vault at `store` if there is one (UnlockVault with
// options.passphrase; the other options are then ignored, the vault's own
// chunker and KDF settings win), else creates it (CreateVaultConfig +
// WriteVaultConfig). A creator that loses the PutIfAbsent race to another
// device joins the winner's vault. Nothing is written unless a vault is
// created; a wrong passphrase fails before anything is written.
Result<OpenedVault> InitOrJoinVault(Store& store, const VaultCreateOptions& options,
                                    const RandomFn& random = RandomBytes);

// The context every object reader/writer uses. Fails with
// KC_SYNC_KEY_MISMATCH (Category::kAuth) if `master` does not match the
// config's fingerprint (e.g. a device's saved key against a vault that was
// re-created at the same target).
Result<VaultContext> MakeVaultContext(const VaultConfig& config, const SecretKey& master);

// The vault's chunker: its options with the gear table keyed by keys.chunker
// (chunk/gear_table.h FromKey). The options were validated when the config
// was parsed, so this fails only for a hand-made context.
Result<FastCdc> MakeVaultChunker(const VaultContext& context);

}  // namespace hx
