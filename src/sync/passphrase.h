// Passphrases: asking for one (a person at a prompt may retry), checking one
// given to a device that does not need it, and hx key change-passphrase,
// which re-wraps the vault's master key under a new passphrase.
//
// The master key never changes (docs/FORMAT.md "Key hierarchy"): a new
// passphrase is a new vault.json with a new salt and a new wrapped master
// key, every other field as it was. So every object, snapshot and manifest
// stays readable, a device that cached the key (.hx/key) keeps working
// without asking anything and learns the new vault.json at its next session
// (its copy in the index, which hx sync repair writes back, is replaced);
// a device without the key needs the new passphrase; the old one no longer
// opens the store's vault.json.
//
// Not a revocation: whoever kept the old vault.json and knows the old
// passphrase, or kept a device's cached key, can still read the vault, whose
// master key is the same. Changing the master key itself would re-encrypt
// everything (not in format 1).
//
// Thread-safety: functions are thread-safe; CheckGivenPassphrase keeps a
// small process-wide memo under a mutex (memory only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "crypto/secret.h"
#include "repo/vault.h"
#include "sync/engine.h"

namespace hx {

// The master key of `config`: kNone vaults need no passphrase; for
// kPassphrase ones asks `source` (PassphraseRequest::kOpen, attempt 1, 2,
// ...) and unlocks. While what it gives does not open the wrap
// (KC_SYNC_KEY_MISMATCH) it asks again, kPassphraseTries times in all; when
// the source has no other one (nullopt after the first) the last mismatch
// is returned. No passphrase at the first ask (or no source): `none`.
// Source errors pass through.
Result<SecretKey> UnlockWithPassphrase(const VaultConfig& config, const PassphraseFn& source,
                                       const Error& none);

// For a session opened with this device's cached key: if somebody listens
// (options.warning) and the vault has a passphrase, asks options.passphrase
// for one given anyway (PassphraseRequest::kCheck: a file or the
// environment, never a prompt) and, if it does not open `config`'s wrap,
// warns (KC_SYNC_KEY_MISMATCH, category auth) that it was not used and what
// to do. The operation goes on either way: the cached key, checked against
// the fingerprint, is what opens the vault, and a device must keep working
// after another one changed the passphrase. The verdict for a (wrap,
// passphrase) pair is remembered for the life of the process (the agent
// opens a session per cycle: one Argon2id and one warning, not one each).
void CheckGivenPassphrase(const VaultConfig& config, const SyncOptions& options);

struct ChangePassphraseOptions {
  // The new passphrase (PassphraseRequest::kCreate; a prompt asks twice).
  PassphraseFn new_passphrase;
  // Argon2id cost of the new wrap (tests lower it); 0 = the defaults, as for
  // a new vault (crypto/kdf.h).
  std::uint64_t kdf_opslimit = 0;
  std::uint64_t kdf_memlimit = 0;
  // The source of the new salt (tests pin it). Null: the system CSPRNG.
  std::function<void(std::span<std::uint8_t>)> random;
};

struct ChangePassphraseReport {
  std::string vault_path;
  std::string target;
  std::string vault_id;
  std::string key_fingerprint;  // unchanged: the same master key
  std::uint64_t kdf_opslimit = 0;
  std::uint64_t kdf_memlimit = 0;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// hx key change-passphrase: opens the store's vault.json (the vault must be
// this folder's), unlocks it with the current passphrase from
// options.passphrase (kOpen, with retries as UnlockWithPassphrase; the
// cached key alone is not enough: the change needs the passphrase it
// replaces), asks change.new_passphrase, re-wraps the master key
// (RewrapVaultConfig) and replaces vault.json under the store's write lock
// with PutIfMatch against the version read first. Nothing is written before
// the PutIfMatch, so every failure leaves the store as it was:
//   - a vault.json changed since it was read (another device changed the
//     passphrase meanwhile): KC_SYNC_STATE_FAILED, category aborted, "run
//     again with the passphrase now in force" — never two wraps;
//   - no new passphrase, an empty one or the current one again:
//     KC_SYNC_INPUT_INVALID; an unencrypted vault: KC_SYNC_INPUT_INVALID;
//   - the current passphrase missing or wrong: KC_SYNC_KEY_MISMATCH;
//   - the write lock held by another device: KC_SYNC_LOCKED.
// Afterwards this device's copy of vault.json (index) is the new one and its
// key is cached. options.now_ms dates the lock.
Result<ChangePassphraseReport> SyncChangePassphrase(const std::filesystem::path& vault,
                                                    const SyncOptions& options,
                                                    const ChangePassphraseOptions& change);

}  // namespace hx
