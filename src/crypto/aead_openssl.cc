// The OpenSSL fast path for XChaCha20-Poly1305-IETF: XChaCha20 is HChaCha20
// (to turn the first 16 nonce bytes and the key into a one-message subkey)
// followed by the IETF ChaCha20-Poly1305 AEAD under that subkey with the
// nonce 00000000 || nonce[16..24] (draft-irtf-cfrg-xchacha-03 section 2.3).
// libsodium computes HChaCha20 (one ChaCha block, ~100 ns); OpenSSL does the
// bulk work with its vectorised ChaCha20 and Poly1305.
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>

#include "crypto/aead_backends.h"

namespace hx::aead_internal {
namespace {

// EVP lengths are ints; feed larger inputs in pieces of this size.
constexpr std::size_t kMaxEvpPiece = std::size_t{1} << 30;

struct CipherFree {
  void operator()(EVP_CIPHER* cipher) const { EVP_CIPHER_free(cipher); }
};
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// Fetched once: an implicit fetch on every EVP_CipherInit would cost a
// provider lookup per call.
const EVP_CIPHER* Cipher() {
  static const std::unique_ptr<EVP_CIPHER, CipherFree> cipher(
      EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr));
  return cipher.get();
}

// One context per thread, reset after every message (the reset frees the
// provider state with OPENSSL_clear_free, so no subkey stays behind).
EVP_CIPHER_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

// The per-message subkey and 12-byte IETF nonce; wiped when it goes away.
struct SubkeyAndIv {
  SubkeyAndIv(const SecretKey& key, const AeadNonce& nonce) {
    EnsureSodium();
    crypto_core_hchacha20(subkey.data(), nonce.data(), key.bytes().data(), nullptr);
    std::copy(nonce.begin() + 16, nonce.end(), iv.begin() + 4);
  }
  ~SubkeyAndIv() { sodium_memzero(subkey.data(), subkey.size()); }
  SubkeyAndIv(const SubkeyAndIv&) = delete;
  SubkeyAndIv& operator=(const SubkeyAndIv&) = delete;

  std::array<std::uint8_t, 32> subkey{};
  std::array<std::uint8_t, 12> iv{};
};

// Resets the context however the operation ends.
class CtxScope {
 public:
  explicit CtxScope(EVP_CIPHER_CTX* ctx) : ctx_(ctx) {}
  ~CtxScope() { EVP_CIPHER_CTX_reset(ctx_); }
  CtxScope(const CtxScope&) = delete;
  CtxScope& operator=(const CtxScope&) = delete;

 private:
  EVP_CIPHER_CTX* ctx_;
};

bool FeedAad(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> ad) {
  for (std::size_t pos = 0; pos < ad.size(); pos += kMaxEvpPiece) {
    const int n = static_cast<int>(std::min(kMaxEvpPiece, ad.size() - pos));
    int out_len = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &out_len, ad.data() + pos, n) != 1) return false;
  }
  return true;
}

// Encrypts or decrypts `in` into `out` (same length; a stream cipher).
bool Crypt(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> in, std::uint8_t* out) {
  for (std::size_t pos = 0; pos < in.size(); pos += kMaxEvpPiece) {
    const int n = static_cast<int>(std::min(kMaxEvpPiece, in.size() - pos));
    int out_len = 0;
    if (EVP_CipherUpdate(ctx, out + pos, &out_len, in.data() + pos, n) != 1 || out_len != n) {
      return false;
    }
  }
  return true;
}

// Starts one message: cipher, subkey, IETF nonce, direction, then the AD.
bool Begin(EVP_CIPHER_CTX* ctx, const SecretKey& key, const AeadNonce& nonce,
           std::span<const std::uint8_t> ad, int encrypt) {
  const SubkeyAndIv s(key, nonce);
  return EVP_CipherInit_ex2(ctx, Cipher(), s.subkey.data(), s.iv.data(), encrypt, nullptr) == 1 &&
         FeedAad(ctx, ad);
}

}  // namespace

bool OpenSslAvailable() { return Cipher() != nullptr; }

bool OpenSslSeal(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                 std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) {
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  if (ctx == nullptr || Cipher() == nullptr || out.size() != plaintext.size() + kAeadTagSize) {
    return false;
  }
  const CtxScope scope(ctx);
  std::array<std::uint8_t, kAeadTagSize> final_block{};  // a stream cipher: Final writes nothing
  int final_len = 0;
  return Begin(ctx, key, nonce, ad, /*encrypt=*/1) && Crypt(ctx, plaintext, out.data()) &&
         EVP_CipherFinal_ex(ctx, final_block.data(), &final_len) == 1 && final_len == 0 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize),
                             out.data() + plaintext.size()) == 1;
}

bool OpenSslOpen(const SecretKey& key, const AeadNonce& nonce, std::span<const std::uint8_t> ad,
                 std::span<const std::uint8_t> body, std::span<std::uint8_t> out) {
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  if (ctx == nullptr || Cipher() == nullptr || body.size() < kAeadTagSize ||
      out.size() != body.size() - kAeadTagSize) {
    return false;
  }
  const CtxScope scope(ctx);
  const std::span<const std::uint8_t> ciphertext = body.first(out.size());
  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer; give it a copy.
  std::array<std::uint8_t, kAeadTagSize> tag{};
  std::copy(body.end() - kAeadTagSize, body.end(), tag.begin());
  std::array<std::uint8_t, kAeadTagSize> final_block{};
  int final_len = 0;
  // OpenSSL decrypts before it verifies the tag, so on failure the output
  // already holds unauthenticated plaintext: wipe it.
  const bool ok =
      Begin(ctx, key, nonce, ad, /*encrypt=*/0) && Crypt(ctx, ciphertext, out.data()) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()), tag.data()) ==
          1 &&
      EVP_CipherFinal_ex(ctx, final_block.data(), &final_len) == 1 && final_len == 0;
  if (!ok && !out.empty()) sodium_memzero(out.data(), out.size());
  return ok;
}

}  // namespace hx::aead_internal
