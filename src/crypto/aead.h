// Authenticated encryption of hx objects: XChaCha20-Poly1305-IETF.
//
// Sealed layout (every encrypted thing hx stores uses it):
//
//   offset 0   24 bytes   nonce
//   offset 24  n bytes    ciphertext (same length n as the plaintext)
//   offset 24+n 16 bytes  Poly1305 tag
//
// i.e. nonce || libsodium "combined" output; kAeadOverhead = 40 bytes. The
// associated data (AD) is authenticated but not stored: the opener must
// supply the same AD, which is how an object is bound to its vault, kind and
// name (use EncodeAssociatedData so that field boundaries are unambiguous).
//
// Nonces. hx's store bytes must be identical for identical state, so objects
// use a *synthetic* nonce (AeadSealSynthetic): the first 24 bytes of
// keyed BLAKE3 under a dedicated nonce key over
//     le64(len(ad)) || ad || le64(len(plaintext)) || plaintext.
// It is deterministic and misuse-resistant: two seals share a nonce only if
// their (ad, plaintext) pairs are identical, in which case the ciphertexts
// are identical too, so the only thing revealed is that equality. There is
// also a random-nonce seal (a fresh 24-byte nonce is safe to pick at random)
// and an explicit-nonce seal for tests and vectors.
//
// Backends. Two implementations give byte-identical output:
//   - kLibsodium: crypto_aead_xchacha20poly1305_ietf_*;
//   - kOpenSsl: the subkey from libsodium's crypto_core_hchacha20(key,
//     nonce[0..16]), then OpenSSL's EVP ChaCha20-Poly1305 (IETF) with the
//     12-byte nonce 00000000 || nonce[16..24] (draft-irtf-cfrg-xchacha).
// DefaultAeadBackend() is kOpenSsl when OpenSSL provides ChaCha20-Poly1305.
// Measured on the reference machine (2-core EPYC, Release, crypto_bench.cc,
// CPU time): sealing 1 MiB runs at ~4.3 GB/s with OpenSSL (vectorised
// assembly) against ~1.4 GB/s with libsodium 1.0.18 (portable C), 3.1x;
// opening likewise. Below ~1 KiB libsodium is faster by a fixed ~150 ns
// (OpenSSL's context setup), which for 100,000 small objects is ~15 ms, so
// one default for all sizes is kept for simplicity. If OpenSSL fails for any
// reason the call falls back to libsodium (identical bytes).
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "crypto/secret.h"

namespace hx {

inline constexpr std::size_t kAeadNonceSize = 24;
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kAeadOverhead = kAeadNonceSize + kAeadTagSize;

using AeadNonce = std::array<std::uint8_t, kAeadNonceSize>;

enum class AeadBackend { kLibsodium, kOpenSsl };

// "libsodium" or "openssl".
std::string_view ToString(AeadBackend backend);
// Whether this process can use `backend` (kLibsodium always can).
bool AeadBackendAvailable(AeadBackend backend);
// kOpenSsl if available, else kLibsodium (see the header comment for why).
AeadBackend DefaultAeadBackend();

// Seals `plaintext` under `key` and `nonce`, authenticating `ad`. The caller
// guarantees the nonce is never reused with the same key for a different
// (ad, plaintext); prefer AeadSealSynthetic or AeadSealRandom.
std::vector<std::uint8_t> AeadSealWithNonce(const SecretKey& key, const AeadNonce& nonce,
                                            std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> plaintext,
                                            AeadBackend backend = DefaultAeadBackend());

// Seals with a fresh random nonce.
std::vector<std::uint8_t> AeadSealRandom(const SecretKey& key, std::span<const std::uint8_t> ad,
                                         std::span<const std::uint8_t> plaintext,
                                         AeadBackend backend = DefaultAeadBackend());

// The synthetic nonce for (ad, plaintext) under `nonce_key` (see above).
AeadNonce SyntheticNonce(const SecretKey& nonce_key, std::span<const std::uint8_t> ad,
                         std::span<const std::uint8_t> plaintext);

// Seals with SyntheticNonce(nonce_key, ad, plaintext): the same inputs always
// give the same bytes. `nonce_key` must be independent of `key` (hx uses the
// kNonce and kContent subkeys, see keys.h).
std::vector<std::uint8_t> AeadSealSynthetic(const SecretKey& key, const SecretKey& nonce_key,
                                            std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> plaintext,
                                            AeadBackend backend = DefaultAeadBackend());

// Opens a sealed buffer. Fails with SyncCode::kStateFailed and
// Category::kCorrupt (the caller remaps the code to its context) when
// `sealed` is shorter than kAeadOverhead or does not authenticate under
// `key` and `ad`; no plaintext is ever returned or left behind on failure.
Result<std::vector<std::uint8_t>> AeadOpen(const SecretKey& key, std::span<const std::uint8_t> ad,
                                           std::span<const std::uint8_t> sealed,
                                           AeadBackend backend = DefaultAeadBackend());

// The message of AeadOpen's failure, for callers and tests that match it.
inline constexpr std::string_view kAeadOpenFailedMessage =
    "authentication failed: object corrupt, tampered, or from another vault/kind/name";

// An unambiguous byte encoding of a list of fields for use as AD: for each
// field, its length as 8 bytes little endian, then its bytes. ("ab","c") and
// ("a","bc") therefore give different AD.
std::vector<std::uint8_t> EncodeAssociatedData(std::initializer_list<std::string_view> fields);

}  // namespace hx
