#include "crypto/aead.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "crypto/aead_backends.h"
#include "hash/blake3.h"

namespace hx {
namespace {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kAeadNonceSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kAeadTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kSecretKeySize);

void AppendLe64(std::uint64_t value, std::uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// libsodium takes pointers even for empty inputs; give it a valid one.
const std::uint8_t* DataOrDummy(std::span<const std::uint8_t> bytes) {
  static const std::uint8_t kDummy = 0;
  return bytes.empty() ? &kDummy : bytes.data();
}

Error OpenFailed() {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, std::string(kAeadOpenFailedMessage));
}

}  // namespace

namespace aead_internal {

bool SodiumSeal(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) {
  EnsureSodium();
  if (out.size() != plaintext.size() + kAeadTagSize) return false;
  unsigned long long out_len = 0;
  return crypto_aead_xchacha20poly1305_ietf_encrypt(
             out.data(), &out_len, DataOrDummy(plaintext), plaintext.size(), DataOrDummy(ad),
             ad.size(), nullptr, nonce.data(), key.bytes().data()) == 0 &&
         out_len == out.size();
}

bool SodiumOpen(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                std::span<const std::uint8_t> body, std::span<std::uint8_t> out) {
  EnsureSodium();
  if (body.size() < kAeadTagSize || out.size() != body.size() - kAeadTagSize) return false;
  std::uint8_t dummy = 0;
  unsigned long long out_len = 0;
  // libsodium verifies the tag before it decrypts anything.
  const bool ok = crypto_aead_xchacha20poly1305_ietf_decrypt(
                      out.empty() ? &dummy : out.data(), &out_len, nullptr, body.data(),
                      body.size(), DataOrDummy(ad), ad.size(), nonce.data(),
                      key.bytes().data()) == 0 &&
                  out_len == out.size();
  if (!ok && !out.empty()) sodium_memzero(out.data(), out.size());
  return ok;
}

}  // namespace aead_internal

std::string_view ToString(AeadBackend backend) {
  switch (backend) {
    case AeadBackend::kLibsodium:
      return "libsodium";
    case AeadBackend::kOpenSsl:
      return "openssl";
  }
  return "unknown";
}

bool AeadBackendAvailable(AeadBackend backend) {
  return backend == AeadBackend::kLibsodium || aead_internal::OpenSslAvailable();
}

AeadBackend DefaultAeadBackend() {
  static const AeadBackend kDefault = aead_internal::OpenSslAvailable() ? AeadBackend::kOpenSsl
                                                                       : AeadBackend::kLibsodium;
  return kDefault;
}

std::vector<std::uint8_t> AeadSealWithNonce(const SecretKey& key, const AeadNonce& nonce,
                                            std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> plaintext,
                                            AeadBackend backend) {
  std::vector<std::uint8_t> sealed(kAeadOverhead + plaintext.size());
  std::copy(nonce.begin(), nonce.end(), sealed.begin());
  const std::span<std::uint8_t> body = std::span(sealed).subspan(kAeadNonceSize);
  if (backend == AeadBackend::kOpenSsl &&
      aead_internal::OpenSslSeal(key, nonce, ad, plaintext, body)) {
    return sealed;
  }
  // libsodium (chosen, or the fallback if OpenSSL failed: the bytes are the
  // same). It fails only for messages beyond SODIUM_SIZE_MAX - 16 bytes,
  // which cannot have been allocated above.
  if (!aead_internal::SodiumSeal(key, nonce, ad, plaintext, body)) {
    std::fputs("hx: libsodium refused to seal a message\n", stderr);
    std::abort();
  }
  return sealed;
}

std::vector<std::uint8_t> AeadSealRandom(const SecretKey& key, std::span<const std::uint8_t> ad,
                                         std::span<const std::uint8_t> plaintext,
                                         AeadBackend backend) {
  AeadNonce nonce;
  RandomBytes(nonce);
  return AeadSealWithNonce(key, nonce, ad, plaintext, backend);
}

AeadNonce SyntheticNonce(const SecretKey& nonce_key, std::span<const std::uint8_t> ad,
                         std::span<const std::uint8_t> plaintext) {
  Blake3Key blake_key;
  std::copy(nonce_key.bytes().begin(), nonce_key.bytes().end(), blake_key.begin());
  Blake3Hasher hasher = Blake3Hasher::Keyed(blake_key);
  sodium_memzero(blake_key.data(), blake_key.size());
  // Length prefixes make the encoding injective: no two different (ad,
  // plaintext) pairs feed the same bytes to the hash.
  std::uint8_t length[8];
  AppendLe64(ad.size(), length);
  hasher.Update(std::span<const std::uint8_t>(length));
  hasher.Update(ad);
  AppendLe64(plaintext.size(), length);
  hasher.Update(std::span<const std::uint8_t>(length));
  hasher.Update(plaintext);
  AeadNonce nonce;
  hasher.Finalize(nonce);
  // The hasher's state holds the nonce key's words; it is plain data, so
  // wiping its bytes is well-defined.
  static_assert(std::is_trivially_copyable_v<Blake3Hasher>);
  sodium_memzero(&hasher, sizeof(hasher));
  return nonce;
}

std::vector<std::uint8_t> AeadSealSynthetic(const SecretKey& key, const SecretKey& nonce_key,
                                            std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> plaintext,
                                            AeadBackend backend) {
  return AeadSealWithNonce(key, SyntheticNonce(nonce_key, ad, plaintext), ad, plaintext, backend);
}

Result<std::vector<std::uint8_t>> AeadOpen(const SecretKey& key, std::span<const std::uint8_t> ad,
                                           std::span<const std::uint8_t> sealed,
                                           AeadBackend backend) {
  if (sealed.size() < kAeadOverhead) return OpenFailed();
  AeadNonce nonce;
  std::copy(sealed.begin(), sealed.begin() + kAeadNonceSize, nonce.begin());
  const std::span<const std::uint8_t> body = sealed.subspan(kAeadNonceSize);
  std::vector<std::uint8_t> plaintext(body.size() - kAeadTagSize);
  if (backend == AeadBackend::kOpenSsl &&
      aead_internal::OpenSslOpen(key, nonce, ad, body, plaintext)) {
    return plaintext;
  }
  // A failed OpenSSL open is confirmed by libsodium before it is reported,
  // so an OpenSSL malfunction can cost time but never reject a good object.
  if (aead_internal::SodiumOpen(key, nonce, ad, body, plaintext)) return plaintext;
  return OpenFailed();
}

std::vector<std::uint8_t> EncodeAssociatedData(std::initializer_list<std::string_view> fields) {
  std::size_t total = 0;
  for (std::string_view field : fields) total += 8 + field.size();
  std::vector<std::uint8_t> out(total);
  std::uint8_t* p = out.data();
  for (std::string_view field : fields) {
    AppendLe64(field.size(), p);
    p = std::copy(field.begin(), field.end(), p + 8);
  }
  return out;
}

}  // namespace hx
