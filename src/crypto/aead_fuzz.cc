// Fuzzes what crypto reads from a store: sealed objects (AeadOpen with both
// backends), wrapped master keys (UnwrapMasterKey) and KDF parameters
// (ParseKdfParams), all with fixed keys. Every input must give an error or a
// value, never a crash; both AEAD backends must agree on every input; and
// the sealing of whatever opens must reproduce the input (the nonce is part
// of the input, so the bytes are fully determined).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/keys.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

hx::SecretKey FixedKey(std::uint8_t seed) {
  hx::SecretKey key;
  for (std::size_t i = 0; i < hx::kSecretKeySize; ++i) {
    key.mutable_bytes()[i] = static_cast<std::uint8_t>(seed ^ (i * 29));
  }
  return key;
}

std::uint64_t ReadLe64(std::span<const std::uint8_t> bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) value |= std::uint64_t{bytes[i]} << (8 * i);
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hx::SecretKey kKey = FixedKey(0x11);
  static const hx::SecretKey kNonceKey = FixedKey(0x22);
  const std::span<const std::uint8_t> input(data, size);
  if (input.empty()) {
    Check(!hx::AeadOpen(kKey, {}, input).ok());
    return 0;
  }
  // The first byte splits the rest into associated data and sealed bytes.
  const std::size_t ad_size = std::min<std::size_t>(input[0], input.size() - 1);
  const auto ad = input.subspan(1, ad_size);
  const auto sealed = input.subspan(1 + ad_size);

  const auto by_sodium = hx::AeadOpen(kKey, ad, sealed, hx::AeadBackend::kLibsodium);
  const auto by_openssl = hx::AeadOpen(kKey, ad, sealed, hx::AeadBackend::kOpenSsl);
  Check(by_sodium.ok() == by_openssl.ok());
  if (by_sodium.ok()) {
    Check(*by_sodium == *by_openssl);
    hx::AeadNonce nonce;
    std::copy(sealed.begin(), sealed.begin() + hx::kAeadNonceSize, nonce.begin());
    const auto again = hx::AeadSealWithNonce(kKey, nonce, ad, *by_sodium);
    Check(std::equal(again.begin(), again.end(), sealed.begin(), sealed.end()));
  } else {
    Check(by_sodium.error().category == hx::Category::kCorrupt);
  }

  // Round trip of a synthetic seal of the input itself.
  const auto synthetic = hx::AeadSealSynthetic(kKey, kNonceKey, ad, sealed);
  const auto opened = hx::AeadOpen(kKey, ad, synthetic);
  Check(opened.ok() && std::equal(opened->begin(), opened->end(), sealed.begin(), sealed.end()));

  const auto unwrapped = hx::UnwrapMasterKey(kKey, sealed, ad);
  if (!unwrapped.ok()) {
    Check(unwrapped.error().code == hx::SyncCode::kKeyMismatch ||
          unwrapped.error().category == hx::Category::kCorrupt);
  }

  // KDF parameters from untrusted fields: bytes 1..17 are opslimit and
  // memlimit, byte 17 says where the rest splits into algorithm and salt
  // text. Validation only; deriving would make the fuzzer measure Argon2.
  if (input.size() >= 18) {
    const std::string_view text(reinterpret_cast<const char*>(input.data() + 18),
                                input.size() - 18);
    const std::size_t cut = std::min<std::size_t>(input[17], text.size());
    const auto params = hx::ParseKdfParams(text.substr(0, cut), ReadLe64(input.subspan(1, 8)),
                                           ReadLe64(input.subspan(9, 8)), text.substr(cut));
    if (params.ok()) {
      Check(params->algorithm == hx::kKdfArgon2id13);
      Check(params->memlimit <= hx::kMaxMemlimit && params->opslimit <= hx::kMaxOpslimit);
      Check(hx::ValidateKdfParams(*params).ok());
    }
  }
  return 0;
}
