// The vault key hierarchy.
//
//   passphrase --Argon2id(KdfParams)--> KEK (key-encryption key, kdf.h)
//   KEK --wraps--> master key (32 random bytes, made once per vault)
//   master key --BLAKE3 derive_key(context)--> one subkey per purpose
//   master key --BLAKE3 derive_key(fingerprint context)--> key fingerprint
//
// Wrapped master key layout (72 bytes, stored in vault.json):
//   the aead.h sealed layout, nonce(24) || encrypted master key(32) || tag(16),
//   sealed under the KEK with associated data
//     EncodeAssociatedData({"hx wrapped master key v1", <caller's ad>})
//   (the caller passes the vault id), and a synthetic nonce keyed by
//   derive_key("hx 2026-11 wrap nonce v1", KEK), so wrapping is
//   deterministic: the same passphrase, salt and master key give the same
//   bytes (golden tests can pin a vault.json).
//
// Subkey contexts (BLAKE3 derive_key context strings; stable forever, a new
// purpose gets a new string, a change of meaning gets "v2"):
//   kContent   "hx 2026-11 subkey content v1"    AEAD key of objects
//   kIds       "hx 2026-11 subkey ids v1"        keyed BLAKE3 of object ids
//   kMac       "hx 2026-11 subkey mac v1"        head.json MAC
//   kNonce     "hx 2026-11 subkey nonce v1"      synthetic AEAD nonces
//   kChunker   "hx 2026-11 subkey chunker v1"    seed of the chunker's gear table
//   kManifest  "hx 2026-11 subkey manifest v1"   AEAD key of device manifests
// Fingerprint context: "hx 2026-11 key fingerprint v1"; the fingerprint is the
// 32-byte output as 64 lowercase hex digits. It is public (safe to show, log
// and store in vault.json and in a device's local state): derive_key is a
// PRF, so it says nothing about the key except whether a candidate key is the
// same one, which is how a key mismatch is detected before anything is
// touched.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "crypto/secret.h"

namespace hx {

enum class KeyPurpose { kContent, kIds, kMac, kNonce, kChunker, kManifest };
inline constexpr KeyPurpose kAllKeyPurposes[] = {KeyPurpose::kContent, KeyPurpose::kIds,
                                                 KeyPurpose::kMac,     KeyPurpose::kNonce,
                                                 KeyPurpose::kChunker, KeyPurpose::kManifest};

// The derive_key context string of `purpose` (listed above).
std::string_view SubkeyContext(KeyPurpose purpose);

// A new random master key.
SecretKey NewMasterKey();

// The subkey for `purpose`.
SecretKey DeriveSubkey(const SecretKey& master, KeyPurpose purpose);

// Every subkey of a vault, derived once when the vault is opened.
struct VaultKeys {
  SecretKey content;
  SecretKey ids;
  SecretKey mac;
  SecretKey nonce;
  SecretKey chunker;
  SecretKey manifest;

  static VaultKeys Derive(const SecretKey& master);
};

inline constexpr std::size_t kWrappedMasterKeySize = 72;

// Wraps `master` under `kek`, binding `ad` (the vault id). Deterministic.
std::vector<std::uint8_t> WrapMasterKey(const SecretKey& kek, const SecretKey& master,
                                        std::span<const std::uint8_t> ad);

// Unwraps a master key. Failures:
//   - `wrapped` is not kWrappedMasterKeySize bytes: SyncCode::kStateFailed,
//     Category::kCorrupt (the record is damaged, not the passphrase wrong);
//   - it does not authenticate: SyncCode::kKeyMismatch, Category::kAuth,
//     "the passphrase does not open this vault". (A wrong passphrase, a
//     wrapped key from another vault, and a tampered wrapped key cannot be
//     told apart; the first is by far the most likely.)
Result<SecretKey> UnwrapMasterKey(const SecretKey& kek, std::span<const std::uint8_t> wrapped,
                                  std::span<const std::uint8_t> ad);

inline constexpr std::string_view kWrongPassphraseMessage = "the passphrase does not open this vault";

// The public fingerprint of a master key: 64 lowercase hex digits.
std::string KeyFingerprint(const SecretKey& master);
// Whether `fingerprint` is the fingerprint of `master` (constant time).
bool FingerprintMatches(const SecretKey& master, std::string_view fingerprint);

// MAC: keyed BLAKE3 of `data` under `mac_key` (32-byte tag).
using MacTag = std::array<std::uint8_t, 32>;
MacTag ComputeMac(const SecretKey& mac_key, std::span<const std::uint8_t> data);
// Whether `tag` is the MAC of `data` (constant time; a tag of another length
// is simply unequal).
bool VerifyMac(const SecretKey& mac_key, std::span<const std::uint8_t> data,
               std::span<const std::uint8_t> tag);

}  // namespace hx
