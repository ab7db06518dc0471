#include "hash/sha256.h"

#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace hx {
namespace {

// See the header: these failures are allocation failures in disguise.
[[noreturn]] void OpenSslFailed(const char* what) {
  std::fprintf(stderr, "hx: OpenSSL SHA-256 failed: %s\n", what);
  std::abort();
}

// OpenSSL treats a null pointer as "no data" in some places and as "reuse
// the previous key" in others; always hand it a valid pointer.
const std::uint8_t* NonNull(std::span<const std::uint8_t> bytes) {
  static constexpr std::uint8_t kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

Sha256Digest Sha256(std::span<const std::uint8_t> input) {
  Sha256Digest digest;
  unsigned int length = 0;
  if (EVP_Digest(NonNull(input), input.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length != kSha256Len) {
    OpenSslFailed("EVP_Digest");
  }
  return digest;
}

Sha256Digest Sha256(std::string_view input) { return Sha256(AsBytes(input)); }

Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  // RFC 2104 replaces a key longer than the block by its hash; doing it here
  // gives the same MAC and keeps the length within OpenSSL's int.
  constexpr std::size_t kSha256BlockLen = 64;
  Sha256Digest hashed_key;
  if (key.size() > kSha256BlockLen) {
    hashed_key = Sha256(key);
    key = hashed_key;
  }
  Sha256Digest mac;
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), NonNull(key), static_cast<int>(key.size()), NonNull(message),
           message.size(), mac.data(), &length) == nullptr ||
      length != kSha256Len) {
    OpenSslFailed("HMAC");
  }
  return mac;
}

Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::string_view message) {
  return HmacSha256(key, AsBytes(message));
}

Sha256Digest HmacSha256(std::string_view key, std::string_view message) {
  return HmacSha256(AsBytes(key), AsBytes(message));
}

void Sha256Hasher::ContextDeleter::operator()(evp_md_ctx_st* context) const {
  EVP_MD_CTX_free(context);
}

Sha256Hasher::Sha256Hasher() { Reset(); }
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void Sha256Hasher::Reset() {
  if (context_ == nullptr) {
    context_.reset(EVP_MD_CTX_new());
    if (context_ == nullptr) OpenSslFailed("EVP_MD_CTX_new");
  }
  if (EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
    OpenSslFailed("EVP_DigestInit_ex");
  }
}

void Sha256Hasher::Update(std::span<const std::uint8_t> input) {
  if (input.empty()) return;
  if (EVP_DigestUpdate(context_.get(), input.data(), input.size()) != 1) {
    OpenSslFailed("EVP_DigestUpdate");
  }
}

void Sha256Hasher::Update(std::string_view input) { Update(AsBytes(input)); }

Sha256Digest Sha256Hasher::Finalize() const {
  // Finalizing consumes an EVP context, so finalize a copy.
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> copy(EVP_MD_CTX_new());
  if (copy == nullptr) OpenSslFailed("EVP_MD_CTX_new");
  if (EVP_MD_CTX_copy_ex(copy.get(), context_.get()) != 1) OpenSslFailed("EVP_MD_CTX_copy_ex");
  Sha256Digest digest;
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(copy.get(), digest.data(), &length) != 1 || length != kSha256Len) {
    OpenSslFailed("EVP_DigestFinal_ex");
  }
  return digest;
}

}  // namespace hx
