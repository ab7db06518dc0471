#include "crypto/keys.h"

#include <cctype>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "hash/blake3.h"

namespace hx {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Golden values below were computed outside hx, with b3sum 1.2.0
// (--derive-key / --keyed) and libsodium 1.0.18 through Python ctypes, from
// the layouts documented in keys.h and aead.h.
SecretKey CountingKey(std::uint8_t first) {
  SecretKey key;
  for (std::size_t i = 0; i < kSecretKeySize; ++i) {
    key.mutable_bytes()[i] = static_cast<std::uint8_t>(first + i);
  }
  return key;
}

Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(SubkeyTest, ContextStringsArePinned) {
  EXPECT_EQ(SubkeyContext(KeyPurpose::kContent), "hx 2026-11 subkey content v1");
  EXPECT_EQ(SubkeyContext(KeyPurpose::kIds), "hx 2026-11 subkey ids v1");
  EXPECT_EQ(SubkeyContext(KeyPurpose::kMac), "hx 2026-11 subkey mac v1");
  EXPECT_EQ(SubkeyContext(KeyPurpose::kNonce), "hx 2026-11 subkey nonce v1");
  EXPECT_EQ(SubkeyContext(KeyPurpose::kChunker), "hx 2026-11 subkey chunker v1");
  EXPECT_EQ(SubkeyContext(KeyPurpose::kManifest), "hx 2026-11 subkey manifest v1");
}

TEST(SubkeyTest, SubkeysAreBlake3DeriveKeyOfTheMasterKey) {
  const SecretKey master = CountingKey(0);
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kContent).bytes()),
            "6bc756308761c343e6b93a31b6138110e4dbb68490a6579b934311437b22cc92");
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kIds).bytes()),
            "6b404f9600452fd9fb13c08d14bd364b272d51811a08d1cada70a4517d0705d9");
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kMac).bytes()),
            "a46230dd26afc627e9553a169ab8e4123f805f52749deb4c392f073da76d161c");
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kNonce).bytes()),
            "a34210f7466fb305396b77f0fa89601118028c58c3b0db01bd672ce3d66391b9");
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kChunker).bytes()),
            "98486445dcaa5801cbce3dc2384758dbc5669fa15a043cbd94b859def8a0ccb2");
  EXPECT_EQ(ToHex(DeriveSubkey(master, KeyPurpose::kManifest).bytes()),
            "4968fb5e0f0819c603cee81280fc02149bffb6a159d522c24f3576b7a281b3ba");
}

TEST(SubkeyTest, EveryPurposeGetsADistinctKeyAndVaultKeysMatches) {
  const SecretKey master = NewMasterKey();
  std::set<std::string> seen = {ToHex(master.bytes())};
  for (KeyPurpose purpose : kAllKeyPurposes) {
    EXPECT_TRUE(seen.insert(ToHex(DeriveSubkey(master, purpose).bytes())).second);
  }
  const VaultKeys keys = VaultKeys::Derive(master);
  EXPECT_TRUE(ConstantTimeEquals(keys.content, DeriveSubkey(master, KeyPurpose::kContent)));
  EXPECT_TRUE(ConstantTimeEquals(keys.ids, DeriveSubkey(master, KeyPurpose::kIds)));
  EXPECT_TRUE(ConstantTimeEquals(keys.mac, DeriveSubkey(master, KeyPurpose::kMac)));
  EXPECT_TRUE(ConstantTimeEquals(keys.nonce, DeriveSubkey(master, KeyPurpose::kNonce)));
  EXPECT_TRUE(ConstantTimeEquals(keys.chunker, DeriveSubkey(master, KeyPurpose::kChunker)));
  EXPECT_TRUE(ConstantTimeEquals(keys.manifest, DeriveSubkey(master, KeyPurpose::kManifest)));
}

TEST(FingerprintTest, IsPinnedLowercaseHexAndMatchesOnlyItsKey) {
  const SecretKey master = CountingKey(0);
  const std::string fingerprint = KeyFingerprint(master);
  EXPECT_EQ(fingerprint, "91134cac6140a575788569303a6b7c56a10014ff456f27d7c729abc876b180d9");
  EXPECT_TRUE(IsLowerHex(fingerprint, 64));
  EXPECT_TRUE(FingerprintMatches(master, fingerprint));
  EXPECT_FALSE(FingerprintMatches(CountingKey(1), fingerprint));
  EXPECT_FALSE(FingerprintMatches(master, fingerprint.substr(0, 63)));
  EXPECT_FALSE(FingerprintMatches(master, ""));
  std::string upper = fingerprint;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(FingerprintMatches(master, upper)) << "the stored form is lowercase";
  // The fingerprint is not any of the subkeys.
  for (KeyPurpose purpose : kAllKeyPurposes) {
    EXPECT_NE(fingerprint, ToHex(DeriveSubkey(master, purpose).bytes()));
  }
}

