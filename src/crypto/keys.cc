#include "crypto/keys.h"

#include <sodium.h>

#include <algorithm>
#include <type_traits>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"

namespace hx {
namespace {

constexpr std::string_view kFingerprintContext = "hx 2026-11 key fingerprint v1";
constexpr std::string_view kWrapNonceContext = "hx 2026-11 wrap nonce v1";
constexpr std::string_view kWrapAdLabel = "hx wrapped master key v1";

SecretKey DeriveFrom(std::string_view context, const SecretKey& key) {
  SecretKey out;
  Blake3DeriveKey(context, key.bytes(), out.mutable_bytes());
  return out;
}

std::vector<std::uint8_t> WrapAd(std::span<const std::uint8_t> ad) {
  return EncodeAssociatedData(
      {kWrapAdLabel,
       std::string_view(reinterpret_cast<const char*>(ad.data()), ad.size())});
}

}  // namespace

std::string_view SubkeyContext(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kContent:
      return "hx 2026-11 subkey content v1";
    case KeyPurpose::kIds:
      return "hx 2026-11 subkey ids v1";
    case KeyPurpose::kMac:
      return "hx 2026-11 subkey mac v1";
    case KeyPurpose::kNonce:
      return "hx 2026-11 subkey nonce v1";
    case KeyPurpose::kChunker:
      return "hx 2026-11 subkey chunker v1";
    case KeyPurpose::kManifest:
      return "hx 2026-11 subkey manifest v1";
  }
  return "hx 2026-11 subkey invalid";
}

SecretKey NewMasterKey() { return SecretKey::Random(); }

SecretKey DeriveSubkey(const SecretKey& master, KeyPurpose purpose) {
  return DeriveFrom(SubkeyContext(purpose), master);
}

VaultKeys VaultKeys::Derive(const SecretKey& master) {
  return VaultKeys{
      .content = DeriveSubkey(master, KeyPurpose::kContent),
      .ids = DeriveSubkey(master, KeyPurpose::kIds),
      .mac = DeriveSubkey(master, KeyPurpose::kMac),
      .nonce = DeriveSubkey(master, KeyPurpose::kNonce),
      .chunker = DeriveSubkey(master, KeyPurpose::kChunker),
      .manifest = DeriveSubkey(master, KeyPurpose::kManifest),
  };
}

std::vector<std::uint8_t> WrapMasterKey(const SecretKey& kek, const SecretKey& master,
                                        std::span<const std::uint8_t> ad) {
  // A synthetic nonce under a key derived from the KEK (not the KEK itself,
  // which is the encryption key) keeps wrapping deterministic while staying
  // unique for every distinct (vault id, master key).
  const SecretKey nonce_key = DeriveFrom(kWrapNonceContext, kek);
  return AeadSealSynthetic(kek, nonce_key, WrapAd(ad), master.bytes());
}

Result<SecretKey> UnwrapMasterKey(const SecretKey& kek, std::span<const std::uint8_t> wrapped,
                                  std::span<const std::uint8_t> ad) {
  if (wrapped.size() != kWrappedMasterKeySize) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the wrapped master key has " + std::to_string(wrapped.size()) +
                     " bytes, expected " + std::to_string(kWrappedMasterKeySize));
  }
  auto opened = AeadOpen(kek, WrapAd(ad), wrapped);
  if (!opened.ok()) {
    return Error(SyncCode::kKeyMismatch, Category::kAuth, std::string(kWrongPassphraseMessage));
  }
  std::vector<std::uint8_t>& bytes = opened.value();
  SecretKey master(std::span<const std::uint8_t, kSecretKeySize>(bytes.data(), kSecretKeySize));
  sodium_memzero(bytes.data(), bytes.size());
  return master;
}

std::string KeyFingerprint(const SecretKey& master) {
  std::array<std::uint8_t, 32> out;
  Blake3DeriveKey(kFingerprintContext, master.bytes(), out);
  return ToHex(out);
}

bool FingerprintMatches(const SecretKey& master, std::string_view fingerprint) {
  const std::string expected = KeyFingerprint(master);
  return ConstantTimeEquals(
      std::span(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size()),
      std::span(reinterpret_cast<const std::uint8_t*>(fingerprint.data()), fingerprint.size()));
}

MacTag ComputeMac(const SecretKey& mac_key, std::span<const std::uint8_t> data) {
  Blake3Key key;
  std::copy(mac_key.bytes().begin(), mac_key.bytes().end(), key.begin());
  const Blake3Digest digest = Blake3KeyedHash(key, data);
  sodium_memzero(key.data(), key.size());
  return digest;
}

bool VerifyMac(const SecretKey& mac_key, std::span<const std::uint8_t> data,
               std::span<const std::uint8_t> tag) {
  const MacTag expected = ComputeMac(mac_key, data);
  return ConstantTimeEquals(expected, tag);
}

}  // namespace hx
