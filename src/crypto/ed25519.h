// Ed25519 signatures (libsodium's crypto_sign): a device's credential with a
// hub. The device makes its key pair, keeps the secret key in its .hx/
// folder, and gives the hub only the public key; a hub checks the device's
// signature over a challenge it issued (hub/auth/hub_auth.h).
//
// Thread-safety: pure functions (EnsureSodium is called inside).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "crypto/secret.h"

namespace hx {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SecretKeySize = 64;  // seed || public key
inline constexpr std::size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

struct Ed25519KeyPair {
  Ed25519PublicKey public_key{};
  SecretBytes secret_key;  // kEd25519SecretKeySize bytes
};

// A fresh key pair from the OS CSPRNG.
Ed25519KeyPair NewEd25519KeyPair();
// The key pair of a 32-byte seed (deterministic; for tests and for loading
// a stored seed).
Ed25519KeyPair Ed25519KeyPairFromSeed(std::span<const std::uint8_t, 32> seed);

// The detached signature of `message`. Precondition: secret_key has
// kEd25519SecretKeySize bytes.
Ed25519Signature Ed25519Sign(const SecretBytes& secret_key, std::span<const std::uint8_t> message);
// Whether `signature` is a valid signature of `message` by `public_key`
// (a signature of the wrong length is simply invalid).
bool Ed25519Verify(const Ed25519PublicKey& public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature);

}  // namespace hx