TEST(WrapTest, WrappedMasterKeyIsPinnedAndDeterministic) {
  const SecretKey kek = CountingKey(32);
  const SecretKey master = CountingKey(0);
  const Bytes wrapped = WrapMasterKey(kek, master, ToBytes("vault-0001"));
  EXPECT_EQ(ToHex(wrapped),
            "3aebb205ac5945762d0bab47f90d5845eca8d263839c183d"
            "bfebc87bf9b79bcf341edb623e0b471871e53851d59ebecec35f86ac2815c612"
            "82c1349f5f757aea6892a3766d4be4de");
  EXPECT_EQ(wrapped.size(), kWrappedMasterKeySize);
  EXPECT_EQ(wrapped, WrapMasterKey(kek, master, ToBytes("vault-0001")));
  EXPECT_NE(wrapped, WrapMasterKey(kek, master, ToBytes("vault-0002")));
  EXPECT_NE(wrapped, WrapMasterKey(kek, CountingKey(1), ToBytes("vault-0001")));
}

TEST(WrapTest, UnwrapReturnsTheMasterKey) {
  const SecretKey kek = SecretKey::Random();
  const SecretKey master = NewMasterKey();
  const Bytes wrapped = WrapMasterKey(kek, master, ToBytes("vault-x"));
  auto unwrapped = UnwrapMasterKey(kek, wrapped, ToBytes("vault-x"));
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(ConstantTimeEquals(*unwrapped, master));
}

void ExpectWrongPassphrase(const Result<SecretKey>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kKeyMismatch);
  EXPECT_EQ(result.error().category, Category::kAuth);
  EXPECT_EQ(result.error().message, kWrongPassphraseMessage);
}

TEST(WrapTest, WrongKekOtherVaultOrTamperingIsAKeyMismatch) {
  const SecretKey kek = CountingKey(32);
  const Bytes wrapped = WrapMasterKey(kek, CountingKey(0), ToBytes("vault-0001"));
  ExpectWrongPassphrase(UnwrapMasterKey(CountingKey(33), wrapped, ToBytes("vault-0001")));
  ExpectWrongPassphrase(UnwrapMasterKey(kek, wrapped, ToBytes("vault-0002")));
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    Bytes bad = wrapped;
    bad[i] ^= 0x80;
    ExpectWrongPassphrase(UnwrapMasterKey(kek, bad, ToBytes("vault-0001")));
  }
}

TEST(WrapTest, AWrappedKeyCannotBeOpenedAsAnObjectWithTheSameAd) {
  // The wrap AD carries its own label, so a wrapped key is not a valid
  // object sealed under the same key and AD (and vice versa).
  const SecretKey kek = CountingKey(32);
  const Bytes wrapped = WrapMasterKey(kek, CountingKey(0), ToBytes("vault-0001"));
  EXPECT_FALSE(AeadOpen(kek, ToBytes("vault-0001"), wrapped).ok());
  const Bytes object = AeadSealRandom(kek, ToBytes("vault-0001"), CountingKey(0).bytes());
  ExpectWrongPassphrase(UnwrapMasterKey(kek, object, ToBytes("vault-0001")));
}

TEST(WrapTest, WrongLengthIsCorruptNotAWrongPassphrase) {
  const SecretKey kek = CountingKey(32);
  const Bytes wrapped = WrapMasterKey(kek, CountingKey(0), ToBytes("v"));
  for (std::size_t n : {std::size_t{0}, std::size_t{40}, kWrappedMasterKeySize - 1,
                        kWrappedMasterKeySize + 1}) {
    Bytes bad = wrapped;
    bad.resize(n);
    auto result = UnwrapMasterKey(kek, bad, ToBytes("v"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().category, Category::kCorrupt) << n;
  }
}

TEST(WrapTest, PassphraseFlowDetectsAWrongPassphrase) {
  KdfParams params;
  params.opslimit = 1;
  params.memlimit = 8192;
  RandomBytes(params.salt);
  const SecretKey master = NewMasterKey();
  const Bytes wrapped = WrapMasterKey(DeriveKeyFromPassphrase("right", params).value(), master,
                                      ToBytes("vault"));
  const auto good = UnwrapMasterKey(DeriveKeyFromPassphrase("right", params).value(), wrapped,
                                    ToBytes("vault"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(FingerprintMatches(*good, KeyFingerprint(master)));
  ExpectWrongPassphrase(UnwrapMasterKey(DeriveKeyFromPassphrase("wrong", params).value(), wrapped,
                                        ToBytes("vault")));
}

TEST(MacTest, IsKeyedBlake3AndVerifiesInConstantTime) {
  const SecretKey mac_key = CountingKey(64);
  const Bytes data = ToBytes("head.json bytes");
  const MacTag tag = ComputeMac(mac_key, data);
  EXPECT_EQ(ToHex(tag), "100bd1a1ebd929500abd8310c31b27a395f6238d0da3abc56c95550c7bf3cdca");
  EXPECT_TRUE(VerifyMac(mac_key, data, tag));
  EXPECT_FALSE(VerifyMac(CountingKey(65), data, tag));
  EXPECT_FALSE(VerifyMac(mac_key, ToBytes("head.json bytez"), tag));
  MacTag flipped = tag;
  flipped[31] ^= 1;
  EXPECT_FALSE(VerifyMac(mac_key, data, flipped));
  EXPECT_FALSE(VerifyMac(mac_key, data, std::span(tag).first(16)));
  EXPECT_FALSE(VerifyMac(mac_key, data, Bytes{}));
}

}  // namespace
}  // namespace hx
