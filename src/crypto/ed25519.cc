#include "crypto/ed25519.h"

#include <sodium.h>

namespace hx {

static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeySize);
static_assert(crypto_sign_SECRETKEYBYTES == kEd25519SecretKeySize);
static_assert(crypto_sign_BYTES == kEd25519SignatureSize);
static_assert(crypto_sign_SEEDBYTES == 32);

Ed25519KeyPair NewEd25519KeyPair() {
  EnsureSodium();
  Ed25519KeyPair pair;
  pair.secret_key = SecretBytes(kEd25519SecretKeySize);
  crypto_sign_keypair(pair.public_key.data(), pair.secret_key.mutable_bytes().data());
  return pair;
}

Ed25519KeyPair Ed25519KeyPairFromSeed(std::span<const std::uint8_t, 32> seed) {
  EnsureSodium();
  Ed25519KeyPair pair;
  pair.secret_key = SecretBytes(kEd25519SecretKeySize);
  crypto_sign_seed_keypair(pair.public_key.data(), pair.secret_key.mutable_bytes().data(),
                           seed.data());
  return pair;
}

Ed25519Signature Ed25519Sign(const SecretBytes& secret_key, std::span<const std::uint8_t> message) {
  EnsureSodium();
  Ed25519Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key.bytes().data());
  return signature;
}

bool Ed25519Verify(const Ed25519PublicKey& public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature) {
  EnsureSodium();
  if (signature.size() != kEd25519SignatureSize) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

}  // namespace hx
