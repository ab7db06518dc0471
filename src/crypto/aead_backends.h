// The two XChaCha20-Poly1305-IETF implementations behind aead.h, exposed to
// aead.cc, the tests (which check that they agree byte for byte) and the
// benchmarks. Not for other modules: use aead.h.
//
// Each function works on the "combined" body, ciphertext || 16-byte tag,
// without the nonce prefix, and returns false on failure instead of an
// Error so that aead.cc decides what a failure means. Seal writes exactly
// plaintext.size() + kAeadTagSize bytes to `out`; Open writes exactly
// body.size() - kAeadTagSize bytes and zeroes them again if the tag does not
// verify.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/aead.h"

namespace hx::aead_internal {

bool SodiumSeal(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out);
bool SodiumOpen(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                std::span<const std::uint8_t> body, std::span<std::uint8_t> out);

// Whether OpenSSL provides ChaCha20-Poly1305 in this process (fetched once).
bool OpenSslAvailable();
bool OpenSslSeal(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                 std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out);
bool OpenSslOpen(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                 std::span<const std::uint8_t> body, std::span<std::uint8_t> out);

}  // namespace hx::aead_internal
